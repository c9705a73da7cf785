//! Durable Object SQLite as a [`userdo::Store`], and the runtime's clock.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Reflect};
use userdo::store::{Row, Statement, Store, StoreError, Value};
use wasm_bindgen::closure::{Closure, ScopedClosure};
use wasm_bindgen::{JsCast, JsValue};
use worker::{SqlStorage, SqlStorageValue, Storage};

type AtomicResult = Result<Vec<Vec<Row>>, StoreError>;

/// The object's SQLite (`ctx.storage.sql`) as a [`Store`].
#[derive(Debug)]
pub struct DoStore {
    storage: Storage,
    sql: SqlStorage,
    /// Inside [`Store::transaction`]: nested `atomic` and `transaction` calls join it.
    in_transaction: Rc<Cell<bool>>,
}

impl DoStore {
    /// Wraps the object's storage.
    pub fn new(storage: Storage) -> Self {
        let sql = storage.sql();
        Self {
            storage,
            sql,
            in_transaction: Rc::default(),
        }
    }
}

fn run(sql: &SqlStorage, query: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
    let bindings = params.iter().map(to_sql).collect::<Vec<_>>();
    let cursor = sql
        .exec(query, bindings)
        .map_err(|e| StoreError(e.to_string()))?;
    cursor
        .raw()
        .map(|row| {
            row.map(|values| Row(values.into_iter().map(from_sql).collect()))
                .map_err(|e| StoreError(e.to_string()))
        })
        .collect()
}

impl DoStore {
    /// `ctx.storage.transactionSync`, which commits what its callback wrote when it returns and
    /// rolls it back when it throws.
    fn transaction_sync(&self) -> Result<Function, StoreError> {
        Reflect::get(self.storage.as_raw(), &JsValue::from_str("transactionSync"))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(|| StoreError("storage.transactionSync is not available".into()))
    }
}

impl Store for DoStore {
    /// Runs `body` inside `ctx.storage.transactionSync`; `false` throws, so everything it wrote
    /// is rolled back. A nested call runs `body` in the outer transaction.
    fn transaction(&self, body: &mut dyn FnMut() -> bool) -> Result<bool, StoreError> {
        if self.in_transaction.get() {
            return Ok(body());
        }
        let transaction_sync = self.transaction_sync()?;
        let mut committed = false;
        self.in_transaction.set(true);
        let outcome = {
            let mut run = || -> Result<JsValue, JsValue> {
                committed = body();
                if committed {
                    Ok(JsValue::UNDEFINED)
                } else {
                    Err(JsValue::from_str(
                        "userdo: transaction body failed, rolled back",
                    ))
                }
            };
            let callback =
                ScopedClosure::<dyn FnMut() -> Result<JsValue, JsValue>>::borrow_mut_aborting(
                    &mut run,
                );
            transaction_sync.call1(self.storage.as_raw(), callback.as_ref())
        };
        self.in_transaction.set(false);
        match outcome {
            Ok(_) => Ok(true),
            // The body asked for the rollback; its own error is the caller's to report.
            Err(_) if !committed => Ok(false),
            Err(e) => Err(StoreError(format!("transaction failed: {e:?}"))),
        }
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        run(&self.sql, sql, params)
    }

    /// Runs the statements inside `ctx.storage.transactionSync`, which rolls all of them back when
    /// one fails.
    fn atomic(&self, statements: Vec<Statement>) -> Result<Vec<Vec<Row>>, StoreError> {
        if self.in_transaction.get() {
            // Already inside one: a failure here fails the body, which rolls everything back.
            return statements
                .iter()
                .map(|s| run(&self.sql, &s.sql, &s.params))
                .collect();
        }
        let outcome: Rc<RefCell<Option<AtomicResult>>> = Rc::default();
        let sql = self.sql.clone();
        let slot = outcome.clone();
        let body = Closure::once(move || -> Result<JsValue, JsValue> {
            let mut results = Vec::with_capacity(statements.len());
            for statement in &statements {
                match run(&sql, &statement.sql, &statement.params) {
                    Ok(rows) => results.push(rows),
                    Err(e) => {
                        *slot.borrow_mut() = Some(Err(e));
                        // Throwing makes transactionSync roll back.
                        return Err(JsValue::from_str("userdo: statement failed, rolled back"));
                    }
                }
            }
            *slot.borrow_mut() = Some(Ok(results));
            Ok(JsValue::UNDEFINED)
        });
        let raw: &JsValue = self.storage.as_raw();
        let transaction_sync = Reflect::get(raw, &JsValue::from_str("transactionSync"))
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(|| StoreError("storage.transactionSync is not available".into()))?;
        let call = transaction_sync.call1(raw, body.as_ref());
        match outcome.borrow_mut().take() {
            Some(result) => result,
            None => Err(StoreError(format!("transaction did not run: {call:?}"))),
        }
    }
}

fn to_sql(v: &Value) -> SqlStorageValue {
    match v {
        Value::Null => SqlStorageValue::Null,
        Value::Integer(n) => SqlStorageValue::Integer(*n),
        Value::Real(f) => SqlStorageValue::Float(*f),
        Value::Text(s) => SqlStorageValue::String(s.clone()),
        Value::Blob(b) => SqlStorageValue::Blob(b.clone()),
    }
}

fn from_sql(v: SqlStorageValue) -> Value {
    match v {
        SqlStorageValue::Null => Value::Null,
        SqlStorageValue::Boolean(b) => Value::Integer(i64::from(b)),
        SqlStorageValue::Integer(n) => Value::Integer(n),
        SqlStorageValue::Float(f) => Value::Real(f),
        SqlStorageValue::String(s) => Value::Text(s),
        SqlStorageValue::Blob(b) => Value::Blob(b),
    }
}

/// The runtime's clock (`Date.now()`) and randomness (`crypto.getRandomValues`).
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerPlatform;

impl userdo::Platform for WorkerPlatform {
    fn now_ms(&self) -> i64 {
        js_sys::Date::now() as i64
    }
}
