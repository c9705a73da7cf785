//! Fields added, dropped and given new defaults on a table that holds rows.
#![allow(clippy::unwrap_used)]

use super::*;

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
