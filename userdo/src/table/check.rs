//! Whether a declaration of tables can work, found without opening any store: so that a mistake
//! is one configuration error naming the table and the field, not a 500 on every request.

use std::collections::HashMap;

use super::schema::{self, FieldKind};
use super::{TableDef, Tables};
use crate::error::{Error, Result};

impl Tables {
    /// Every problem of this declaration at once, as one configuration error: names that are not
    /// plain identifiers, fields the server owns, a table declared twice, indexes that are empty,
    /// repeated, on unknown fields or on values that cannot be indexed, and
    /// [`renamed_from`](super::TableRow::renamed_from) names that are invalid, the table's own,
    /// or claimed by two tables (when no declared table has that name). Each message names its table, for example
    /// `table todos: index on unknown field "dun"`.
    ///
    /// [`UserDo::with_tables`](crate::UserDo::with_tables) calls this before it touches storage.
    pub fn check(&self) -> Result<()> {
        let mut problems = self.errors.clone();
        let mut renamed: HashMap<&str, &str> = HashMap::new();
        let mut index_names: HashMap<String, &str> = HashMap::new();
        for def in &self.defs {
            for old in &def.renamed_from {
                // A declared table of the old name is a new table: no rename happens then.
                if self.get(old).is_some() {
                    continue;
                }
                if let Some(first) = renamed.insert(old, &def.name) {
                    problems.push(format!(
                        "table {}: renamed_from {old:?} is claimed by table {first} too",
                        def.name
                    ));
                }
            }
            for index in &def.indexes {
                let name = index.sql_name(&def.name);
                if let Some(other) = index_names.insert(name.clone(), &def.name)
                    && other != def.name
                {
                    problems.push(format!(
                        "table {}: the index on {} has the same SQLite name as one of table {other} ({name})",
                        def.name,
                        index.fields.join(", ")
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(problems.join("; ")))
        }
    }
}

/// What is wrong with one table's declaration on its own (its name and fields were read already).
pub(super) fn problems_of(def: &TableDef) -> Vec<String> {
    let name = &def.name;
    let mut problems = Vec::new();
    for (position, index) in def.indexes.iter().enumerate() {
        if index.fields.is_empty() {
            problems.push(format!("table {name}: an index needs a field"));
        }
        if def.indexes[..position].contains(index) {
            problems.push(format!(
                "table {name}: the index on {} is declared twice",
                index.fields.join(", ")
            ));
        }
        for field in &index.fields {
            match def.field(field) {
                Err(_) => problems.push(format!("table {name}: index on unknown field {field:?}")),
                Ok(f) if f.kind == FieldKind::Json => problems.push(format!(
                    "table {name}: {field} is not a plain value and cannot be indexed"
                )),
                Ok(_) => {}
            }
        }
    }
    for old in &def.renamed_from {
        if !schema::is_plain_name(old) {
            problems.push(format!(
                "table {name}: renamed_from {old:?} must be letters, digits and _ (not starting with a digit)"
            ));
        } else if old == name {
            problems.push(format!("table {name}: renamed_from names the table itself"));
        }
    }
    problems
}
