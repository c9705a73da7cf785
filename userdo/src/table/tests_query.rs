//! Host tests of the query builder over real SQLite: random queries checked against an in-memory
//! model, the plans SQLite makes with the declared indexes, hostile input in every position, and
//! the size limits.
#![allow(clippy::unwrap_used)]

use std::cmp::Ordering;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use rusqlite::StatementStatus;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use validator::Validate;

use super::*;
use crate::store::{Store, Value};
use crate::test_support::{TestObject, advance, object};

// ---------------------------------------------------------------------------------------------
// Random queries against an in-memory model
// ---------------------------------------------------------------------------------------------

/// The same row shape twice: once without indexes and once with an index on every field, so
/// each random query also checks that an index never changes what a query returns.
macro_rules! item_type {
    ($ty:ident, $name:literal, $indexes:expr) => {
        #[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
        struct $ty {
            name: String,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            rank: Option<i64>,
            flag: bool,
            score: f64,
        }

        impl TableRow for $ty {
            const NAME: &'static str = $name;
            fn indexes() -> Vec<Index> {
                $indexes
            }
        }
    };
}

item_type!(Item, "items", Vec::new());
item_type!(
    IndexedItem,
    "items_ix",
    vec![
        Index::on(&["rank"]),
        Index::on(&["name"]),
        Index::on(&["flag", "score"]),
        Index::on(&["score", "rank"]),
    ]
);

/// A row as the model holds it. `seq` is its creation order.
#[derive(Debug, Clone)]
struct ModelRow {
    seq: usize,
    name: String,
    rank: Option<i64>,
    flag: bool,
    score: f64,
    created_at: i64,
    id: String,
}

/// A value as SQLite compares it: NULL, a number (integers and reals compare as numbers,
/// booleans are 1 and 0), or text (BINARY collation: byte-wise).
#[derive(Debug, Clone, PartialEq)]
enum Sql {
    Null,
    Num(f64),
    Text(String),
}

impl Sql {
    fn of_json(value: &Json) -> Sql {
        match value {
            Json::Null => Sql::Null,
            Json::Bool(b) => Sql::Num(f64::from(u8::from(*b))),
            Json::Number(n) => Sql::Num(n.as_f64().unwrap()),
            Json::String(s) => Sql::Text(s.clone()),
            other => panic!("not a plain value: {other}"),
        }
    }

