//! Host tests of schema evolution: an object that already holds rows is opened again under a new
//! declaration of its tables (a redeploy), with a different Rust row type for each version.
#![allow(clippy::unwrap_used)]

use std::cell::Cell;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use validator::Validate;

use super::*;
use crate::UserDo;
use crate::store::sqlite::SqliteStore;
use crate::store::{Row, Statement, Store, StoreError, Value};
use crate::test_support::{TestClock, TestObject, object, settings};

/// The first version of `notes`: a title, and an index on it.
mod v1 {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
    pub(super) struct Note {
        pub(super) title: String,
    }

    impl TableRow for Note {
        const NAME: &'static str = "notes";
        fn indexes() -> Vec<Index> {
            vec![Index::on(&["title"])]
        }
    }
}

/// `notes` gains two fields with defaults (`false` from `Default`, `3` from a function).
mod with_defaults {
    use super::*;

    fn three() -> i64 {
        3
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
    pub(super) struct Note {
        pub(super) title: String,
        #[serde(default)]
        pub(super) pinned: bool,
        #[serde(default = "three")]
        pub(super) stars: i64,
    }

    impl TableRow for Note {
        const NAME: &'static str = "notes";
        fn indexes() -> Vec<Index> {
            vec![Index::on(&["title"])]
        }
    }
}

/// `notes` gains an optional field, with no default.
mod with_option {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
    pub(super) struct Note {
        pub(super) title: String,
        pub(super) due: Option<i64>,
    }

    impl TableRow for Note {
        const NAME: &'static str = "notes";
        fn indexes() -> Vec<Index> {
            vec![Index::on(&["title"])]
        }
    }
}

/// `notes` gains a required field with no default.
mod with_required {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
    pub(super) struct Note {
        pub(super) title: String,
        pub(super) owner: String,
    }

    impl TableRow for Note {
        const NAME: &'static str = "notes";
        fn indexes() -> Vec<Index> {
            vec![Index::on(&["title"])]
        }
    }
}

/// `notes` without its index, and with a second field (to drop later).
mod with_color {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
    pub(super) struct Note {
        pub(super) title: String,
        #[serde(default)]
        pub(super) color: String,
    }

    impl TableRow for Note {
        const NAME: &'static str = "notes";
    }
}

/// `notes` renamed to `memos`, with its index, and a new field with a default.
mod renamed {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
    pub(super) struct Memo {
        pub(super) title: String,
        #[serde(default)]
        pub(super) archived: bool,
    }

    impl TableRow for Memo {
        const NAME: &'static str = "memos";
        fn indexes() -> Vec<Index> {
            vec![Index::on(&["title"]), Index::on(&["archived", "createdAt"])]
        }
        fn renamed_from() -> &'static [&'static str] {
            &["notes"]
        }
    }
}

/// `notes` renamed to `memos` and given a required field without a default.
mod renamed_with_required {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
    pub(super) struct Memo {
        pub(super) title: String,
        pub(super) owner: String,
    }

    impl TableRow for Memo {
        const NAME: &'static str = "memos";
        fn renamed_from() -> &'static [&'static str] {
            &["notes"]
        }
    }
}

/// A store the test keeps while objects over it come and go, so that what a failed open left
/// behind can still be read.
struct Shared<'a>(&'a SqliteStore);

impl Store for Shared<'_> {
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        self.0.query(sql, params)
    }

    fn atomic(&self, statements: Vec<Statement>) -> Result<Vec<Vec<Row>>, StoreError> {
        self.0.atomic(statements)
    }

    fn transaction(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StoreError> {
        self.0.transaction(body)
    }
}

type Deployed<'a> = UserDo<Shared<'a>, TestClock>;

/// Opens the object over `db` with `tables` declared, as a new deployment of the application
/// does.
fn deploy(db: &SqliteStore, tables: Tables) -> Result<Deployed<'_>> {
    let clock = TestClock(Cell::new(1_800_000_000_000));
    UserDo::open(Shared(db), clock, settings(), "u".into())?.with_tables(tables)
}

fn tables<T: TableRow>() -> Tables {
    Tables::new().table::<T>(Access::ReadWrite)
}

/// Creates `rows` through the typed table and returns their ids.
fn create<T: TableRow>(o: &Deployed<'_>, rows: &[T]) -> Vec<String> {
    let t = o.table::<T>().unwrap();
    rows.iter().map(|r| t.create(r).unwrap().id).collect()
}

