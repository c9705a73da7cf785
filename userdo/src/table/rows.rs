//! Reading and writing rows as JSON: what the HTTP endpoints call, and what the typed
//! [`Table`](super::Table) is built on. Each write appends its `table:{name}` event atomically.

use serde_json::{Map, Value as Json};

use super::query::{self, QuerySpec};
use super::{StoredFields, TableDef};
use crate::UserDo;
use crate::error::{Error, Result};
use crate::events::{TableChange, TableOp};
use crate::platform::Platform;
use crate::store::{Row, Statement, Store, Value};
use crate::token;

impl<S: Store, P: Platform> UserDo<S, P> {
    /// The declared table called `name`, or 404.
    pub fn table_def(&self, name: &str) -> Result<std::rc::Rc<TableDef>> {
        self.tables
            .get(name)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("no table {name:?}")))
    }

    /// Validates `row` and stores it with a new id. Returns the stored row
    /// (`{id, ...fields, createdAt, updatedAt}`).
    pub fn insert_row(&self, def: &TableDef, row: Json) -> Result<Json> {
        let data = def.validate_row(row)?;
        self.insert_valid(def, data)
    }

    /// Stores a row that [`TableDef::validate_row`] passed.
    fn insert_valid(&self, def: &TableDef, data: Json) -> Result<Json> {
        let id = token::random_id(&self.platform)?;
        let now = self.platform.now_ms();
        let text = data.to_string();
        let out = output(def, &id, data, now, now);
        self.write_with_event(
            vec![Statement::new(
                format!(
                    "INSERT INTO \"{}\" (id, data, created_at, updated_at) VALUES (?, ?, ?, ?)",
                    def.sql_table()
                ),
                vec![
                    id.as_str().into(),
                    text.into(),
                    Value::Integer(now),
                    Value::Integer(now),
                ],
            )],
            event_name(def),
            TableChange {
                op: TableOp::Create,
                id: id.clone(),
                row: Some(out.clone()),
            }
            .to_data(),
        )?;
        Ok(out)
    }

    /// Validates every row of `rows` (1 to [`MAX_BATCH_ROWS`](super::MAX_BATCH_ROWS)) and stores
    /// them in one transaction, each with a new id and its own `table:{name}` create event, in
    /// order. One invalid row stores none: the error lists every failing field of every row as
    /// `rows[i].field` (`rows[i]` for a row that is not an object). Returns the stored rows.
    pub fn insert_rows(&self, def: &TableDef, rows: Vec<Json>) -> Result<Vec<Json>> {
        if rows.is_empty() || rows.len() > super::MAX_BATCH_ROWS {
            let mut errors = crate::error::FieldErrors::new();
            errors.insert(
                "rows".into(),
                vec![format!("must hold 1 to {} rows", super::MAX_BATCH_ROWS)],
            );
            return Err(Error::Validation(errors));
        }
        let mut errors = crate::error::FieldErrors::new();
        let mut valid = Vec::with_capacity(rows.len());
        for (i, row) in rows.into_iter().enumerate() {
            match def.validate_row(row) {
                Ok(data) => valid.push(data),
                Err(Error::Validation(fields)) => {
                    for (field, messages) in fields {
                        errors.insert(format!("rows[{i}].{field}"), messages);
                    }
                }
                Err(Error::InvalidJson(_)) => {
                    errors.insert(format!("rows[{i}]"), vec!["must be a JSON object".into()]);
                }
                Err(other) => return Err(other),
            }
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        let queued = self.emitted.queued_from_here();
        let mut stored = Vec::with_capacity(valid.len());
        let mut failure = None;
        let committed = self.store.transaction(&mut || {
            for data in std::mem::take(&mut valid) {
                match self.insert_valid(def, data) {
                    Ok(row) => stored.push(row),
                    Err(e) => {
                        failure = Some(e);
                        return false;
                    }
                }
            }
            true
        })?;
        if !committed {
            drop(queued);
            return Err(
                failure.unwrap_or_else(|| Error::internal("the batch insert did not commit"))
            );
        }
        queued.keep();
        Ok(stored)
    }

    /// The row with this id.
    pub fn get_row(&self, def: &TableDef, id: &str) -> Result<Option<Json>> {
        let rows = self.store.query(
            &format!(
                "SELECT id, data, created_at, updated_at FROM \"{}\" WHERE id = ?",
                def.sql_table()
            ),
            &[id.into()],
        )?;
        rows.first().map(|r| read_row(def, r)).transpose()
    }

    /// Applies `patch` (an object of the fields to change; `null` clears a nullable field) to the
    /// row, validates the result as a whole, and stores it. 404 when there is no such row.
    pub fn update_row(&self, def: &TableDef, id: &str, patch: Json) -> Result<Json> {
        let Json::Object(patch) = patch else {
            return Err(Error::InvalidJson("a patch must be a JSON object".into()));
        };
        let (old, created_at) = self
            .raw_row(def, id)?
            .ok_or_else(|| Error::NotFound(format!("no row {id:?} in {}", def.name())))?;
        let is_field = |key: &str| def.fields().iter().any(|f| f.name == key);
        // The row as the type sees it, with the patch on top; unknown and system fields in the
        // patch are rejected by validate_row.
        let mut merged: Map<String, Json> = old
            .iter()
            .filter(|(k, _)| is_field(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        merged.extend(patch);
        let data = def.validate_row(Json::Object(merged))?;
        let now = self.platform.now_ms();
        let out = output(def, id, data.clone(), created_at, now);
        // Fields dropped from the row type keep their stored values (see the evolution rules).
        let mut stored = data;
        if let Json::Object(stored) = &mut stored {
            for (key, value) in old {
                if !is_field(&key) && !stored.contains_key(&key) {
                    stored.insert(key, value);
                }
            }
        }
        let text = stored.to_string();
        self.write_with_event(
            vec![Statement::new(
                format!(
                    "UPDATE \"{}\" SET data = ?, updated_at = ? WHERE id = ?",
                    def.sql_table()
                ),
                vec![text.into(), Value::Integer(now), id.into()],
            )],
            event_name(def),
            TableChange {
                op: TableOp::Update,
                id: id.to_owned(),
                row: Some(out.clone()),
            }
            .to_data(),
        )?;
        Ok(out)
    }

    /// The stored JSON object of a row (fields dropped from the row type included) and its
    /// `created_at`.
    fn raw_row(&self, def: &TableDef, id: &str) -> Result<Option<(Map<String, Json>, i64)>> {
        let rows = self.store.query(
            &format!(
                "SELECT data, created_at FROM \"{}\" WHERE id = ?",
                def.sql_table()
            ),
            &[id.into()],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        match serde_json::from_str(row.text(0)?) {
            Ok(Json::Object(data)) => Ok(Some((data, row.int(1)?))),
            Ok(_) => Err(Error::internal(format!(
                "a stored row of {} is not an object",
                def.name()
            ))),
            Err(e) => Err(Error::internal_from(
                format!("stored row of {}", def.name()),
                e,
            )),
        }
    }

    /// Deletes the row; `false` (and no event) when there was none.
    pub fn delete_row(&self, def: &TableDef, id: &str) -> Result<bool> {
        if self.get_row(def, id)?.is_none() {
            return Ok(false);
        }
        self.write_with_event(
            vec![Statement::new(
                format!("DELETE FROM \"{}\" WHERE id = ?", def.sql_table()),
                vec![id.into()],
            )],
            event_name(def),
            TableChange {
                op: TableOp::Delete,
                id: id.to_owned(),
                row: None,
            }
            .to_data(),
        )?;
        Ok(true)
    }

    /// The rows the query selects, in its order.
    pub fn query_rows(&self, def: &TableDef, spec: &QuerySpec) -> Result<Vec<Json>> {
        let built = query::build_select(def, spec)?;
        self.store
            .query(&built.sql, &built.params)?
            .iter()
            .map(|r| read_row(def, r))
            .collect()
    }

    /// How many rows the query's filters match, counted up to `cap`: `(count, false)` when that
    /// is all of them, `(cap, true)` when more match. What the HTTP list answers: a count that
    /// costs at most `cap` index steps however large the table, and nothing while the database
    /// is unchanged since the same count (`table::counts`).
    pub fn count_rows_upto(
        &self,
        def: &TableDef,
        spec: &QuerySpec,
        cap: i64,
    ) -> Result<(i64, bool)> {
        let built = query::build_count_upto(def, spec, cap)?;
        self.counts
            .get_or_count(&self.store, &built.sql, &built.params, || {
                let rows = self.store.query(&built.sql, &built.params)?;
                let n = rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
                Ok(if n > cap { (cap, true) } else { (n, false) })
            })
    }

    /// How many rows the query's filters match (ignoring its order, limit and offset).
    pub fn count_rows(&self, def: &TableDef, spec: &QuerySpec) -> Result<i64> {
        let built = query::build_count(def, spec)?;
        let rows = self.store.query(&built.sql, &built.params)?;
        Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0))
    }
}

fn event_name(def: &TableDef) -> String {
    format!("table:{}", def.name())
}

/// A stored row as the API shows it: `{id, ...fields, createdAt, updatedAt}`. Fields no longer in
/// the row type (dropped from it after the row was written) are kept in storage but not shown.
fn output(def: &TableDef, id: &str, data: Json, created_at: i64, updated_at: i64) -> Json {
    let mut out = match data {
        Json::Object(map) => map,
        _ => Map::new(),
    };
    out.retain(|k, _| def.fields().iter().any(|f| &f.name == k));
    let fields = StoredFields {
        id: id.to_owned(),
        created_at,
        updated_at,
    };
    if let Ok(Json::Object(fields)) = serde_json::to_value(fields) {
        out.extend(fields);
    }
    Json::Object(out)
}

fn read_row(def: &TableDef, row: &Row) -> Result<Json> {
    let data: Json = serde_json::from_str(row.text(1)?)
        .map_err(|e| Error::internal_from(format!("stored row of {}", def.name()), e))?;
    Ok(output(def, row.text(0)?, data, row.int(2)?, row.int(3)?))
}
