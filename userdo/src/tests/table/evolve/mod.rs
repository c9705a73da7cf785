//! Host tests of schema evolution: an object that already holds rows is opened again under a new
//! declaration of its tables (a redeploy), with a different Rust row type for each version.
#![allow(clippy::unwrap_used)]

use std::cell::Cell;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use validator::Validate;

use crate::UserDo;
use crate::error::{Error, Result};
use crate::store::sqlite::SqliteStore;
use crate::store::{Row, Statement, Store, StoreError, Value};
use crate::table::*;
use crate::tests::support::{TestClock, TestObject, object, settings};

mod fields;
mod indexes;
mod records;
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