fn notes_v1(titles: &[&str]) -> Vec<v1::Note> {
    titles
        .iter()
        .map(|t| v1::Note {
            title: (*t).to_owned(),
        })
        .collect()
}

/// `(version, name)` of each migration recorded under `table:{table}`.
fn migrations(db: &SqliteStore, table: &str) -> Vec<(i64, String)> {
    db.query(
        "SELECT version, name FROM _userdo_migrations WHERE namespace = ? ORDER BY version",
        &[format!("table:{table}").into()],
    )
    .unwrap()
    .iter()
    .map(|r| (r.int(0).unwrap(), r.text(1).unwrap().to_owned()))
    .collect()
}

/// The registry's record of `table`, if any.
fn registry(db: &SqliteStore, table: &str) -> Option<String> {
    db.query(
        "SELECT schema FROM _userdo_tables WHERE name = ?",
        &[table.into()],
    )
    .unwrap()
    .first()
    .map(|r| r.text(0).unwrap().to_owned())
}

/// The stored JSON of every row of SQL table `sql_table`, by id.
fn raw_rows(db: &SqliteStore, sql_table: &str) -> Vec<(String, Json)> {
    db.query(
        &format!("SELECT id, data FROM \"{sql_table}\" ORDER BY rowid"),
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.text(0).unwrap().to_owned(),
            serde_json::from_str(r.text(1).unwrap()).unwrap(),
        )
    })
    .collect()
}

/// The names of the SQLite objects of `kind` (`table` or `index`) whose name starts `_userdo_`,
/// with the table each belongs to.
fn schema_objects(db: &SqliteStore, kind: &str) -> Vec<(String, String)> {
    db.query(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = ? AND name LIKE '\\_userdo\\_%' \
         ESCAPE '\\' ORDER BY name",
        &[kind.into()],
    )
    .unwrap()
    .iter()
    .map(|r| (r.text(0).unwrap().to_owned(), r.text(1).unwrap().to_owned()))
    .collect()
}

fn index_names(db: &SqliteStore) -> Vec<String> {
    schema_objects(db, "index")
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.starts_with("_userdo_ix_"))
        .collect()
}

fn filter(field: &str, op: Op, value: Json) -> QuerySpec {
    QuerySpec {
        filters: vec![Filter {
            field: field.into(),
            op,
            value,
        }],
        ..QuerySpec::default()
    }
}

