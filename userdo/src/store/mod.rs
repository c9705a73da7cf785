//! The storage seam: a small synchronous SQL interface.
//!
//! Durable Object SQLite is synchronous (`ctx.storage.sql.exec`), and so is rusqlite, so the core runs
//! the same SQL on both. Values are always bound, never pasted into the statement text.

#[cfg(any(test, feature = "rusqlite"))]
pub mod sqlite;

use std::borrow::Cow;

/// A SQLite value, as bound to a statement or read from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit integer.
    Integer(i64),
    /// A 64-bit float.
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Integer(i64::from(v))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

/// One result row: its values in column order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Value>);

impl Row {
    /// The text in column `i`.
    pub fn text(&self, i: usize) -> Result<&str, StoreError> {
        match self.0.get(i) {
            Some(Value::Text(s)) => Ok(s),
            other => Err(StoreError(format!(
                "column {i}: expected text, got {other:?}"
            ))),
        }
    }

    /// The integer in column `i` (a whole-valued float is accepted: JavaScript has one number type).
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.0.get(i) {
            Some(Value::Integer(n)) => Ok(*n),
            Some(Value::Real(f)) if f.fract() == 0.0 => Ok(*f as i64),
            other => Err(StoreError(format!(
                "column {i}: expected integer, got {other:?}"
            ))),
        }
    }
}

/// A storage failure. Its text goes to the log, never to a client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// A statement with its bound values, for [`Store::atomic`].
#[derive(Debug, Clone)]
pub struct Statement {
    /// The SQL text, with `?` placeholders.
    pub sql: Cow<'static, str>,
    /// The values bound to the placeholders, in order.
    pub params: Vec<Value>,
}

impl Statement {
    /// A statement from SQL text and values.
    pub fn new(sql: impl Into<Cow<'static, str>>, params: Vec<Value>) -> Self {
        Self {
            sql: sql.into(),
            params,
        }
    }
}

/// Synchronous SQL storage: Durable Object SQLite in the runtime, rusqlite on the host.
pub trait Store {
    /// Runs one statement and returns every row it yields.
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;

    /// Runs one statement, discarding rows.
    fn execute(&self, sql: &str, params: &[Value]) -> Result<(), StoreError> {
        self.query(sql, params).map(drop)
    }

    /// Runs several statements as one transaction: all of them take effect or none does.
    /// Returns the rows of each statement.
    fn atomic(&self, statements: Vec<Statement>) -> Result<Vec<Vec<Row>>, StoreError>;

    /// Runs `body` in one transaction: every statement it runs, including nested `atomic` calls, commits together when it returns `true`; when it returns `false` or panics nothing it wrote remains. Returns whether it committed.
    fn transaction(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StoreError>;

    /// Runs a script of statements separated by `;` with no parameters (schema migrations).
    fn execute_script(&self, sql: &str) -> Result<(), StoreError> {
        let statements = sql
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Statement::new(s.to_owned(), Vec::new()))
            .collect();
        self.atomic(statements).map(drop)
    }
}

/// A boxed store is a store: the runtime and host tests open the same [`Core`](crate::Core)
/// over different stores.
impl<S: Store + ?Sized> Store for Box<S> {
    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        (**self).query(sql, params)
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<(), StoreError> {
        (**self).execute(sql, params)
    }

    fn atomic(&self, statements: Vec<Statement>) -> Result<Vec<Vec<Row>>, StoreError> {
        (**self).atomic(statements)
    }

    fn transaction(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StoreError> {
        (**self).transaction(body)
    }

    fn execute_script(&self, sql: &str) -> Result<(), StoreError> {
        (**self).execute_script(sql)
    }
}
