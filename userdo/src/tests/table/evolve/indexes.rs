//! Indexes created and dropped, and tables renamed with their rows.
#![allow(clippy::unwrap_used)]

use super::*;

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
