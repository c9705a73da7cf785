//! Host tests of table rows: create, find, update and delete with their events, validation of
//! rows and patches, the exact SQL of each operator, and filtered, ordered, counted queries.
#![allow(clippy::unwrap_used)]

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use validator::Validate;

use crate::Since;
use crate::error::Error;
use crate::store::{Store, Value};
use crate::table::*;
use crate::tests::support::{TestObject, object};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
struct Todo {
    #[validate(length(min = 1, max = 200))]
    title: String,
    #[serde(default)]
    done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    priority: Option<i64>,
}

impl TableRow for Todo {
    const NAME: &'static str = "todos";
    fn indexes() -> Vec<Index> {
        vec![Index::on(&["priority"]), Index::on(&["done", "createdAt"])]
    }
}

fn todos() -> TestObject {
    object("u")
        .with_tables(Tables::new().table::<Todo>(Access::ReadWrite))
        .unwrap()
}

fn todo(title: &str, priority: Option<i64>) -> Todo {
    Todo {
        title: title.into(),
        done: false,
        priority,
    }
}

#[test]
fn the_schema_gives_kinds_defaults_and_required() {
    let def = TableDef::of::<Todo>(Access::ReadWrite).unwrap();
    let title = def.field("title").unwrap();
    assert_eq!(
        (title.kind, title.required, title.nullable),
        (FieldKind::String, true, false)
    );
    let done = def.field("done").unwrap();
    assert_eq!(
        (done.kind, done.default.clone()),
        (FieldKind::Boolean, Some(json!(false)))
    );
    let priority = def.field("priority").unwrap();
    assert_eq!(
        (priority.kind, priority.nullable),
        (FieldKind::Integer, true)
    );
    assert_eq!(def.field("createdAt").unwrap().kind, FieldKind::Integer);
    assert!(matches!(def.field("nope"), Err(Error::InvalidQuery(_))));
}

#[test]
fn create_find_update_delete_with_one_event_each() {
    let o = todos();
    let t = o.table::<Todo>().unwrap();
    let created = t.create(&todo("write tests", Some(2))).unwrap();
    assert_eq!(created.row.title, "write tests");
    assert_eq!(created.id.len(), 32);
    assert_eq!(t.find_by_id(&created.id).unwrap().unwrap(), created);
    let updated = t.update(&created.id, json!({ "done": true })).unwrap();
    assert!(updated.row.done);
    assert_eq!(updated.row.title, "write tests");
    assert_eq!(updated.created_at, created.created_at);
    assert!(t.delete(&created.id).unwrap());
    assert!(!t.delete(&created.id).unwrap());
    assert!(t.find_by_id(&created.id).unwrap().is_none());
    let events = o.take_events();
    let ops: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.event.as_str(), e.data["op"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ops,
        [
            ("table:todos", "create"),
            ("table:todos", "update"),
            ("table:todos", "delete")
        ]
    );
    assert_eq!(events[1].data["row"]["done"], json!(true));
    assert_eq!(events[2].data, json!({ "op": "delete", "id": created.id }));
    assert!(matches!(o.events_since(0, 10).unwrap(), Since::Events(e) if e.len() == 3));
}

#[test]
fn a_wrong_type_and_a_broken_rule_in_one_row_are_both_listed() {
    let o = todos();
    let def = o.table_def("todos").unwrap();
    let details = |e: Error| match e {
        Error::Validation(f) => f,
        other => panic!("{other:?}"),
    };
    let errors = details(
        o.insert_row(&def, json!({ "title": "", "done": "yes" }))
            .unwrap_err(),
    );
    assert_eq!(errors["done"], ["must be a boolean"]);
    assert!(errors["title"][0].contains("length"), "{errors:?}");
    assert_eq!(errors.len(), 2, "{errors:?}");
    let errors = details(
        o.insert_row(&def, json!({ "title": 5, "priority": "high", "extra": 1 }))
            .unwrap_err(),
    );
    assert_eq!(errors["title"], ["must be a string"]);
    assert_eq!(errors["priority"], ["must be i64"]);
    assert_eq!(errors["extra"], ["is not a field of this table"]);
    let row = o.insert_row(&def, json!({ "title": "a" })).unwrap();
    let id = row["id"].as_str().unwrap();
    let errors = details(
        o.update_row(&def, id, json!({ "title": "", "done": 1 }))
            .unwrap_err(),
    );
    assert_eq!(errors["done"], ["must be a boolean"]);
    assert!(errors.contains_key("title"), "{errors:?}");
    assert_eq!(o.get_row(&def, id).unwrap().unwrap(), row);
    assert_eq!(o.last_seq().unwrap(), 1);
}

