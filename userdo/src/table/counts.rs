//! The list endpoint's counts, remembered while nothing in the object's database has changed.
//!
//! A list answers `{rows, count}`, and on a large table the count (up to its cap) is most of a
//! list's work: 10,000 index steps, about 1 ms, against 0.02 ms for a page of 20 rows (issue 14,
//! `node bench/query-sql.mjs`). Pages of one filter (another offset, another order) and repeated
//! polls ask the same count again, so it is kept with the value of SQLite's `total_changes()` at
//! the time: the number of rows every `INSERT`, `UPDATE` and `DELETE` of this connection has
//! touched, triggers included, rolled back or not. While it is unchanged no row of any table has
//! changed, whoever wrote (the framework, the application's SQL, the runtime's key-value API), so
//! the remembered count is the count. The memory is this instance's: a new instance (after an
//! eviction) and a deleted account (its core is dropped) start empty.

use std::cell::RefCell;

use crate::error::Result;
use crate::store::{Store, Value};

/// How many distinct counts are kept at once; the oldest goes first.
const ENTRIES: usize = 32;

/// Counts keyed by their statement and values, valid for one value of `total_changes()`.
#[derive(Debug, Default)]
pub(crate) struct CountCache {
    inner: RefCell<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    changes: Option<i64>,
    entries: Vec<(String, Vec<Value>, (i64, bool))>,
}

impl CountCache {
    /// The count of `sql` with `params`, from memory while the database is unchanged since it
    /// was counted, else from `count` (and remembered).
    pub(crate) fn get_or_count(
        &self,
        store: &dyn Store,
        sql: &str,
        params: &[Value],
        count: impl FnOnce() -> Result<(i64, bool)>,
    ) -> Result<(i64, bool)> {
        let changes = store
            .query("SELECT total_changes()", &[])?
            .first()
            .map(|r| r.int(0))
            .transpose()?
            .unwrap_or(0);
        {
            let mut inner = self.inner.borrow_mut();
            if inner.changes != Some(changes) {
                inner.changes = Some(changes);
                inner.entries.clear();
            }
            if let Some((_, _, hit)) = inner
                .entries
                .iter()
                .find(|(s, p, _)| s == sql && p.as_slice() == params)
            {
                return Ok(*hit);
            }
        }
        let counted = count()?;
        let mut inner = self.inner.borrow_mut();
        if inner.entries.len() == ENTRIES {
            inner.entries.remove(0);
        }
        inner
            .entries
            .push((sql.to_owned(), params.to_vec(), counted));
        Ok(counted)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::cell::Cell;

    use super::*;
    use crate::store::sqlite::SqliteStore;

    const COUNT: &str = "SELECT COUNT(*) FROM t WHERE x = ?";

    #[test]
    fn a_count_is_asked_again_only_after_a_change() {
        let store = SqliteStore::in_memory().unwrap();
        store.execute("CREATE TABLE t (x INTEGER)", &[]).unwrap();
        store
            .execute("INSERT INTO t VALUES (1), (1), (2)", &[])
            .unwrap();
        let cache = CountCache::default();
        let asked = Cell::new(0);
        let count = |x: i64| {
            cache
                .get_or_count(&store, COUNT, &[Value::Integer(x)], || {
                    asked.set(asked.get() + 1);
                    let rows = store.query(COUNT, &[Value::Integer(x)])?;
                    Ok((rows[0].int(0)?, false))
                })
                .unwrap()
        };
        assert_eq!((count(1), asked.get()), ((2, false), 1));
        assert_eq!((count(1), asked.get()), ((2, false), 1), "remembered");
        assert_eq!(
            (count(2), asked.get()),
            ((1, false), 2),
            "other values, another count"
        );
        // Any write, to any table, by anyone: counted again.
        store.execute("INSERT INTO t VALUES (1)", &[]).unwrap();
        assert_eq!((count(1), asked.get()), ((3, false), 3));
        store
            .execute("UPDATE t SET x = 2 WHERE x = 1", &[])
            .unwrap();
        assert_eq!((count(1), asked.get()), ((0, false), 4));
        assert_eq!((count(2), asked.get()), ((4, false), 5));
        store.execute("CREATE TABLE u (y)", &[]).unwrap();
        store.execute("INSERT INTO u VALUES (1)", &[]).unwrap();
        assert_eq!((count(2), asked.get()), ((4, false), 6));
        store.execute("DELETE FROM t", &[]).unwrap();
        assert_eq!((count(2), asked.get()), ((0, false), 7));
        // A write that was rolled back counts as a change too (a recount, never a stale one).
        let conn = store.connection();
        conn.execute_batch("BEGIN; INSERT INTO t VALUES (2); ROLLBACK;")
            .unwrap();
        assert_eq!((count(2), asked.get()), ((0, false), 8));
        assert_eq!((count(2), asked.get()), ((0, false), 8));
    }

    #[test]
    fn at_most_32_counts_are_kept() {
        let store = SqliteStore::in_memory().unwrap();
        let cache = CountCache::default();
        let asked = Cell::new(0);
        let count = |x: i64| {
            cache
                .get_or_count(&store, "SELECT ?", &[Value::Integer(x)], || {
                    asked.set(asked.get() + 1);
                    Ok((x, false))
                })
                .unwrap()
        };
        for x in 0..=ENTRIES as i64 {
            assert_eq!(count(x), (x, false));
        }
        assert_eq!(asked.get(), ENTRIES + 1);
        assert_eq!(count(ENTRIES as i64), (ENTRIES as i64, false));
        assert_eq!(asked.get(), ENTRIES + 1, "the newest is kept");
        assert_eq!(count(0), (0, false));
        assert_eq!(asked.get(), ENTRIES + 2, "the oldest went first");
    }
}