    /// SQL comparison: `None` when either side is NULL.
    fn cmp_sql(&self, other: &Sql) -> Option<Ordering> {
        match (self, other) {
            (Sql::Num(a), Sql::Num(b)) => a.partial_cmp(b),
            // Rust's `str` order is byte-wise, as SQLite's BINARY collation is.
            (Sql::Text(a), Sql::Text(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
            (Sql::Null, _) | (_, Sql::Null) => None,
            (a, b) => panic!("the builder binds values of the field's kind: {a:?} vs {b:?}"),
        }
    }

    /// ORDER BY comparison: NULL is smallest (first in ASC, last in DESC).
    fn cmp_order(&self, other: &Sql) -> Ordering {
        match (self, other) {
            (Sql::Null, Sql::Null) => Ordering::Equal,
            (Sql::Null, _) => Ordering::Less,
            (_, Sql::Null) => Ordering::Greater,
            (a, b) => a.cmp_sql(b).unwrap(),
        }
    }
}

impl ModelRow {
    fn get(&self, field: &str) -> Sql {
        match field {
            "name" => Sql::Text(self.name.clone()),
            "rank" => self.rank.map_or(Sql::Null, |r| Sql::Num(r as f64)),
            "flag" => Sql::Num(f64::from(u8::from(self.flag))),
            "score" => Sql::Num(self.score),
            // Exact: created_at is far below 2^53.
            "createdAt" => Sql::Num(self.created_at as f64),
            "id" => Sql::Text(self.id.clone()),
            other => panic!("no field {other}"),
        }
    }

    /// The documented semantics of one filter, written without SQL.
    fn matches(&self, filter: &Filter) -> bool {
        let have = self.get(&filter.field);
        let want = &filter.value;
        let cmp = || have.cmp_sql(&Sql::of_json(want));
        match filter.op {
            Op::Eq if want.is_null() => have == Sql::Null,
            Op::Ne if want.is_null() => have != Sql::Null,
            Op::Eq => cmp() == Some(Ordering::Equal),
            // `IS NOT`: a NULL field is "not equal" to every value.
            Op::Ne => have == Sql::Null || cmp() != Some(Ordering::Equal),
            Op::Gt => cmp() == Some(Ordering::Greater),
            Op::Gte => matches!(cmp(), Some(Ordering::Greater | Ordering::Equal)),
            Op::Lt => cmp() == Some(Ordering::Less),
            Op::Lte => matches!(cmp(), Some(Ordering::Less | Ordering::Equal)),
            Op::In => want
                .as_array()
                .unwrap()
                .iter()
                .any(|v| have.cmp_sql(&Sql::of_json(v)) == Some(Ordering::Equal)),
            Op::Contains | Op::StartsWith => {
                let (Sql::Text(have), Some(needle)) = (&have, want.as_str()) else {
                    return false;
                };
                if filter.op == Op::Contains {
                    have.contains(needle)
                } else {
                    have.starts_with(needle)
                }
            }
        }
    }
}

/// The model's answer: the rows every filter admits, sorted by the order keys, ties in creation
/// order in the direction of the last key (oldest first, or newest first after a `desc` key),
/// then offset and limit. The second value is the count without offset and limit.
fn model_query(rows: &[ModelRow], spec: &QuerySpec) -> (Vec<usize>, i64) {
    let mut hits: Vec<&ModelRow> = rows
        .iter()
        .filter(|r| spec.filters.iter().all(|f| r.matches(f)))
        .collect();
    let count = hits.len() as i64;
    let last = spec.order.last().map_or(Direction::Asc, |(_, d)| *d);
    let directed = |ord: Ordering, d: Direction| match d {
        Direction::Asc => ord,
        Direction::Desc => ord.reverse(),
    };
    hits.sort_by(|a, b| {
        spec.order
            .iter()
            .map(|(field, d)| directed(a.get(field).cmp_order(&b.get(field)), *d))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| directed(a.seq.cmp(&b.seq), last))
    });
    let limit = spec.limit.unwrap_or(query::DEFAULT_LIMIT) as usize;
    let page = hits
        .into_iter()
        .skip(spec.offset as usize)
        .take(limit)
        .map(|r| r.seq)
        .collect();
    (page, count)
}

/// A row to insert, and how far the clock moves before it (0 makes `createdAt` ties).
#[derive(Debug, Clone)]
struct NewRow {
    name: String,
    rank: Option<i64>,
    flag: bool,
    score: f64,
    tick: i64,
}

/// Short strings over an alphabet with case pairs, a two-byte character and the LIKE
/// wildcards, so that equality, prefixes, substrings and byte order all get hits and misses.
const TEXT: &str = "[aAbé%_]{0,3}";

fn new_row() -> impl Strategy<Value = NewRow> {
    (
        TEXT,
        proptest::option::of(-3i64..=3),
        any::<bool>(),
        -4i32..=4,
        0i64..=2,
    )
        .prop_map(|(name, rank, flag, half, tick)| NewRow {
            name,
            rank,
            flag,
            score: f64::from(half) / 2.0,
            tick,
        })
}

fn op_of(ops: &'static [Op]) -> impl Strategy<Value = Op> {
    proptest::sample::select(ops)
}

const COMPARE: &[Op] = &[Op::Eq, Op::Ne, Op::Gt, Op::Gte, Op::Lt, Op::Lte, Op::In];
const EVERY: &[Op] = &[
    Op::Eq,
    Op::Ne,
    Op::Gt,
    Op::Gte,
    Op::Lt,
    Op::Lte,
    Op::In,
    Op::Contains,
    Op::StartsWith,
];

/// A value for `op`: one from `one`, or a list of one to four for `in`.
fn value_for(op: Op, one: BoxedStrategy<Json>) -> BoxedStrategy<Json> {
    if op == Op::In {
        proptest::collection::vec(one, 1..=4)
            .prop_map(Json::Array)
            .boxed()
    } else {
        one
    }
}

fn filter_on(
    field: &'static str,
    ops: &'static [Op],
    one: impl Fn() -> BoxedStrategy<Json> + 'static,
) -> BoxedStrategy<Filter> {
    op_of(ops)
        .prop_flat_map(move |op| {
            value_for(op, one()).prop_map(move |value| Filter {
                field: field.to_owned(),
                op,
                value,
            })
        })
        .boxed()
}

fn filter() -> impl Strategy<Value = Filter> {
    let rank = || (-4i64..=4).prop_map(Json::from).boxed();
    let score = || {
        prop_oneof![
            (-5i32..=5).prop_map(|h| json!(f64::from(h) / 2.0)),
            (-3i64..=3).prop_map(Json::from),
        ]
        .boxed()
    };
    let null_filter = |field: &'static str| {
        op_of(&[Op::Eq, Op::Ne]).prop_map(move |op| Filter {
            field: field.to_owned(),
            op,
            value: Json::Null,
        })
    };
    prop_oneof![
        3 => filter_on("name", EVERY, || TEXT.prop_map(Json::from).boxed()),
        3 => filter_on("rank", COMPARE, rank),
        1 => null_filter("rank"),
        2 => filter_on("flag", &[Op::Eq, Op::Ne, Op::In], || any::<bool>().prop_map(Json::from).boxed()),
        3 => filter_on("score", COMPARE, score),
        1 => filter_on("createdAt", COMPARE, || {
            (0i64..=60).prop_map(|d| json!(1_800_000_000_000 + d)).boxed()
        }),
    ]
}