#[test]
fn invalid_rows_and_patches_change_nothing() {
    let o = todos();
    let def = o.table_def("todos").unwrap();
    let fields = |e: Error| match e {
        Error::Validation(f) => f.into_keys().collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        fields(o.insert_row(&def, json!({ "done": true })).unwrap_err()),
        ["title"]
    );
    assert_eq!(
        fields(o.insert_row(&def, json!({ "title": "" })).unwrap_err()),
        ["title"]
    );
    assert_eq!(
        fields(o.insert_row(&def, json!({ "title": 5 })).unwrap_err()),
        ["title"]
    );
    assert_eq!(
        fields(
            o.insert_row(&def, json!({ "title": "a", "extra": 1 }))
                .unwrap_err()
        ),
        ["extra"]
    );
    assert_eq!(
        fields(
            o.insert_row(&def, json!({ "title": "a", "id": "x" }))
                .unwrap_err()
        ),
        ["id"]
    );
    let row = o.insert_row(&def, json!({ "title": "a" })).unwrap();
    assert_eq!(row["done"], json!(false));
    let id = row["id"].as_str().unwrap();
    assert_eq!(
        fields(o.update_row(&def, id, json!({ "title": "" })).unwrap_err()),
        ["title"]
    );
    assert_eq!(
        fields(
            o.update_row(&def, id, json!({ "createdAt": 1 }))
                .unwrap_err()
        ),
        ["createdAt"]
    );
    assert!(matches!(
        o.update_row(&def, "missing", json!({})),
        Err(Error::NotFound(_))
    ));
    assert_eq!(o.get_row(&def, id).unwrap().unwrap(), row);
    assert_eq!(o.last_seq().unwrap(), 1);
    let big = "x".repeat(MAX_ROW_BYTES);
    assert!(matches!(
        o.insert_row(
            &def,
            json!({ "title": "a", "priority": 1, "done": false, "extra": big })
        ),
        Err(Error::Validation(_))
    ));
}

#[test]
fn each_operator_builds_its_exact_sql_and_binds_every_value() {
    let def = TableDef::of::<Todo>(Access::ReadWrite).unwrap();
    let case = |field: &str, op: Op, value: serde_json::Value| {
        let spec = QuerySpec {
            filters: vec![Filter {
                field: field.into(),
                op,
                value,
            }],
            ..QuerySpec::default()
        };
        let built = query::build_select(&def, &spec).unwrap();
        let clause = built
            .sql
            .split(" WHERE ")
            .nth(1)
            .unwrap()
            .split(" ORDER BY ")
            .next()
            .unwrap()
            .to_owned();
        (clause, built.params[..built.params.len() - 2].to_vec())
    };
    let p = "json_extract(data, '$.priority')";
    let t = "json_extract(data, '$.title')";
    assert_eq!(
        case("priority", Op::Eq, json!(3)),
        (format!("{p} = ?"), vec![Value::Integer(3)])
    );
    assert_eq!(
        case("priority", Op::Eq, json!(null)),
        (format!("{p} IS NULL"), vec![])
    );
    assert_eq!(
        case("priority", Op::Ne, json!(3)),
        (format!("{p} IS NOT ?"), vec![Value::Integer(3)])
    );
    assert_eq!(
        case("priority", Op::Gt, json!(3)),
        (format!("{p} > ?"), vec![Value::Integer(3)])
    );
    assert_eq!(
        case("priority", Op::Gte, json!(3.5)),
        (format!("{p} >= ?"), vec![Value::Real(3.5)])
    );
    assert_eq!(
        case("createdAt", Op::Lt, json!(9)),
        ("created_at < ?".into(), vec![Value::Integer(9)])
    );
    assert_eq!(
        case("title", Op::Lte, json!("m")),
        (format!("{t} <= ?"), vec!["m".into()])
    );
    assert_eq!(
        case("priority", Op::In, json!([1, 2])),
        (
            format!("{p} IN (?, ?)"),
            vec![Value::Integer(1), Value::Integer(2)]
        )
    );
    assert_eq!(
        case("title", Op::Contains, json!("a'b")),
        (format!("instr({t}, ?) > 0"), vec!["a'b".into()])
    );
    assert_eq!(
        case("title", Op::StartsWith, json!("ab")),
        (
            format!("substr({t}, 1, ?) = ?"),
            vec![Value::Integer(2), "ab".into()]
        )
    );
    assert_eq!(
        case("done", Op::Eq, json!(true)),
        (
            "json_extract(data, '$.done') = ?".into(),
            vec![Value::Integer(1)]
        )
    );
    let spec = QuerySpec {
        order: vec![("priority".into(), Direction::Desc)],
        limit: Some(5),
        offset: 10,
        ..QuerySpec::default()
    };
    let built = query::build_select(&def, &spec).unwrap();
    assert_eq!(
        built.sql,
        format!(
            "SELECT id, data, created_at, updated_at FROM \"_userdo_table_todos\" ORDER BY {p} DESC, rowid DESC LIMIT ? OFFSET ?"
        )
    );
    assert_eq!(built.params, vec![Value::Integer(5), Value::Integer(10)]);
}

