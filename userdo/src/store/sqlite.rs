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
}