/// The ids of the rows of `table` that `spec` selects.
fn ids(o: &Deployed<'_>, table: &str, spec: &QuerySpec) -> Vec<String> {
    let def = o.table_def(table).unwrap();
    o.query_rows(&def, spec)
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn config_message<T>(result: Result<T>) -> String {
    match result {
        Err(Error::Config(message)) => message,
        Err(other) => panic!("expected a configuration error, got {other:?}"),
        Ok(_) => panic!("expected a configuration error, but the object opened"),
    }
}

#[test]
fn a_new_field_with_a_default_is_written_into_every_existing_row() {
    let db = SqliteStore::in_memory().unwrap();
    let o = deploy(&db, tables::<v1::Note>()).unwrap();
    let old = create(&o, &notes_v1(&["a", "b", "c"]));
    drop(o);

    let o = deploy(&db, tables::<with_defaults::Note>()).unwrap();
    assert_eq!(
        ids(&o, "notes", &filter("pinned", Op::Eq, json!(false))),
        old
    );
    assert_eq!(ids(&o, "notes", &filter("stars", Op::Eq, json!(3))), old);
    assert!(
        raw_rows(&db, "_userdo_table_notes")
            .iter()
            .all(|(_, data)| data["pinned"] == json!(false) && data["stars"] == json!(3))
    );
    let t = o.table::<with_defaults::Note>().unwrap();
    assert_eq!(
        t.find_by_id(&old[0]).unwrap().unwrap().row,
        with_defaults::Note {
            title: "a".into(),
            pinned: false,
            stars: 3
        }
    );
    let new = t
        .create(&with_defaults::Note {
            title: "d".into(),
            pinned: true,
            stars: 5,
        })
        .unwrap();
    assert_eq!(
        ids(&o, "notes", &filter("pinned", Op::Eq, json!(true))),
        [new.id]
    );
    assert_eq!(
        ids(&o, "notes", &filter("stars", Op::Lt, json!(5))).len(),
        3
    );
    assert_eq!(
        migrations(&db, "notes"),
        [
            (1, "create; add index on title".to_owned()),
            (
                2,
                "add field pinned with default false; add field stars with default 3".to_owned()
            )
        ]
    );
}

#[test]
fn a_new_optional_field_needs_no_default() {
    let db = SqliteStore::in_memory().unwrap();
    let o = deploy(&db, tables::<v1::Note>()).unwrap();
    let old = create(&o, &notes_v1(&["a", "b"]));
    drop(o);

    let o = deploy(&db, tables::<with_option::Note>()).unwrap();
    // Nothing is written into the old rows; a missing field reads as null.
    assert_eq!(
        raw_rows(&db, "_userdo_table_notes")
            .into_iter()
            .map(|(_, data)| data)
            .collect::<Vec<_>>(),
        [json!({ "title": "a" }), json!({ "title": "b" })]
    );
    assert_eq!(ids(&o, "notes", &filter("due", Op::Eq, Json::Null)), old);
    let t = o.table::<with_option::Note>().unwrap();
    assert_eq!(t.find_by_id(&old[1]).unwrap().unwrap().row.due, None);
    let new = t
        .create(&with_option::Note {
            title: "c".into(),
            due: Some(7),
        })
        .unwrap();
    assert_eq!(ids(&o, "notes", &filter("due", Op::Gt, json!(1))), [new.id]);
    assert_eq!(migrations(&db, "notes")[1], (2, "add field due".to_owned()));
}

#[test]
fn a_new_required_field_without_a_default_is_refused_on_a_table_with_rows() {
    let db = SqliteStore::in_memory().unwrap();
    let o = deploy(&db, tables::<v1::Note>()).unwrap();
    create(&o, &notes_v1(&["a"]));
    drop(o);
    let (record, rows, recorded) = (
        registry(&db, "notes"),
        raw_rows(&db, "_userdo_table_notes"),
        migrations(&db, "notes"),
    );

    let message = config_message(deploy(&db, tables::<with_required::Note>()));
    assert!(
        message.contains("notes") && message.contains("owner"),
        "{message}"
    );
    assert_eq!(registry(&db, "notes"), record);
    assert_eq!(raw_rows(&db, "_userdo_table_notes"), rows);
    assert_eq!(migrations(&db, "notes"), recorded);
    // The old declaration still opens, and finds nothing to do.
    deploy(&db, tables::<v1::Note>()).unwrap();
    assert_eq!(migrations(&db, "notes"), recorded);

    // The same while renaming: the rows are counted in the table under its old name.
    let message = config_message(deploy(&db, tables::<renamed_with_required::Memo>()));
    assert!(
        message.contains("memos") && message.contains("owner"),
        "{message}"
    );
    assert_eq!(raw_rows(&db, "_userdo_table_notes"), rows);
    assert_eq!(registry(&db, "memos"), None);
    assert!(migrations(&db, "memos").is_empty());
}

#[test]
fn a_new_required_field_without_a_default_is_allowed_on_an_empty_table() {
    let db = SqliteStore::in_memory().unwrap();
    let o = deploy(&db, tables::<v1::Note>()).unwrap();
    // A table that held rows once but holds none now counts as empty.
    let id = create(&o, &notes_v1(&["a"])).remove(0);
    assert!(o.table::<v1::Note>().unwrap().delete(&id).unwrap());
    drop(o);

    let o = deploy(&db, tables::<with_required::Note>()).unwrap();
    let t = o.table::<with_required::Note>().unwrap();
    t.create(&with_required::Note {
        title: "a".into(),
        owner: "me".into(),
    })
    .unwrap();
    let def = o.table_def("notes").unwrap();
    assert!(matches!(
        o.insert_row(&def, json!({ "title": "b" })),
        Err(Error::Validation(f)) if f.contains_key("owner")
    ));
    assert_eq!(
        migrations(&db, "notes")[1],
        (2, "add field owner".to_owned())
    );
}

#[test]
fn a_declared_index_is_created_and_an_undeclared_one_dropped() {
    let db = SqliteStore::in_memory().unwrap();
    let o = deploy(&db, tables::<with_color::Note>()).unwrap();
    create(
        &o,
        &[with_color::Note {
            title: "a".into(),
            color: "red".into(),
        }],
    );
    drop(o);
    assert!(index_names(&db).is_empty());

    // with_color -> v1: the index on title appears (and color is dropped).
    let o = deploy(&db, tables::<v1::Note>()).unwrap();
    assert_eq!(
        schema_objects(&db, "index")
            .into_iter()
            .filter(|(name, _)| name.starts_with("_userdo_ix_"))
            .collect::<Vec<_>>(),
        [(
            "_userdo_ix_notes__title".to_owned(),
            "_userdo_table_notes".to_owned()
        )]
    );
    let built = query::build_select(
        &o.table_def("notes").unwrap(),
        &filter("title", Op::Eq, json!("a")),
    )
    .unwrap();
    let plan: String = db
        .connection()
        .query_row(
            &format!("EXPLAIN QUERY PLAN {}", built.sql),
            rusqlite::params!["a", 100, 0],
            |r| r.get(3),
        )
        .unwrap();
    assert!(
        plan.contains("USING INDEX _userdo_ix_notes__title"),
        "{plan}"
    );
    drop(o);

    // v1 -> with_color: it is dropped again.
    deploy(&db, tables::<with_color::Note>()).unwrap();
    assert!(index_names(&db).is_empty());
    let names: Vec<String> = migrations(&db, "notes").into_iter().map(|m| m.1).collect();
    assert_eq!(
        names[1],
        "drop field color (stored values kept); add index on title"
    );
    assert_eq!(
        names[2],
        "add field color with default \"\"; drop index on title"
    );
}

#[test]
fn a_renamed_table_keeps_its_rows_ids_and_indexes() {
    let db = SqliteStore::in_memory().unwrap();
    let o = deploy(&db, tables::<v1::Note>()).unwrap();
    let old = create(&o, &notes_v1(&["a", "b"]));
    let before: Vec<Json> = old
        .iter()
        .map(|id| {
            o.get_row(&o.table_def("notes").unwrap(), id)
                .unwrap()
                .unwrap()
        })
        .collect();
    drop(o);

    let o = deploy(&db, tables::<renamed::Memo>()).unwrap();
    let t = o.table::<renamed::Memo>().unwrap();
    for (id, row) in old.iter().zip(&before) {
        let memo = t.find_by_id(id).unwrap().unwrap();
        assert_eq!(memo.row.title, row["title"].as_str().unwrap());
        assert_eq!(memo.created_at, row["createdAt"].as_i64().unwrap());
        // The new field's default was written in after the rename.
        assert!(!memo.row.archived);
    }
    assert_eq!(
        ids(&o, "memos", &filter("archived", Op::Eq, json!(false))),
        old
    );
    assert!(o.table_def("notes").is_err());
    let sql_tables: Vec<String> = schema_objects(&db, "table")
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.starts_with("_userdo_table_"))
        .collect();
    assert_eq!(sql_tables, ["_userdo_table_memos"]);
    assert_eq!(
        index_names(&db),
        [
            "_userdo_ix_memos__archived__createdAt",
            "_userdo_ix_memos__title"
        ]
    );
    assert!(
        schema_objects(&db, "index")
            .iter()
            .filter(|(name, _)| name.starts_with("_userdo_ix_"))
            .all(|(_, table)| table == "_userdo_table_memos")
    );
    assert_eq!(registry(&db, "notes"), None);
    assert!(registry(&db, "memos").is_some());
    assert_eq!(
        migrations(&db, "memos"),
        [(
            1,
            "rename from notes; add field archived with default false; add index on title; \
             add index on archived, createdAt"
                .to_owned()
        )]
    );
    // New rows follow the old ones.
    let new = t
        .create(&renamed::Memo {
            title: "c".into(),
            archived: false,
        })
        .unwrap();
    assert_eq!(
        ids(&o, "memos", &QuerySpec::default()),
        [old[0].clone(), old[1].clone(), new.id]
    );
    drop(o);

    // Opening again finds the table under its new name and does nothing.
    deploy(&db, tables::<renamed::Memo>()).unwrap();
    assert_eq!(migrations(&db, "memos").len(), 1);
}

