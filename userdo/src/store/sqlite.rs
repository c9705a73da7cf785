//! A [`Store`] over rusqlite, for host tests and tools. Its bundled SQLite speaks the same dialect
//! as Durable Object SQLite.

use rusqlite::{Connection, types::ValueRef};

use super::{Row, Statement, Store, StoreError, Value};

/// A rusqlite connection as a [`Store`].
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// A fresh in-memory database.
    pub fn in_memory() -> Result<Self, StoreError> {
        Connection::open_in_memory()
            .map(Self::from_connection)
            .map_err(err)
    }

    /// Wraps an open connection.
    pub fn from_connection(conn: Connection) -> Self {
        Self { conn }
    }

    /// The underlying connection (for `EXPLAIN QUERY PLAN` and other inspection in tests).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn run(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(err)?;
        let columns = stmt.column_count();
        let bound = params.iter().map(to_sql).collect::<Vec<_>>();
        let mut rows = stmt.query(rusqlite::params_from_iter(bound)).map_err(err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(err)? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(from_sql(row.get_ref(i).map_err(err)?));
            }
            out.push(Row(values));
        }
        Ok(out)
    }
}

impl Store for SqliteStore {
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        self.run(sql, params)
    }

    fn atomic(&self, statements: Vec<Statement>) -> Result<Vec<Vec<Row>>, StoreError> {
        self.conn
            .execute_batch("SAVEPOINT userdo_atomic")
            .map_err(err)?;
        let result: Result<Vec<_>, _> = statements
            .iter()
            .map(|s| self.run(&s.sql, &s.params))
            .collect();
        let end = if result.is_ok() {
            "RELEASE userdo_atomic"
        } else {
            "ROLLBACK TO userdo_atomic; RELEASE userdo_atomic"
        };
        self.conn.execute_batch(end).map_err(err)?;
        result
    }

    /// A savepoint around `body`: SQLite nests savepoints, so each `atomic` inside opens and
    /// releases its own within this one, and rolling this one back undoes them all.
    fn transaction(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StoreError> {
        self.conn
            .execute_batch("SAVEPOINT userdo_transaction")
            .map_err(err)?;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
        let commit = matches!(outcome, Ok(true));
        let end = if commit {
            "RELEASE userdo_transaction"
        } else {
            "ROLLBACK TO userdo_transaction; RELEASE userdo_transaction"
        };
        let ended = self.conn.execute_batch(end).map_err(err);
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
        ended.map(|()| commit)
    }
}

fn err(e: rusqlite::Error) -> StoreError {
    StoreError(e.to_string())
}

fn to_sql(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match v {
        Value::Null => V::Null,
        Value::Integer(n) => V::Integer(*n),
        Value::Real(f) => V::Real(*f),
        Value::Text(s) => V::Text(s.clone()),
        Value::Blob(b) => V::Blob(b.clone()),
    }
}

fn from_sql(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => Value::Integer(n),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_rolls_back_every_statement_when_one_fails() {
        let store = SqliteStore::in_memory().unwrap();
        store
            .execute("CREATE TABLE t (x INTEGER PRIMARY KEY)", &[])
            .unwrap();
        let result = store.atomic(vec![
            Statement::new("INSERT INTO t (x) VALUES (?)", vec![1.into()]),
            Statement::new("INSERT INTO t (x) VALUES (?)", vec![1.into()]),
        ]);
        assert!(result.is_err());
        assert!(store.query("SELECT x FROM t", &[]).unwrap().is_empty());
    }

    fn with_table() -> SqliteStore {
        let store = SqliteStore::in_memory().unwrap();
        store
            .execute("CREATE TABLE t (x INTEGER PRIMARY KEY)", &[])
            .unwrap();
        store
    }

    fn insert(store: &SqliteStore, x: i64) -> Result<Vec<Vec<Row>>, StoreError> {
        store.atomic(vec![Statement::new(
            "INSERT INTO t (x) VALUES (?)",
            vec![x.into()],
        )])
    }

    fn xs(store: &SqliteStore) -> Vec<i64> {
        store
            .query("SELECT x FROM t ORDER BY x", &[])
            .unwrap()
            .iter()
            .map(|r| r.int(0).unwrap())
            .collect()
    }

    #[test]
    fn a_transaction_that_returns_true_commits_everything_it_ran() {
        let store = with_table();
        let committed = store
            .transaction(&mut || {
                store.execute("INSERT INTO t (x) VALUES (1)", &[]).unwrap();
                insert(&store, 2).unwrap();
                true
            })
            .unwrap();
        assert!(committed);
        assert_eq!(xs(&store), [1, 2]);
    }

    #[test]
    fn a_transaction_that_returns_false_leaves_nothing_nested_atomics_included() {
        let store = with_table();
        insert(&store, 9).unwrap();
        let committed = store
            .transaction(&mut || {
                store.execute("INSERT INTO t (x) VALUES (1)", &[]).unwrap();
                insert(&store, 2).unwrap();
                // A failing nested atomic undoes only itself; the rest is still pending.
                assert!(insert(&store, 2).is_err());
                assert_eq!(xs(&store), [1, 2, 9]);
                false
            })
            .unwrap();
        assert!(!committed);
        assert_eq!(xs(&store), [9]);
        // The connection is usable afterwards, outside any transaction.
        insert(&store, 3).unwrap();
        assert_eq!(xs(&store), [3, 9]);
    }

    #[test]
    fn a_transaction_whose_body_panics_leaves_nothing_and_the_panic_goes_on() {
        let store = with_table();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.transaction(&mut || {
                insert(&store, 1).unwrap();
                panic!("in the body");
            })
        }));
        assert!(caught.is_err());
        assert!(xs(&store).is_empty());
        insert(&store, 2).unwrap();
        assert_eq!(xs(&store), [2]);
    }
}
