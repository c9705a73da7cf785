//! Typed per-user tables.
//!
//! A table is declared from a Rust row type (serde + `validator` + `schemars`) that implements
//! [`TableRow`], and registered in the application's [`Tables`]. Each row is stored as its JSON in
//! a SQLite table of its own (`_userdo_table_{name}`), beside the server-assigned `id`,
//! `createdAt` and `updatedAt`; declared [`Index`]es are real SQLite expression indexes over the
//! stored fields. Every change appends one event to the change feed in the same transaction.
//!
//! ```
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//! use userdo::table::{Access, Index, TableRow, Tables};
//! use validator::Validate;
//!
//! #[derive(Debug, Serialize, Deserialize, Validate, JsonSchema)]
//! struct Todo {
//!     #[validate(length(min = 1, max = 200))]
//!     title: String,
//!     #[serde(default)]
//!     done: bool,
//! }
//!
//! impl TableRow for Todo {
//!     const NAME: &'static str = "todos";
//!     fn indexes() -> Vec<Index> {
//!         vec![Index::on(&["done", "createdAt"])]
//!     }
//! }
//!
//! let tables = Tables::new().table::<Todo>(Access::ReadWrite);
//! assert!(tables.get("todos").is_some());
//! ```

mod check;
mod counts;
mod evolve;
pub mod query;
mod rows;
pub mod schema;
mod typed;

pub(crate) use counts::CountCache;

use std::rc::Rc;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use validator::Validate;

use crate::error::{Error, FieldErrors, Result};
pub use query::{Direction, Filter, Op, QuerySpec};
pub use schema::{Field, FieldKind};
pub use typed::{Query, Stored, StoredFields, Table};

/// The largest row, in bytes of JSON (Durable Object SQLite allows 2 MB per row).
pub const MAX_ROW_BYTES: usize = 1024 * 1024;
/// The most rows one batch insert (`POST /api/tables/{table}/batch`) takes.
pub const MAX_BATCH_ROWS: usize = 1000;

/// A Rust type whose values are the rows of a table.
pub trait TableRow: Serialize + DeserializeOwned + Validate + JsonSchema + 'static {
    /// The table's name: ASCII letters, digits and `_`, not starting with a digit.
    const NAME: &'static str;

    /// The indexes to keep. Adding or removing one here adds or drops it in every user's object.
    fn indexes() -> Vec<Index> {
        Vec::new()
    }

    /// Names this table had before, newest first: an object that still holds a table of one of
    /// these names renames it (with its rows) instead of starting an empty one.
    fn renamed_from() -> &'static [&'static str] {
        &[]
    }
}

/// Who may reach a table over HTTP (`/api/tables/{name}`). Application code in the object can
/// always use every table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The signed-in user may read, create, update and delete rows.
    ReadWrite,
    /// The signed-in user may read rows; writes are 403.
    ReadOnly,
    /// Not reachable over HTTP (404), only from application code.
    ServerOnly,
    /// An organization's table: its members reach it over HTTP
    /// (`/api/orgs/{org}/tables/{name}`) by role, each action needing the role given here or a
    /// higher one. In a user's object such a table is not reachable over HTTP.
    Roles {
        /// The lowest role that reads rows.
        read: crate::org::Role,
        /// The lowest role that creates and updates rows.
        write: crate::org::Role,
        /// The lowest role that deletes rows.
        delete: crate::org::Role,
    },
}

/// An index over one or more fields (system fields `id`, `createdAt`, `updatedAt` included),
/// most significant first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    fields: Vec<String>,
}

impl Index {
    /// An index on `fields`.
    pub fn on(fields: &[&str]) -> Self {
        Self {
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    /// The indexed fields.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// The SQLite name of this index on `table`.
    pub(crate) fn sql_name(&self, table: &str) -> String {
        format!("_userdo_ix_{table}__{}", self.fields.join("__"))
    }
}

type Normalize = fn(Json) -> Result<Json>;

/// A table as the engine sees it: its name, fields, indexes and access, and the row type's
/// validation.
#[derive(Clone)]
pub struct TableDef {
    name: String,
    access: Access,
    fields: Vec<Field>,
    system: Vec<Field>,
    indexes: Vec<Index>,
    renamed_from: Vec<String>,
    normalize: Normalize,
}

impl std::fmt::Debug for TableDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableDef")
            .field("name", &self.name)
            .field("access", &self.access)
            .field("fields", &self.fields)
            .field("indexes", &self.indexes)
            .finish_non_exhaustive()
    }
}

