//! Schema evolution: when an object opens, each declared table is brought to its declaration.
//!
//! What each object last applied is kept in `_userdo_tables` (fields with their defaults, and the
//! indexes); when the declaration differs, the differences are applied in one transaction and
//! recorded in the migration table under the namespace `table:{name}`:
//! - a new table is created; a table whose [`renamed_from`](super::TableRow::renamed_from) names
//!   an existing one is renamed, rows and all;
//! - a new field with a default is written into every existing row (so filters see it); a new
//!   optional field needs nothing; a new required field without a default is refused on a table
//!   that holds rows (a configuration error naming it);
//! - a field removed from the row type keeps its stored values (no data is lost) but is no
//!   longer shown or accepted;
//! - indexes are created and dropped to match the declaration.

use std::collections::HashMap;

use serde_json::{Value as Json, json};

use super::{Index, TableDef, Tables};
use crate::UserDo;
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::store::{Statement, Store, Value};

/// What the registry records of a table: field names with defaults, and index field lists.
fn record(def: &TableDef) -> Json {
    json!({
        "fields": def.fields().iter().map(|f| json!({ "name": f.name, "default": f.default })).collect::<Vec<_>>(),
        "indexes": def.indexes().iter().map(Index::fields).collect::<Vec<_>>(),
    })
}

struct Applied {
    fields: Vec<String>,
    indexes: Vec<Index>,
}