fn order() -> impl Strategy<Value = Vec<(String, Direction)>> {
    let key = (
        proptest::sample::select(&["name", "rank", "flag", "score", "createdAt", "id"][..]),
        prop_oneof![Just(Direction::Asc), Just(Direction::Desc)],
    )
        .prop_map(|(f, d)| (f.to_owned(), d));
    proptest::collection::vec(key, 0..=2)
}

fn query_spec() -> impl Strategy<Value = QuerySpec> {
    (
        proptest::collection::vec(filter(), 1..=3),
        order(),
        proptest::option::of(0u32..=25),
        prop_oneof![3 => Just(0u32), 1 => 1u32..=20],
    )
        .prop_map(|(filters, order, limit, offset)| QuerySpec {
            filters,
            order,
            limit,
            offset,
        })
}

/// Runs `spec` on one table of `o` and names the rows by their model `seq`.
fn run(o: &TestObject, table: &str, ids: &[String], spec: &QuerySpec) -> (Vec<usize>, i64) {
    let def = o.table_def(table).unwrap();
    let rows = o.query_rows(&def, spec).unwrap();
    let seqs = rows
        .iter()
        .map(|r| {
            let id = r["id"].as_str().unwrap();
            ids.iter().position(|i| i == id).unwrap()
        })
        .collect();
    (seqs, o.count_rows(&def, spec).unwrap())
}

