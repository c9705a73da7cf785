//! The plans SQLite makes with the declared indexes, over 100,000 rows.
#![allow(clippy::unwrap_used)]

use super::*;

#[derive(Debug, Serialize, Deserialize, Validate, JsonSchema)]
struct Task {
    title: String,
    priority: i64,
    status: String,
}

impl TableRow for Task {
    const NAME: &'static str = "tasks";
    fn indexes() -> Vec<Index> {
        vec![Index::on(&["priority"]), Index::on(&["status", "priority"])]
    }
}

const TASKS: i64 = 100_000;
const STATUSES: [&str; 4] = ["open", "doing", "done", "archived"];

/// An object whose `tasks` table holds 100,000 rows, written straight into its SQL table in one
/// transaction (the row shape `insert_row` writes, at a fraction of the cost).
fn hundred_thousand_tasks() -> TestObject {
    let o = object("plans")
        .with_tables(Tables::new().table::<Task>(Access::ReadWrite))
        .unwrap();
    let conn = o.store().connection();
    let tx = conn.unchecked_transaction().unwrap();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO _userdo_table_tasks (id, data, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?3)",
            )
            .unwrap();
        for i in 0..TASKS {
            let data = json!({
                "title": format!("task {i}"),
                "priority": (i * 7919) % 1000,
                "status": STATUSES[(i % 4) as usize],
            });
            insert
                .execute(rusqlite::params![
                    format!("{i:032x}"),
                    data.to_string(),
                    1_800_000_000_000 + i
                ])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    o
}

fn sqlite_params(built: &query::Built) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value as V;
    built
        .params
        .iter()
        .map(|v| match v {
            Value::Null => V::Null,
            Value::Integer(n) => V::Integer(*n),
            Value::Real(f) => V::Real(*f),
            Value::Text(s) => V::Text(s.clone()),
            Value::Blob(b) => V::Blob(b.clone()),
        })
        .collect()
}

/// The `detail` lines of `EXPLAIN QUERY PLAN` for the built query.
fn plan(o: &TestObject, built: &query::Built) -> Vec<String> {
    let conn = o.store().connection();
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", built.sql))
        .unwrap();
    stmt.query_map(rusqlite::params_from_iter(sqlite_params(built)), |r| {
        r.get::<_, String>(3)
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Runs the built query to the end; returns the rows and the statement's VM-step and
/// full-scan-step counters.
fn run_counted(o: &TestObject, built: &query::Built) -> (usize, i32, i32) {
    let conn = o.store().connection();
    let mut stmt = conn.prepare(&built.sql).unwrap();
    let mut rows = stmt
        .query(rusqlite::params_from_iter(sqlite_params(built)))
        .unwrap();
    let mut n = 0;
    while rows.next().unwrap().is_some() {
        n += 1;
    }
    drop(rows);
    (
        n,
        stmt.get_status(StatementStatus::VmStep),
        stmt.get_status(StatementStatus::FullscanStep),
    )
}

fn assert_uses_index(plan: &[String], index: &str) {
    assert!(
        plan.iter()
            .any(|d| d.starts_with("SEARCH _userdo_table_tasks USING INDEX ") && d.contains(index)),
        "{index} not searched: {plan:?}"
    );
    assert!(
        !plan.iter().any(|d| d.starts_with("SCAN")),
        "a scan: {plan:?}"
    );
    assert!(
        !plan.iter().any(|d| d.contains("TEMP B-TREE")),
        "a sort: {plan:?}"
    );
}

#[test]
fn indexed_queries_search_the_index_in_order_and_read_a_handful_of_rows() {
    let o = hundred_thousand_tasks();
    let def = o.table_def("tasks").unwrap();

    // A range on one field, ordered by it, both directions.
    for direction in [Direction::Asc, Direction::Desc] {
        let built = query::build_select(
            &def,
            &spec(
                vec![filter_of("priority", Op::Gte, json!(500))],
                &[("priority", direction)],
                10,
            ),
        )
        .unwrap();
        assert_uses_index(&plan(&o, &built), "_userdo_ix_tasks__priority ");
        let (rows, steps, fullscan) = run_counted(&o, &built);
        assert_eq!(rows, 10);
        assert!(steps < 1_000, "{steps} VM steps for 10 rows of 100,000");
        assert_eq!(fullscan, 0);
    }

    // Equality on the first field of a two-field index, ordered by the second: one index
    // serves both, scanned backwards for `desc` (ties newest first).
    let built = query::build_select(
        &def,
        &spec(
            vec![filter_of("status", Op::Eq, json!("open"))],
            &[("priority", Direction::Desc)],
            10,
        ),
    )
    .unwrap();
    assert_uses_index(&plan(&o, &built), "_userdo_ix_tasks__status__priority ");
    let (rows, steps, fullscan) = run_counted(&o, &built);
    assert_eq!((rows, fullscan), (10, 0));
    assert!(steps < 1_000, "{steps} VM steps");

    // Equality on both fields of it.
    let built = query::build_select(
        &def,
        &spec(
            vec![
                filter_of("status", Op::Eq, json!("done")),
                filter_of("priority", Op::Lt, json!(20)),
            ],
            &[("priority", Direction::Asc)],
            10,
        ),
    )
    .unwrap();
    assert_uses_index(&plan(&o, &built), "_userdo_ix_tasks__status__priority ");

    // Without the index the same query reads every row and sorts them.
    let range = query::build_select(
        &def,
        &spec(
            vec![filter_of("priority", Op::Gte, json!(500))],
            &[("priority", Direction::Asc)],
            10,
        ),
    )
    .unwrap();
    o.store()
        .execute("DROP INDEX _userdo_ix_tasks__priority", &[])
        .unwrap();
    let unindexed = plan(&o, &range);
    assert!(
        unindexed
            .iter()
            .any(|d| d.starts_with("SCAN _userdo_table_tasks")),
        "{unindexed:?}"
    );
    assert!(
        unindexed.iter().any(|d| d.contains("TEMP B-TREE")),
        "{unindexed:?}"
    );
    let (rows, _, fullscan) = run_counted(&o, &range);
    assert_eq!(rows, 10);
    assert!(fullscan >= TASKS as i32 - 1, "{fullscan} full-scan steps");
}