fn parse_record(text: &str) -> Result<Applied> {
    let value: Json =
        serde_json::from_str(text).map_err(|e| Error::internal_from("table registry", e))?;
    let fields = value["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let indexes = value["indexes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Json::as_array)
                .map(|fields| Index {
                    fields: fields
                        .iter()
                        .filter_map(|f| f.as_str().map(str::to_owned))
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Applied { fields, indexes })
}

impl<S: Store, P: Platform> UserDo<S, P> {
    /// Declares the application's tables: creates, renames and evolves each one in this object
    /// as its declaration says (see the module docs), then makes them available.
    pub fn with_tables(mut self, tables: Tables) -> Result<Self> {
        tables.check()?;
        let applied: HashMap<String, String> = self
            .store
            .query("SELECT name, schema FROM _userdo_tables", &[])?
            .iter()
            .map(|r| Ok((r.text(0)?.to_owned(), r.text(1)?.to_owned())))
            .collect::<Result<_>>()?;
        for def in tables.iter() {
            let wanted = record(def).to_string();
            if applied.get(def.name()) == Some(&wanted) {
                continue;
            }
            self.evolve(def, &tables, &applied, wanted)?;
        }
        self.tables = tables;
        Ok(self)
    }

    fn evolve(
        &self,
        def: &TableDef,
        tables: &Tables,
        applied: &HashMap<String, String>,
        wanted: String,
    ) -> Result<()> {
        let table = def.sql_table();
        let mut steps: Vec<Statement> = Vec::new();
        let mut notes: Vec<String> = Vec::new();
        let previous = match applied.get(def.name()) {
            Some(text) => Some(parse_record(text)?),
            None => match def
                .renamed_from
                .iter()
                .find(|old| applied.contains_key(*old) && tables.get(old).is_none())
            {
                Some(old) => {
                    let mut before = parse_record(&applied[old])?;
                    steps.push(Statement::new(
                        format!("ALTER TABLE \"_userdo_table_{old}\" RENAME TO \"{table}\""),
                        vec![],
                    ));
                    // Index names carry the table's name: drop them here, recreate them below.
                    for index in before.indexes.drain(..) {
                        steps.push(Statement::new(
                            format!("DROP INDEX IF EXISTS \"{}\"", index.sql_name(old)),
                            vec![],
                        ));
                    }
                    steps.push(Statement::new(
                        "DELETE FROM _userdo_tables WHERE name = ?",
                        vec![old.as_str().into()],
                    ));
                    notes.push(format!("rename from {old}"));
                    Some(before)
                }
                None => {
                    steps.push(Statement::new(
                        format!(
                            "CREATE TABLE IF NOT EXISTS \"{table}\" (
                                id TEXT PRIMARY KEY NOT NULL,
                                data TEXT NOT NULL,
                                created_at INTEGER NOT NULL,
                                updated_at INTEGER NOT NULL)"
                        ),
                        vec![],
                    ));
                    notes.push("create".into());
                    None
                }
            },
        };
        let (known_fields, known_indexes) = match &previous {
            Some(p) => (p.fields.clone(), p.indexes.clone()),
            None => (
                def.fields().iter().map(|f| f.name.clone()).collect(),
                Vec::new(),
            ),
        };
        for field in def
            .fields()
            .iter()
            .filter(|f| !known_fields.contains(&f.name))
        {
            match &field.default {
                Some(default) => {
                    // After a rename, that statement comes first in the batch: the new name is right.
                    steps.push(Statement::new(
                        format!(
                            "UPDATE \"{table}\" SET data = json_set(data, '$.{name}', json(?)) \
                             WHERE json_type(data, '$.{name}') IS NULL",
                            name = field.name
                        ),
                        vec![default.to_string().into()],
                    ));
                    notes.push(format!("add field {} with default {default}", field.name));
                }
                None if field.required && !field.nullable && previous.is_some() => {
                    let rows = self.store.query(
                        &format!(
                            "SELECT EXISTS (SELECT 1 FROM \"{}\")",
                            self.current_sql_table(def, applied)
                        ),
                        &[],
                    )?;
                    if rows.first().map(|r| r.int(0)).transpose()? == Some(1) {
                        return Err(Error::Config(format!(
                            "table {}: the new field {} is required and has no default, but the \
                             table holds rows: give it #[serde(default)] or make it an Option",
                            def.name(),
                            field.name
                        )));
                    }
                    notes.push(format!("add field {}", field.name));
                }
                None => notes.push(format!("add field {}", field.name)),
            }
        }
        for gone in known_fields
            .iter()
            .filter(|name| !def.fields().iter().any(|f| &f.name == *name))
        {
            notes.push(format!("drop field {gone} (stored values kept)"));
        }
        for index in def.indexes().iter().filter(|i| !known_indexes.contains(i)) {
            let columns = index
                .fields()
                .iter()
                .map(|f| def.field(f).map(super::Field::sql))
                .collect::<Result<Vec<_>>>()?
                .join(", ");
            steps.push(Statement::new(
                format!(
                    "CREATE INDEX IF NOT EXISTS \"{}\" ON \"{table}\" ({columns})",
                    index.sql_name(def.name())
                ),
                vec![],
            ));
            notes.push(format!("add index on {}", index.fields().join(", ")));
        }
        for index in known_indexes.iter().filter(|i| !def.indexes().contains(i)) {
            steps.push(Statement::new(
                format!("DROP INDEX IF EXISTS \"{}\"", index.sql_name(def.name())),
                vec![],
            ));
            notes.push(format!("drop index on {}", index.fields().join(", ")));
        }
        if notes.is_empty() {
            // Only a default or the order of the indexes changed: stored rows keep their values.
            notes.push("update the recorded declaration (stored rows unchanged)".into());
        }
        steps.push(Statement::new(
            "INSERT INTO _userdo_tables (name, schema) VALUES (?, ?) \
             ON CONFLICT (name) DO UPDATE SET schema = excluded.schema",
            vec![def.name().into(), wanted.into()],
        ));
        let namespace = format!("table:{}", def.name());
        steps.push(Statement::new(
            "INSERT INTO _userdo_migrations (namespace, version, name, applied_at) \
             SELECT ?, COALESCE(MAX(version), 0) + 1, ?, ? FROM _userdo_migrations WHERE namespace = ?",
            vec![
                namespace.as_str().into(),
                notes.join("; ").into(),
                Value::Integer(self.platform.now_ms()),
                namespace.as_str().into(),
            ],
        ));
        self.store.atomic(steps)?;
        Ok(())
    }

    /// The SQLite table that holds `def`'s rows before this evolution runs (the old name when it
    /// is being renamed).
    fn current_sql_table(&self, def: &TableDef, applied: &HashMap<String, String>) -> String {
        if applied.contains_key(def.name()) {
            return def.sql_table();
        }
        def.renamed_from
            .iter()
            .find(|old| applied.contains_key(*old))
            .map(|old| format!("_userdo_table_{old}"))
            .unwrap_or_else(|| def.sql_table())
    }
}