fn check_queries(rows: &[NewRow], specs: &[QuerySpec]) -> Result<(), TestCaseError> {
    let o = object("prop")
        .with_tables(
            Tables::new()
                .table::<Item>(Access::ReadWrite)
                .table::<IndexedItem>(Access::ReadWrite),
        )
        .unwrap();
    let plain = o.table_def("items").unwrap();
    let indexed = o.table_def("items_ix").unwrap();
    let (mut model, mut ids, mut ids_ix) = (Vec::new(), Vec::new(), Vec::new());
    for (seq, new) in rows.iter().enumerate() {
        advance(&o, new.tick);
        let mut json = json!({ "name": new.name, "flag": new.flag, "score": new.score });
        if let Some(rank) = new.rank {
            json["rank"] = rank.into();
        }
        let stored = o.insert_row(&plain, json.clone()).unwrap();
        ids_ix.push(
            o.insert_row(&indexed, json)
                .unwrap()
                .get("id")
                .and_then(Json::as_str)
                .unwrap()
                .to_owned(),
        );
        let id = stored["id"].as_str().unwrap().to_owned();
        ids.push(id.clone());
        model.push(ModelRow {
            seq,
            name: new.name.clone(),
            rank: new.rank,
            flag: new.flag,
            score: new.score,
            created_at: stored["createdAt"].as_i64().unwrap(),
            id,
        });
    }
    // Ordering by id must compare the ids of the table being read.
    let model_ix: Vec<ModelRow> = model
        .iter()
        .cloned()
        .zip(&ids_ix)
        .map(|(r, id)| ModelRow {
            id: id.clone(),
            ..r
        })
        .collect();
    for spec in specs {
        let expected = model_query(&model, spec);
        prop_assert_eq!(
            run(&o, "items", &ids, spec),
            expected.clone(),
            "plain table, {:?}",
            spec
        );
        prop_assert_eq!(
            run(&o, "items_ix", &ids_ix, spec),
            model_query(&model_ix, spec),
            "indexed table, {:?}",
            spec
        );
    }
    Ok(())
}