#[test]
fn queries_filter_order_limit_and_count() {
    let o = todos();
    let t = o.table::<Todo>().unwrap();
    for (i, title) in ["b", "a", "c", "ab"].iter().enumerate() {
        t.create(&todo(title, Some(i as i64))).unwrap();
    }
    t.create(&todo("none", None)).unwrap();
    let titles =
        |rows: Vec<Stored<Todo>>| rows.into_iter().map(|r| r.row.title).collect::<Vec<_>>();
    assert_eq!(
        titles(t.query().order_by("title", Direction::Asc).get().unwrap()),
        ["a", "ab", "b", "c", "none"]
    );
    assert_eq!(
        titles(
            t.query()
                .where_("priority", Op::Gte, 1)
                .order_by("priority", Direction::Desc)
                .get()
                .unwrap()
        ),
        ["ab", "c", "a"]
    );
    assert_eq!(
        titles(
            t.query()
                .where_("title", Op::StartsWith, "a")
                .get()
                .unwrap()
        ),
        ["a", "ab"]
    );
    assert_eq!(
        titles(
            t.query()
                .where_("priority", Op::Eq, serde_json::Value::Null)
                .get()
                .unwrap()
        ),
        ["none"]
    );
    assert_eq!(
        titles(t.query().where_("priority", Op::Ne, 0).get().unwrap()),
        ["a", "c", "ab", "none"]
    );
    let mut q = t.query();
    q.where_("priority", Op::In, json!([0, 3]))
        .limit(1)
        .offset(1);
    assert_eq!(titles(q.get().unwrap()), ["ab"]);
    assert_eq!(q.count().unwrap(), 2);
    assert!(matches!(
        t.query().where_("nope", Op::Eq, 1).get(),
        Err(Error::InvalidQuery(_))
    ));
    assert!(matches!(
        t.query()
            .order_by("title; DROP TABLE x", Direction::Asc)
            .get(),
        Err(Error::InvalidQuery(_))
    ));
    assert!(matches!(
        t.query().limit(1001).get(),
        Err(Error::InvalidQuery(_))
    ));
}

#[test]
fn a_batch_stores_every_row_in_order_with_one_event_each() {
    let o = todos();
    let def = o.table_def("todos").unwrap();
    let rows = (0..250)
        .map(|i| json!({ "title": format!("t{i}"), "priority": i }))
        .collect();
    let stored = o.insert_rows(&def, rows).unwrap();
    assert_eq!(stored.len(), 250);
    assert_eq!(stored[7]["title"], "t7");
    assert_eq!(stored[7]["done"], false, "defaults applied");
    let events = o.take_events();
    assert_eq!(events.len(), 250);
    for (i, (event, row)) in events.iter().zip(&stored).enumerate() {
        assert_eq!(event.seq, i as i64 + 1);
        assert_eq!(event.event, "table:todos");
        assert_eq!(
            event.data,
            json!({ "op": "create", "id": row["id"], "row": row })
        );
        assert_eq!(
            o.get_row(&def, row["id"].as_str().unwrap())
                .unwrap()
                .as_ref(),
            Some(row)
        );
    }
    let t = o.table::<Todo>().unwrap();
    assert_eq!(t.query().count().unwrap(), 250);
}

