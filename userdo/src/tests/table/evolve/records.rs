//! What each evolution records, reopening with the same declaration, and declarations that
//! cannot work.
#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn each_change_is_recorded_once_with_a_growing_version() {
    let db = SqliteStore::in_memory().unwrap();
    let o = deploy(&db, tables::<v1::Note>()).unwrap();
    create(&o, &notes_v1(&["a"]));
    drop(o);
    let steps: [fn() -> Tables; 5] = [
        tables::<v1::Note>,
        tables::<with_defaults::Note>,
        tables::<with_defaults::Note>,
        tables::<with_color::Note>,
        tables::<with_color::Note>,
    ];
    for declare in steps {
        deploy(&db, declare()).unwrap();
    }
    let recorded = migrations(&db, "notes");
    assert_eq!(
        recorded.iter().map(|m| m.0).collect::<Vec<_>>(),
        [1, 2, 3],
        "{recorded:?}"
    );
    assert_eq!(
        recorded[2].1,
        "add field color with default \"\"; drop field pinned (stored values kept); \
         drop field stars (stored values kept); drop index on title"
    );
}

#[test]
fn reopening_an_object_with_the_same_tables_applies_nothing() {
    let declare = || {
        Tables::new()
            .table::<v1::Note>(Access::ReadWrite)
            .table::<renamed::Memo>(Access::ReadOnly)
    };
    let o: TestObject = object("u").with_tables(declare()).unwrap();
    let id = o
        .table::<v1::Note>()
        .unwrap()
        .create(&v1::Note { title: "a".into() })
        .unwrap()
        .id;
    let count = |o: &TestObject| {
        o.store()
            .query("SELECT COUNT(*) FROM _userdo_migrations", &[])
            .unwrap()[0]
            .int(0)
            .unwrap()
    };
    let before = count(&o);
    let UserDo {
        store,
        platform,
        settings,
        user_id,
        ..
    } = o;
    let reopened = UserDo::open(store, platform, settings, user_id)
        .unwrap()
        .with_tables(declare())
        .unwrap();
    assert_eq!(count(&reopened), before);
    // Both tables are declared, so `memos` did not take over `notes`: each keeps its own.
    assert!(
        reopened
            .table::<v1::Note>()
            .unwrap()
            .find_by_id(&id)
            .unwrap()
            .is_some()
    );
    assert_eq!(
        reopened
            .table::<renamed::Memo>()
            .unwrap()
            .query()
            .count()
            .unwrap(),
        0
    );
}

/// Row types whose declarations are wrong, one way each.
mod wrong {
    use super::*;

    macro_rules! row {
        ($ty:ident, $name:literal, { $($field:tt)* } $(, $indexes:expr)?) => {
            #[derive(Debug, Serialize, Deserialize, Validate, JsonSchema)]
            pub(super) struct $ty { $($field)* }

            impl TableRow for $ty {
                const NAME: &'static str = $name;
                $(fn indexes() -> Vec<Index> { $indexes })?
            }
        };
    }

    row!(Dashed, "bad-name", { title: String });
    row!(Digit, "1notes", { title: String });
    row!(Quoted, "notes\"; DROP TABLE x; --", { title: String });
    row!(Empty, "", { title: String });
    row!(UnknownIndex, "notes", { title: String }, vec![Index::on(&["titel"])]);
    row!(NoFieldIndex, "notes", { title: String }, vec![Index::on(&[])]);
    row!(ListIndex, "notes", { tags: Vec<String> }, vec![Index::on(&["tags"])]);
    row!(HasId, "notes", { id: String, title: String });
    row!(HasCreatedAt, "notes", { title: String, #[serde(rename = "createdAt")] created: i64 });
    row!(OddField, "notes", { #[serde(rename = "a-b")] ab: String });
    row!(OtherNotes, "notes", { body: String });
}

#[test]
fn declaration_errors_are_configuration_errors_and_change_nothing() {
    let db = SqliteStore::in_memory().unwrap();
    deploy(&db, tables::<v1::Note>()).unwrap();
    let schema = schema_objects(&db, "table");
    let record = registry(&db, "notes");
    let cases: Vec<(Tables, &str)> = vec![
        (tables::<wrong::Dashed>(), "bad-name"),
        (tables::<wrong::Digit>(), "1notes"),
        (tables::<wrong::Quoted>(), "DROP TABLE"),
        (tables::<wrong::Empty>(), "table name"),
        (tables::<wrong::UnknownIndex>(), "titel"),
        (tables::<wrong::NoFieldIndex>(), "index"),
        (tables::<wrong::ListIndex>(), "tags"),
        (tables::<wrong::HasId>(), "id"),
        (tables::<wrong::HasCreatedAt>(), "createdAt"),
        (tables::<wrong::OddField>(), "a-b"),
        (
            Tables::new()
                .table::<v1::Note>(Access::ReadWrite)
                .table::<v1::Note>(Access::ReadOnly),
            "declared twice",
        ),
        (
            Tables::new()
                .table::<v1::Note>(Access::ReadWrite)
                .table::<wrong::OtherNotes>(Access::ReadWrite),
            "declared twice",
        ),
        // One bad table stops the good ones too.
        (
            Tables::new()
                .table::<renamed::Memo>(Access::ReadWrite)
                .table::<wrong::Dashed>(Access::ReadWrite),
            "bad-name",
        ),
    ];
    for (declared, needle) in cases {
        let message = config_message(deploy(&db, declared));
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
        assert_eq!(schema_objects(&db, "table"), schema);
        assert_eq!(registry(&db, "notes"), record);
        assert_eq!(registry(&db, "memos"), None);
    }
}