#[test]
fn random_queries_return_what_an_in_memory_filter_and_sort_returns() {
    let config = Config {
        cases: 96,
        failure_persistence: None,
        // A fixed seed keeps the suite deterministic; PROPTEST_RNG_SEED still overrides it.
        rng_seed: match std::env::var("PROPTEST_RNG_SEED") {
            Ok(seed) => RngSeed::Fixed(seed.parse().unwrap()),
            Err(_) => RngSeed::Fixed(0x05EE_D0DE),
        },
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    runner
        .run(
            &(
                proptest::collection::vec(new_row(), 0..=40),
                proptest::collection::vec(query_spec(), 1..=8),
            ),
            |(rows, specs)| check_queries(&rows, &specs),
        )
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// The plans SQLite makes with the declared indexes
// ---------------------------------------------------------------------------------------------

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

fn spec(filters: Vec<Filter>, order: &[(&str, Direction)], limit: u32) -> QuerySpec {
    QuerySpec {
        filters,
        order: order.iter().map(|(f, d)| ((*f).to_owned(), *d)).collect(),
        limit: Some(limit),
        offset: 0,
    }
}

fn filter_of(field: &str, op: Op, value: Json) -> Filter {
    Filter {
        field: field.into(),
        op,
        value,
    }
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

// ---------------------------------------------------------------------------------------------
// Hostile input in every position
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, Validate, JsonSchema)]
struct Note {
    title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rank: Option<i64>,
    #[serde(default)]
    body: String,
}

impl TableRow for Note {
    const NAME: &'static str = "notes";
    fn indexes() -> Vec<Index> {
        vec![Index::on(&["title"])]
    }
}

const HOSTILE: [&str; 8] = [
    "'); DROP TABLE _userdo_table_notes; --",
    "\"); DROP TABLE _userdo_table_notes; --",
    "O'Brien",
    "say \"hi\"",
    "100%",
    "a_b",
    "ab",
    "a%b",
];

/// An object whose `notes` table holds one row per hostile title.
fn notes() -> TestObject {
    let o = object("hostile")
        .with_tables(Tables::new().table::<Note>(Access::ReadWrite))
        .unwrap();
    let def = o.table_def("notes").unwrap();
    for title in HOSTILE {
        o.insert_row(&def, json!({ "title": title })).unwrap();
    }
    o
}

/// The table still holds every row and the schema every table.
fn assert_intact(o: &TestObject) {
    let rows = o
        .store()
        .query("SELECT COUNT(*) FROM _userdo_table_notes", &[])
        .unwrap();
    assert_eq!(rows[0].int(0).unwrap(), HOSTILE.len() as i64);
    let tables = o
        .store()
        .query(
            "SELECT COUNT(*) FROM sqlite_master WHERE name IN \
             ('_userdo_table_notes', '_userdo_tables', '_userdo_events', '_userdo_migrations')",
            &[],
        )
        .unwrap();
    assert_eq!(tables[0].int(0).unwrap(), 4);
}

/// Reads `pairs` as the API's query string and runs it.
fn via_query_string(o: &TestObject, pairs: &[(&str, &str)]) -> Result<Vec<Json>> {
    let def = o.table_def("notes").unwrap();
    let spec = QuerySpec::from_query_pairs(&def, pairs.iter().copied())?;
    o.query_rows(&def, &spec)
}

fn assert_invalid_query<T: std::fmt::Debug>(result: Result<T>) {
    match result {
        Err(e @ Error::InvalidQuery(_)) => assert_eq!(e.status(), 400),
        other => panic!("expected invalid_query, got {other:?}"),
    }
}

const HOSTILE_NAMES: [&str; 6] = [
    "title; DROP TABLE _userdo_table_notes",
    "title') OR 1=1 --",
    "title\" OR 1=1 --",
    "$.title",
    "title.x",
    "",
];

#[test]
fn a_hostile_field_in_a_filter_is_invalid_query() {
    let o = notes();
    let def = o.table_def("notes").unwrap();
    for name in HOSTILE_NAMES {
        let spec = QuerySpec {
            filters: vec![filter_of(name, Op::Eq, json!("x"))],
            ..QuerySpec::default()
        };
        assert_invalid_query(o.query_rows(&def, &spec));
        assert_invalid_query(o.count_rows(&def, &spec));
        assert_invalid_query(via_query_string(&o, &[("where", &format!("{name}:eq:x"))]));
    }
    assert_intact(&o);
}

#[test]
fn a_hostile_field_in_an_ordering_is_invalid_query() {
    let o = notes();
    let def = o.table_def("notes").unwrap();
    for name in HOSTILE_NAMES {
        let spec = spec(vec![], &[(name, Direction::Asc)], 10);
        assert_invalid_query(o.query_rows(&def, &spec));
        assert_invalid_query(via_query_string(&o, &[("orderBy", name)]));
        assert_invalid_query(via_query_string(
            &o,
            &[("orderBy", &format!("{name}:desc"))],
        ));
    }
    assert_intact(&o);
}

#[test]
fn a_hostile_operator_is_invalid_query() {
    let o = notes();
    for op in [
        "eq; DROP TABLE _userdo_table_notes",
        "=",
        "EQ",
        "like",
        "is",
        "",
        "eq' OR '1'='1",
    ] {
        assert_invalid_query(via_query_string(&o, &[("where", &format!("title:{op}:x"))]));
    }
    assert_intact(&o);
}

#[test]
fn a_hostile_order_direction_is_invalid_query() {
    let o = notes();
    for direction in [
        "asc; DROP TABLE _userdo_table_notes",
        "ASC",
        "desc, 1",
        "asc --",
        "",
        "nulls first",
    ] {
        assert_invalid_query(via_query_string(
            &o,
            &[("orderBy", &format!("title:{direction}"))],
        ));
    }
    assert_intact(&o);
}

#[test]
fn a_hostile_limit_or_offset_is_invalid_query() {
    let o = notes();
    for raw in [
        "ten",
        "-1",
        "1.5",
        "",
        "1; DROP TABLE _userdo_table_notes",
        "99999999999999999999",
        "4294967296",
        // Whole numbers, but over the most rows one query returns.
        "4294967295",
        "1001",
    ] {
        assert_invalid_query(via_query_string(&o, &[("limit", raw)]));
    }
    for raw in ["-1", "x", "1 OR 1=1", "4294967296"] {
        assert_invalid_query(via_query_string(&o, &[("offset", raw)]));
    }
    assert_eq!(
        via_query_string(&o, &[("limit", "1000"), ("offset", "4294967295")]).unwrap(),
        Vec::<Json>::new()
    );
    assert_intact(&o);
}

#[test]
fn hostile_values_are_bound_and_match_literally() {
    let o = notes();
    let def = o.table_def("notes").unwrap();
    let titles = |spec: &QuerySpec| {
        o.query_rows(&def, spec)
            .unwrap()
            .iter()
            .map(|r| r["title"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    for title in HOSTILE {
        let eq = spec(vec![filter_of("title", Op::Eq, json!(title))], &[], 100);
        assert_eq!(titles(&eq), [title]);
        // The same through the query string, also where the value holds `:`.
        let rows = via_query_string(&o, &[("where", &format!("title:eq:{title}"))]).unwrap();
        assert_eq!(rows.len(), 1, "{title}");
    }
    let query = |op: Op, needle: &str| {
        let mut found = titles(&spec(vec![filter_of("title", op, json!(needle))], &[], 100));
        found.sort();
        found
    };
    // `%` and `_` are not wildcards, `'` and `"` are plain characters.
    assert_eq!(query(Op::Contains, "%"), ["100%", "a%b"]);
    assert_eq!(
        query(Op::Contains, "_"),
        [
            "\"); DROP TABLE _userdo_table_notes; --",
            "'); DROP TABLE _userdo_table_notes; --",
            "a_b"
        ]
    );
    assert_eq!(query(Op::Contains, "a_"), ["a_b"]);
    assert_eq!(query(Op::StartsWith, "a_"), ["a_b"]);
    assert_eq!(query(Op::StartsWith, "a%"), ["a%b"]);
    assert_eq!(
        query(Op::Contains, "'"),
        ["'); DROP TABLE _userdo_table_notes; --", "O'Brien"]
    );
    assert_eq!(query(Op::Contains, "\"hi\""), ["say \"hi\""]);
    assert_eq!(query(Op::Contains, "Br"), ["O'Brien"]);
    // Case-sensitive.
    assert_eq!(query(Op::Contains, "o'b"), Vec::<String>::new());
    assert_eq!(query(Op::StartsWith, "o'B"), Vec::<String>::new());
    assert_eq!(query(Op::StartsWith, "O'B"), ["O'Brien"]);
    // A string is not a list of values.
    assert_invalid_query(o.query_rows(
        &def,
        &spec(vec![filter_of("title", Op::In, json!("ab"))], &[], 100),
    ));
    let rows = via_query_string(&o, &[("where", "title:in:[\"O'Brien\",\"a_b\",\"zz\"]")]).unwrap();
    assert_eq!(rows.len(), 2);
    assert_intact(&o);
}

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

#[test]
fn too_many_values_are_invalid_query_not_a_crash() {
    let o = notes();
    let def = o.table_def("notes").unwrap();
    let titles = |n: usize| Json::Array((0..n).map(|i| json!(format!("t{i}"))).collect());
    let in_list = |n| spec(vec![filter_of("title", Op::In, titles(n))], &[], 10);

    // The select binds limit and offset too, so 98 is the longest list it takes.
    assert!(o.query_rows(&def, &in_list(98)).unwrap().is_empty());
    assert_invalid_query(o.query_rows(&def, &in_list(101)));
    assert_invalid_query(o.count_rows(&def, &in_list(101)));
    assert_invalid_query(o.query_rows(&def, &in_list(10_000)));
    let list = (0..101)
        .map(|i| format!("t{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert_invalid_query(via_query_string(
        &o,
        &[("where", &format!("title:in:{list}"))],
    ));

    // Over 100 in total, spread over filters that are each within the limit.
    let spread = spec(
        vec![
            filter_of("title", Op::In, titles(60)),
            filter_of("title", Op::In, titles(50)),
        ],
        &[],
        10,
    );
    assert_invalid_query(o.query_rows(&def, &spread));
    assert_invalid_query(o.count_rows(&def, &spread));
    // startsWith binds two values.
    let prefixes = spec(
        (0..50)
            .map(|_| filter_of("title", Op::StartsWith, json!("a")))
            .collect(),
        &[],
        10,
    );
    assert_invalid_query(o.query_rows(&def, &prefixes));
    assert_intact(&o);
}

#[test]
fn too_many_filters_or_orderings_are_invalid_query_not_a_crash() {
    let o = notes();
    let def = o.table_def("notes").unwrap();
    // `eq null` binds nothing, so neither the bound-value limit nor (below 100 KB) the length
    // limit stops these; SQLite itself refuses an AND chain deeper than 1000 and an ORDER BY of
    // more than 2000 terms, which must not surface as a 500.
    let nulls = |n: usize| {
        spec(
            (0..n)
                .map(|_| filter_of("rank", Op::Eq, Json::Null))
                .collect(),
            &[],
            10,
        )
    };
    let orderings = |n: usize| spec(vec![], &vec![("title", Direction::Asc); n], 10);
    assert_eq!(
        o.query_rows(&def, &nulls(query::MAX_TERMS)).unwrap().len(),
        HOSTILE.len()
    );
    assert_eq!(
        o.query_rows(&def, &orderings(query::MAX_TERMS))
            .unwrap()
            .len(),
        HOSTILE.len()
    );
    for n in [query::MAX_TERMS + 1, 1_001, 2_500, 5_000] {
        assert_invalid_query(o.query_rows(&def, &nulls(n)));
        assert_invalid_query(o.count_rows(&def, &nulls(n)));
        assert_invalid_query(via_query_string(&o, &vec![("where", "rank:eq:null"); n]));
        assert_invalid_query(o.query_rows(&def, &orderings(n)));
        assert_invalid_query(via_query_string(&o, &vec![("orderBy", "title"); n]));
    }
    assert_intact(&o);
}

#[test]
fn a_row_over_one_mebibyte_is_payload_too_large() {
    let o = notes();
    let def = o.table_def("notes").unwrap();
    // `{"body":"…","title":"big"}` is 25 bytes around the body.
    let fits = "x".repeat(MAX_ROW_BYTES - 25);
    let row = o
        .insert_row(&def, json!({ "title": "big", "body": fits }))
        .unwrap();
    let id = row["id"].as_str().unwrap();
    let too_big = |e: Error| {
        assert!(
            matches!(e, Error::PayloadTooLarge { limit } if limit == MAX_ROW_BYTES),
            "{e:?}"
        );
        assert_eq!(e.status(), 413);
    };
    too_big(
        o.insert_row(&def, json!({ "title": "big", "body": format!("{fits}x") }))
            .unwrap_err(),
    );
    too_big(
        o.insert_row(
            &def,
            json!({ "title": "big", "body": "y".repeat(3 * MAX_ROW_BYTES) }),
        )
        .unwrap_err(),
    );
    // An update that grows the row past the limit changes nothing.
    too_big(
        o.update_row(&def, id, json!({ "title": "bigger" }))
            .unwrap_err(),
    );
    assert_eq!(o.get_row(&def, id).unwrap().unwrap(), row);
    let count = o
        .store()
        .query("SELECT COUNT(*) FROM _userdo_table_notes", &[])
        .unwrap();
    assert_eq!(count[0].int(0).unwrap(), HOSTILE.len() as i64 + 1);
}