#[test]
fn one_bad_row_stores_none_and_every_problem_is_listed() {
    let o = todos();
    let def = o.table_def("todos").unwrap();
    o.insert_row(&def, json!({ "title": "before" })).unwrap();
    o.take_events();
    let e = o
        .insert_rows(
            &def,
            vec![
                json!({ "title": "fine" }),
                json!({ "title": "", "done": "no" }),
                json!("not a row"),
                json!({ "title": "also fine", "id": "mine" }),
            ],
        )
        .unwrap_err();
    let Error::Validation(fields) = e else {
        panic!("{e:?}")
    };
    assert_eq!(fields["rows[1].done"], ["must be a boolean"]);
    assert!(fields.contains_key("rows[1].title"), "{fields:?}");
    assert_eq!(fields["rows[2]"], ["must be a JSON object"]);
    assert_eq!(fields["rows[3].id"], ["is assigned by the server"]);
    assert_eq!(fields.len(), 4, "{fields:?}");
    assert_eq!(o.table::<Todo>().unwrap().query().count().unwrap(), 1);
    assert!(o.take_events().is_empty());
    assert_eq!(o.last_seq().unwrap(), 1);
}

#[test]
fn a_batch_holds_1_to_1000_rows() {
    let o = todos();
    let def = o.table_def("todos").unwrap();
    for n in [0, MAX_BATCH_ROWS + 1] {
        let rows = vec![json!({ "title": "x" }); n];
        let Error::Validation(fields) = o.insert_rows(&def, rows).unwrap_err() else {
            panic!()
        };
        assert_eq!(fields["rows"], ["must hold 1 to 1000 rows"]);
    }
    let rows = vec![json!({ "title": "x" }); MAX_BATCH_ROWS];
    assert_eq!(o.insert_rows(&def, rows).unwrap().len(), 1000);
    assert_eq!(o.last_seq().unwrap(), 1000);
}

#[test]
fn the_list_count_stops_at_its_cap_and_says_so() {
    let o = todos();
    let def = o.table_def("todos").unwrap();
    let rows = (0..25)
        .map(|i| json!({ "title": format!("t{i}"), "done": i % 5 == 0 }))
        .collect();
    o.insert_rows(&def, rows).unwrap();
    let all = QuerySpec::default();
    assert_eq!(o.count_rows_upto(&def, &all, 10).unwrap(), (10, true));
    assert_eq!(o.count_rows_upto(&def, &all, 24).unwrap(), (24, true));
    assert_eq!(o.count_rows_upto(&def, &all, 25).unwrap(), (25, false));
    assert_eq!(o.count_rows_upto(&def, &all, 10_000).unwrap(), (25, false));
    let done = QuerySpec::from_query_pairs(&def, [("where", "done:eq:true")]).unwrap();
    assert_eq!(o.count_rows_upto(&def, &done, 5).unwrap(), (5, false));
    assert_eq!(o.count_rows_upto(&def, &done, 4).unwrap(), (4, true));
    assert_eq!(o.count_rows(&def, &done).unwrap(), 5);
}

#[test]
fn the_list_count_follows_every_change_though_it_is_remembered() {
    let o = todos();
    let def = o.table_def("todos").unwrap();
    let t = o.table::<Todo>().unwrap();
    let done = QuerySpec::from_query_pairs(&def, [("where", "done:eq:true")]).unwrap();
    let a = t.create(&todo("a", None)).unwrap();
    let b = t.create(&todo("b", None)).unwrap();
    assert_eq!(o.count_rows_upto(&def, &done, 100).unwrap(), (0, false));
    t.update(&a.id, json!({ "done": true })).unwrap();
    assert_eq!(o.count_rows_upto(&def, &done, 100).unwrap(), (1, false));
    assert_eq!(o.count_rows_upto(&def, &done, 100).unwrap(), (1, false));
    assert_eq!(o.count_rows_upto(&def, &done, 0).unwrap(), (0, true));
    o.insert_rows(&def, vec![json!({ "title": "c", "done": true }); 3])
        .unwrap();
    assert_eq!(o.count_rows_upto(&def, &done, 100).unwrap(), (4, false));
    t.delete(&a.id).unwrap();
    assert_eq!(o.count_rows_upto(&def, &done, 100).unwrap(), (3, false));
    // The application's own SQL on the table is seen too.
    o.store()
        .execute(
            &format!(
                "UPDATE \"{}\" SET data = json_set(data, '$.done', json('true'))",
                def.sql_table()
            ),
            &[],
        )
        .unwrap();
    assert_eq!(o.count_rows_upto(&def, &done, 100).unwrap(), (4, false));
    assert!(t.find_by_id(&b.id).unwrap().unwrap().row.done);
}
