//! Host tests of the query builder over real SQLite: random queries checked against an in-memory
//! model, the plans SQLite makes with the declared indexes, hostile input in every position, and
//! the size limits. The `notes` fixture here is shared by the hostile-input and limit tests.
#![allow(clippy::unwrap_used)]

use std::cmp::Ordering;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use rusqlite::StatementStatus;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use validator::Validate;

use crate::error::{Error, Result};
use crate::store::{Store, Value};
use crate::table::*;
use crate::tests::support::{TestObject, advance, object};

mod hostile;
mod limits;
mod model;
mod plans;
mod random;

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
