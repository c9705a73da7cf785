//! Schema migrations of the object's SQLite, tracked in a table of their own
//! (`PRAGMA user_version` is not available in Durable Objects).

use crate::error::Result;
use crate::store::{Statement, Store, Value};

/// One schema change: applied once, in order, within its namespace.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The position in its namespace, starting at 1.
    pub version: i64,
    /// A short description, kept in the migration table.
    pub name: &'static str,
    /// Statements separated by `;`.
    pub sql: &'static str,
}

const CREATE_TRACKING: &str = "CREATE TABLE IF NOT EXISTS _userdo_migrations (
    namespace TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, version)
)";

/// Applies the migrations of `namespace` that are not applied yet, each atomically with its record.
/// Returns how many were applied.
pub fn migrate(
    store: &dyn Store,
    namespace: &str,
    migrations: &[Migration],
    now_ms: i64,
) -> Result<usize> {
    store.execute(CREATE_TRACKING, &[])?;
    let rows = store.query(
        "SELECT COALESCE(MAX(version), 0) FROM _userdo_migrations WHERE namespace = ?",
        &[namespace.into()],
    )?;
    let current = rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
    let mut applied = 0;
    for m in migrations.iter().filter(|m| m.version > current) {
        let mut statements: Vec<Statement> = m
            .sql
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Statement::new(s.to_owned(), Vec::new()))
            .collect();
        statements.push(Statement::new(
            "INSERT INTO _userdo_migrations (namespace, version, name, applied_at) VALUES (?, ?, ?, ?)",
            vec![namespace.into(), m.version.into(), m.name.into(), Value::Integer(now_ms)],
        ));
        store.atomic(statements)?;
        applied += 1;
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    const STEPS: &[Migration] = &[
        Migration {
            version: 1,
            name: "create",
            sql: "CREATE TABLE a (x INTEGER)",
        },
        Migration {
            version: 2,
            name: "add column",
            sql: "ALTER TABLE a ADD COLUMN y TEXT DEFAULT 'z'",
        },
    ];

    #[test]
    fn applies_each_migration_once_and_in_order() {
        let store = SqliteStore::in_memory().unwrap();
        assert_eq!(migrate(&store, "app", &STEPS[..1], 1).unwrap(), 1);
        store.execute("INSERT INTO a (x) VALUES (1)", &[]).unwrap();
        assert_eq!(migrate(&store, "app", STEPS, 2).unwrap(), 1);
        assert_eq!(migrate(&store, "app", STEPS, 3).unwrap(), 0);
        let rows = store.query("SELECT x, y FROM a", &[]).unwrap();
        assert_eq!(rows[0].text(1).unwrap(), "z");
        // Namespaces are independent.
        assert_eq!(migrate(&store, "other", &[], 4).unwrap(), 0);
    }

    #[test]
    fn a_failing_migration_leaves_no_trace() {
        let store = SqliteStore::in_memory().unwrap();
        let bad = [Migration {
            version: 1,
            name: "bad",
            sql: "CREATE TABLE b (x); NOT SQL",
        }];
        assert!(migrate(&store, "app", &bad, 1).is_err());
        let tables = store
            .query("SELECT name FROM sqlite_master WHERE name = 'b'", &[])
            .unwrap();
        assert!(tables.is_empty());
    }
}