impl TableDef {
    /// The definition of `T`'s table, or what is wrong with the declaration.
    pub fn of<T: TableRow>(access: Access) -> Result<Self> {
        let name = T::NAME;
        if !schema::is_plain_name(name) {
            return Err(Error::Config(format!(
                "table name {name:?} must be letters, digits and _ (not starting with a digit)"
            )));
        }
        let schema = serde_json::to_value(schemars::schema_for!(T))
            .map_err(|e| Error::Config(format!("table {name}: schema: {e}")))?;
        let fields = schema::fields_from_schema(&schema)
            .map_err(|e| Error::Config(format!("table {name}: {e}")))?;
        let def = Self {
            name: name.to_owned(),
            access,
            fields,
            system: schema::system_fields(),
            indexes: T::indexes(),
            renamed_from: T::renamed_from().iter().map(|n| (*n).to_owned()).collect(),
            normalize: normalize::<T>,
        };
        let problems = check::problems_of(&def);
        if !problems.is_empty() {
            return Err(Error::Config(problems.join("; ")));
        }
        Ok(def)
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Who may reach it over HTTP.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The row type's own fields (not the system fields).
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The declared indexes.
    pub fn indexes(&self) -> &[Index] {
        &self.indexes
    }

    /// The field called `name` (a system field included), or 400 `invalid_query`.
    pub fn field(&self, name: &str) -> Result<&Field> {
        self.fields
            .iter()
            .chain(&self.system)
            .find(|f| f.name == name)
            .ok_or_else(|| query::invalid(&format!("{} has no field {name:?}", self.name)))
    }

    /// The SQLite table that holds the rows.
    pub(crate) fn sql_table(&self) -> String {
        format!("_userdo_table_{}", self.name)
    }

    /// Checks a row's JSON against the row type: unknown fields, types, validation. Returns the
    /// row as the type writes it (defaults filled in).
    pub(crate) fn validate_row(&self, row: Json) -> Result<Json> {
        let Json::Object(mut map) = row else {
            return Err(Error::InvalidJson("a row must be a JSON object".into()));
        };
        let mut errors = FieldErrors::new();
        map.retain(|key, _| {
            let problem = if schema::SYSTEM_FIELDS.contains(&key.as_str()) {
                "is assigned by the server"
            } else if !self.fields.iter().any(|f| &f.name == key) {
                "is not a field of this table"
            } else {
                return true;
            };
            errors.insert(key.clone(), vec![problem.into()]);
            false
        });
        // The remaining fields are checked too, so that every problem is listed at once.
        let normalized = match ((self.normalize)(Json::Object(map)), errors.is_empty()) {
            (Ok(normalized), true) => normalized,
            (Ok(_), false) => return Err(Error::Validation(errors)),
            (Err(Error::Validation(more)), _) => {
                for (field, messages) in more {
                    errors.entry(field).or_insert(messages);
                }
                return Err(Error::Validation(errors));
            }
            (Err(other), _) => return Err(other),
        };
        let size = normalized.to_string().len();
        if size > MAX_ROW_BYTES {
            return Err(Error::PayloadTooLarge {
                limit: MAX_ROW_BYTES,
            });
        }
        Ok(normalized)
    }
}

/// Reads the row as `T` (every mistyped, missing or invalid field listed), and writes it back.
fn normalize<T: TableRow>(row: Json) -> Result<Json> {
    let parsed: T = crate::parse::typed_and_valid(row, "body")?;
    serde_json::to_value(&parsed).map_err(|e| Error::internal_from("row to JSON", e))
}

/// The tables of an application, each with its HTTP access.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    defs: Vec<Rc<TableDef>>,
    /// The name of every table declared, also those whose declaration failed.
    declared: Vec<String>,
    errors: Vec<String>,
}

impl Tables {
    /// No tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `T`'s table. A declaration error (a bad name, an index on an unknown field) is
    /// kept for [`check`](Self::check), which [`UserDo::with_tables`](crate::UserDo::with_tables)
    /// calls before it opens anything.
    pub fn table<T: TableRow>(mut self, access: Access) -> Self {
        let twice = self.declared.iter().any(|name| name == T::NAME);
        if twice {
            self.errors
                .push(format!("table {} is declared twice", T::NAME));
        }
        self.declared.push(T::NAME.to_owned());
        match TableDef::of::<T>(access) {
            Ok(_) if twice => {}
            Ok(def) => self.defs.push(Rc::new(def)),
            Err(Error::Config(problems)) => self.errors.push(problems),
            Err(e) => self.errors.push(e.to_string()),
        }
        self
    }

    /// The table called `name`.
    pub fn get(&self, name: &str) -> Option<&Rc<TableDef>> {
        self.defs.iter().find(|d| d.name == name)
    }

    /// Every table.
    pub fn iter(&self) -> impl Iterator<Item = &Rc<TableDef>> {
        self.defs.iter()
    }
}
