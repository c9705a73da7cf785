//! The in-memory model of a table that random queries are checked against, and the strategies
//! that make random rows and queries.
#![allow(clippy::unwrap_used)]

use super::*;

/// The same row shape twice: once without indexes and once with an index on every field, so
/// each random query also checks that an index never changes what a query returns.
macro_rules! item_type {
    ($ty:ident, $name:literal, $indexes:expr) => {
        #[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
        pub(super) struct $ty {
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
pub(super) struct ModelRow {
    pub(super) seq: usize,
    pub(super) name: String,
    pub(super) rank: Option<i64>,
    pub(super) flag: bool,
    pub(super) score: f64,
    pub(super) created_at: i64,
    pub(super) id: String,
}

/// A value as SQLite compares it: NULL, a number (integers and reals compare as numbers,
/// booleans are 1 and 0), or text (BINARY collation: byte-wise).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Sql {
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
pub(super) fn model_query(rows: &[ModelRow], spec: &QuerySpec) -> (Vec<usize>, i64) {
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
pub(super) struct NewRow {
    pub(super) name: String,
    pub(super) rank: Option<i64>,
    pub(super) flag: bool,
    pub(super) score: f64,
    pub(super) tick: i64,
}

/// Short strings over an alphabet with case pairs, a two-byte character and the LIKE
/// wildcards, so that equality, prefixes, substrings and byte order all get hits and misses.
pub(super) const TEXT: &str = "[aAbé%_]{0,3}";

pub(super) fn new_row() -> impl Strategy<Value = NewRow> {
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

pub(super) fn op_of(ops: &'static [Op]) -> impl Strategy<Value = Op> {
    proptest::sample::select(ops)
}

pub(super) const COMPARE: &[Op] = &[Op::Eq, Op::Ne, Op::Gt, Op::Gte, Op::Lt, Op::Lte, Op::In];
pub(super) const EVERY: &[Op] = &[
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
pub(super) fn value_for(op: Op, one: BoxedStrategy<Json>) -> BoxedStrategy<Json> {
    if op == Op::In {
        proptest::collection::vec(one, 1..=4)
            .prop_map(Json::Array)
            .boxed()
    } else {
        one
    }
}

pub(super) fn filter_on(
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

pub(super) fn filter() -> impl Strategy<Value = Filter> {
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

pub(super) fn order() -> impl Strategy<Value = Vec<(String, Direction)>> {
    let key = (
        proptest::sample::select(&["name", "rank", "flag", "score", "createdAt", "id"][..]),
        prop_oneof![Just(Direction::Asc), Just(Direction::Desc)],
    )
        .prop_map(|(f, d)| (f.to_owned(), d));
    proptest::collection::vec(key, 0..=2)
}

pub(super) fn query_spec() -> impl Strategy<Value = QuerySpec> {
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
pub(super) fn run(
    o: &TestObject,
    table: &str,
    ids: &[String],
    spec: &QuerySpec,
) -> (Vec<usize>, i64) {
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