#[test]
fn a_dropped_field_keeps_its_stored_values_but_is_no_longer_shown_or_accepted() {
    let db = SqliteStore::in_memory().unwrap();
    let o = deploy(&db, tables::<with_color::Note>()).unwrap();
    let id = create(
        &o,
        &[with_color::Note {
            title: "a".into(),
            color: "red".into(),
        }],
    )
    .remove(0);
    drop(o);

    let o = deploy(&db, tables::<v1::Note>()).unwrap();
    let def = o.table_def("notes").unwrap();
    let row = o.get_row(&def, &id).unwrap().unwrap();
    assert_eq!(row.get("color"), None);
    assert_eq!(row["title"], json!("a"));
    assert_eq!(
        raw_rows(&db, "_userdo_table_notes")[0].1,
        json!({ "title": "a", "color": "red" })
    );
    assert!(matches!(
        o.query_rows(&def, &filter("color", Op::Eq, json!("red"))),
        Err(Error::InvalidQuery(_))
    ));
    assert!(matches!(
        o.insert_row(&def, json!({ "title": "b", "color": "blue" })),
        Err(Error::Validation(f)) if f.contains_key("color")
    ));
    assert!(matches!(
        o.update_row(&def, &id, json!({ "color": "blue" })),
        Err(Error::Validation(f)) if f.contains_key("color")
    ));
    assert_eq!(
        migrations(&db, "notes")[1].1,
        "drop field color (stored values kept); add index on title"
    );
    drop(o);

    // Declared again, the field shows its stored value.
    let o = deploy(&db, tables::<with_color::Note>()).unwrap();
    let t = o.table::<with_color::Note>().unwrap();
    assert_eq!(t.find_by_id(&id).unwrap().unwrap().row.color, "red");
}

