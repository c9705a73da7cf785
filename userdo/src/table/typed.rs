//! The typed face of a table, for application code: rows go in and come out as the Rust row type.

use std::marker::PhantomData;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::query::{self, Built, Direction, Filter, Op, QuerySpec};
use super::{TableDef, TableRow};
use crate::UserDo;
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::store::Store;

/// The fields the server puts around every stored row, as the API shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoredFields {
    /// The row's id, assigned at creation (32 hex characters).
    pub id: String,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_at: i64,
    /// When it was last changed.
    pub updated_at: i64,
}

/// A stored row: the server's `id`, `createdAt` and `updatedAt` ([`StoredFields`]) around the
/// row type's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored<T> {
    /// The row's id, assigned at creation.
    pub id: String,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_at: i64,
    /// When it was last changed.
    pub updated_at: i64,
    /// The row's own fields.
    #[serde(flatten)]
    pub row: T,
}

/// The schema of a stored row is the row type's with [`StoredFields`] around it (`allOf`), so a
/// generated client types it as both (`StoredFields & Todo`).
impl<T: schemars::JsonSchema> schemars::JsonSchema for Stored<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Stored_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "allOf": [generator.subschema_for::<StoredFields>(), generator.subschema_for::<T>()]
        })
    }
}

/// The table of row type `T` in one user's object.
#[derive(Debug)]
pub struct Table<'a, S, P, T> {
    core: &'a UserDo<S, P>,
    def: Rc<TableDef>,
    row: PhantomData<T>,
}

impl<S: Store, P: Platform> UserDo<S, P> {
    /// The table of `T`, which must be declared in the object's [`Tables`](super::Tables).
    pub fn table<T: TableRow>(&self) -> Result<Table<'_, S, P, T>> {
        let def = self.tables.get(T::NAME).cloned().ok_or_else(|| {
            Error::Config(format!(
                "table {} is not declared (add it to UserApp::tables)",
                T::NAME
            ))
        })?;
        Ok(Table {
            core: self,
            def,
            row: PhantomData,
        })
    }
}

fn typed<T: TableRow>(row: Json) -> Result<Stored<T>> {
    serde_json::from_value(row).map_err(|e| Error::internal_from("stored row", e))
}

impl<S: Store, P: Platform, T: TableRow> Table<'_, S, P, T> {
    /// The table's definition.
    pub fn def(&self) -> &TableDef {
        &self.def
    }

    /// Validates and stores a new row.
    pub fn create(&self, row: &T) -> Result<Stored<T>> {
        let value =
            serde_json::to_value(row).map_err(|e| Error::internal_from("row to JSON", e))?;
        typed(self.core.insert_row(&self.def, value)?)
    }

    /// The row with this id.
    pub fn find_by_id(&self, id: &str) -> Result<Option<Stored<T>>> {
        self.core.get_row(&self.def, id)?.map(typed).transpose()
    }

    /// Changes the fields named in `patch` (a JSON object), validates the whole row again, and
    /// stores it. 404 when there is no such row.
    pub fn update(&self, id: &str, patch: Json) -> Result<Stored<T>> {
        typed(self.core.update_row(&self.def, id, patch)?)
    }

    /// Deletes the row; `false` when there was none.
    pub fn delete(&self, id: &str) -> Result<bool> {
        self.core.delete_row(&self.def, id)
    }

    /// A query of this table (every row, in creation order, until narrowed).
    pub fn query(&self) -> Query<'_, '_, S, P, T> {
        Query {
            table: self,
            spec: QuerySpec::default(),
        }
    }
}

/// A query being built: filters, order, limit and offset. Field names are checked against the
/// row type when the query runs or builds; an unknown one is 400 `invalid_query`.
///
/// ```ignore
/// let open = todos.query().where_("done", Op::Eq, false).order_by("createdAt", Direction::Desc).limit(20).get()?;
/// ```
#[derive(Debug)]
pub struct Query<'t, 'a, S, P, T> {
    table: &'t Table<'a, S, P, T>,
    spec: QuerySpec,
}

impl<S: Store, P: Platform, T: TableRow> Query<'_, '_, S, P, T> {
    /// Adds a condition (all conditions must hold). For [`Op::In`] pass an array.
    pub fn where_(&mut self, field: &str, op: Op, value: impl Into<Json>) -> &mut Self {
        self.spec.filters.push(Filter {
            field: field.to_owned(),
            op,
            value: value.into(),
        });
        self
    }

    /// Orders by `field` (after any earlier ordering).
    pub fn order_by(&mut self, field: &str, direction: Direction) -> &mut Self {
        self.spec.order.push((field.to_owned(), direction));
        self
    }

    /// Returns at most `n` rows (default 100, at most 1000).
    pub fn limit(&mut self, n: u32) -> &mut Self {
        self.spec.limit = Some(n);
        self
    }

    /// Skips the first `n` rows.
    pub fn offset(&mut self, n: u32) -> &mut Self {
        self.spec.offset = n;
        self
    }

    /// The SQL and bound values this query runs.
    pub fn build(&self) -> Result<Built> {
        query::build_select(&self.table.def, &self.spec)
    }

    /// The query as a value.
    pub fn spec(&self) -> &QuerySpec {
        &self.spec
    }

    /// Runs the query.
    pub fn get(&self) -> Result<Vec<Stored<T>>> {
        self.table
            .core
            .query_rows(&self.table.def, &self.spec)?
            .into_iter()
            .map(typed)
            .collect()
    }

    /// Counts the rows the filters match (ignoring order, limit and offset).
    pub fn count(&self) -> Result<i64> {
        self.table.core.count_rows(&self.table.def, &self.spec)
    }
}