/// The evolve module promises that a dropped field's stored values are kept ("no data is
/// lost"), but `update_row` rebuilds the stored JSON from the row as shown, which no longer
/// has them.
#[test]
fn an_update_keeps_the_stored_values_of_a_dropped_field() {
    let db = SqliteStore::in_memory().unwrap();
    let o = deploy(&db, tables::<with_color::Note>()).unwrap();
    let id = create(
        &o,
        &[with_color::Note {
            title: "a".into(),
            color: "red".into(),
        }],
    )
    .remove(0);
    drop(o);

    let o = deploy(&db, tables::<v1::Note>()).unwrap();
    o.table::<v1::Note>()
        .unwrap()
        .update(&id, json!({ "title": "b" }))
        .unwrap();
    assert_eq!(
        raw_rows(&db, "_userdo_table_notes")[0].1,
        json!({ "title": "b", "color": "red" })
    );
}

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

/// `notes` as in [`with_defaults`], with a different default for `stars`.
mod other_default {
    use super::*;

    fn five() -> i64 {
        5
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
    pub(super) struct Note {
        pub(super) title: String,
        #[serde(default)]
        pub(super) pinned: bool,
        #[serde(default = "five")]
        pub(super) stars: i64,
    }

    impl TableRow for Note {
        const NAME: &'static str = "notes";
        fn indexes() -> Vec<Index> {
            vec![Index::on(&["title"])]
        }
    }
}

#[test]
fn a_changed_default_applies_to_new_rows_and_is_recorded_with_a_name() {
    let db = SqliteStore::in_memory().unwrap();
    let o = deploy(&db, tables::<with_defaults::Note>()).unwrap();
    let old = o
        .insert_row(&o.table_def("notes").unwrap(), json!({ "title": "a" }))
        .unwrap();
    drop(o);

    let o = deploy(&db, tables::<other_default::Note>()).unwrap();
    let def = o.table_def("notes").unwrap();
    let new = o.insert_row(&def, json!({ "title": "b" })).unwrap();
    assert_eq!(
        (old["stars"].clone(), new["stars"].clone()),
        (json!(3), json!(5))
    );
    let id = old["id"].as_str().unwrap();
    assert_eq!(o.get_row(&def, id).unwrap().unwrap()["stars"], json!(3));
    assert_eq!(
        migrations(&db, "notes"),
        [
            (1, "create; add index on title".to_owned()),
            (
                2,
                "update the recorded declaration (stored rows unchanged)".to_owned()
            )
        ]
    );
    drop(o);
    deploy(&db, tables::<other_default::Note>()).unwrap();
    assert_eq!(migrations(&db, "notes").len(), 2);
}
