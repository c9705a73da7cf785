//! The change feed: every change to a table row or a KV key appends one event to the user's log,
//! in the same atomic write as the change, so no change is without its event and no event without
//! its change.
//!
//! `seq` grows by one per event and is never reused, also after old events are pruned: it comes
//! from a counter row, not from the log's highest entry. The log keeps at least the last
//! [`KEEP_EVENTS`] events and every event younger than [`KEEP_MS`], but never more than
//! `EVENT_LOG_MAX_BYTES` of event data ([`Settings::event_log_max_bytes`](crate::Settings)): a
//! replay from before what is kept answers resync.

use std::cell::RefCell;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::UserDo;
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::store::{Row, Statement, Store, Value};

/// The log always keeps at least this many of the newest events...
pub const KEEP_EVENTS: i64 = 1000;
/// ...and every event younger than this (24 hours).
pub const KEEP_MS: i64 = 24 * 60 * 60 * 1000;
/// Pruning runs on every this-many-th event, so a write does not pay for it each time.
const PRUNE_EVERY: i64 = 64;

/// One entry of the change feed, as the WebSocket delivers it: `{seq, event, data, ts}`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Event {
    /// Position in this user's feed: one more than the previous event.
    pub seq: i64,
    /// `kv:{key}`, `table:{table}`, `app:{name}`, or in an organization's feed `members`.
    pub event: String,
    /// What changed: a [`KvChange`] or a [`TableChange`].
    pub data: serde_json::Value,
    /// When, in milliseconds since the Unix epoch.
    pub ts: i64,
}

/// The `data` of a `kv:{key}` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KvChange {
    /// `put` or `delete`.
    pub op: KvOp,
    /// The key.
    pub key: String,
    /// The new value (for `put`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum KvOp {
    /// The key was written.
    Put,
    /// The key was deleted.
    Delete,
}

/// The `data` of a `table:{name}` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TableChange {
    /// `create`, `update` or `delete`.
    pub op: TableOp,
    /// The row's id.
    pub id: String,
    /// The stored row, `{id, ...fields, createdAt, updatedAt}` (for `create` and `update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<serde_json::Value>,
}

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TableOp {
    /// The row was created.
    Create,
    /// The row was changed.
    Update,
    /// The row was deleted.
    Delete,
}

impl KvChange {
    /// As event data.
    pub(crate) fn to_data(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl TableChange {
    /// As event data.
    pub(crate) fn to_data(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// What [`UserDo::events_since`] finds.
#[derive(Debug, Clone, PartialEq)]
pub enum Since {
    /// Every event after the given `seq`, in order (possibly none).
    Events(Vec<Event>),
    /// Events after the given `seq` are no longer all held: the client must reload. `seq` is the
    /// newest event's.
    Resync {
        /// The newest `seq`.
        seq: i64,
    },
}

/// Events appended during the current request, waiting to be delivered by the runtime.
#[derive(Debug, Default)]
pub(crate) struct Emitted(RefCell<Vec<Event>>);

impl Emitted {
    /// How many events are queued.
    pub(crate) fn len(&self) -> usize {
        self.0.borrow().len()
    }

    /// Drops the events queued after the first `len`: their writes were rolled back.
    pub(crate) fn truncate(&self, len: usize) {
        self.0.borrow_mut().truncate(len);
    }

    /// A guard over the events queued from now on, for writes inside a transaction: unless
    /// [`kept`](QueuedSince::keep) (the transaction committed), they are dropped with it.
    pub(crate) fn queued_from_here(&self) -> QueuedSince<'_> {
        QueuedSince {
            emitted: self,
            len: self.len(),
            keep: false,
        }
    }
}

/// The events queued after the first `len`: dropped when this goes out of scope, unless kept.
pub(crate) struct QueuedSince<'a> {
    emitted: &'a Emitted,
    len: usize,
    keep: bool,
}

impl QueuedSince<'_> {
    /// Their writes committed: they stay queued for delivery.
    pub(crate) fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for QueuedSince<'_> {
    fn drop(&mut self) {
        if !self.keep {
            self.emitted.truncate(self.len);
        }
    }
}

impl<S: Store, P: Platform> UserDo<S, P> {
    /// Runs `changes` and appends the event `name` with `data`, all in one transaction. Returns the
    /// rows of each change statement and the event. The event is also queued for
    /// [`take_events`](Self::take_events).
    pub(crate) fn write_with_event(
        &self,
        mut changes: Vec<Statement>,
        name: String,
        data: serde_json::Value,
    ) -> Result<(Vec<Vec<Row>>, Event)> {
        let ts = self.platform.now_ms();
        let text = data.to_string();
        let size = i64::try_from(text.len()).unwrap_or(i64::MAX);
        let count = changes.len();
        changes.push(Statement::new(
            "UPDATE _userdo_seq SET seq = seq + 1, bytes = bytes + ? WHERE id = 1 RETURNING bytes",
            vec![Value::Integer(size)],
        ));
        changes.push(Statement::new(
            "INSERT INTO _userdo_events (seq, event, data, ts, size) \
             SELECT seq, ?, ?, ?, ? FROM _userdo_seq WHERE id = 1 RETURNING seq",
            vec![
                name.as_str().into(),
                text.into(),
                Value::Integer(ts),
                Value::Integer(size),
            ],
        ));
        let mut rows = self.store.atomic(changes)?;
        let seq = rows
            .last()
            .and_then(|r| r.first())
            .map(|r| r.int(0))
            .transpose()?
            .ok_or_else(|| Error::internal("the event log returned no seq"))?;
        let bytes = rows
            .get(count)
            .and_then(|r| r.first())
            .map(|r| r.int(0))
            .transpose()?
            .unwrap_or(0);
        rows.truncate(count);
        self.prune_events(seq, ts, bytes)?;
        let event = Event {
            seq,
            event: name,
            data,
            ts,
        };
        self.emitted.0.borrow_mut().push(event.clone());
        Ok((rows, event))
    }

    /// Appends the application's own event `app:{name}` with `data` to the change feed; it is
    /// delivered to the user's sockets like the framework's. `name` is 1 to 64 characters of
    /// `[A-Za-z0-9_.:-]`.
    pub fn publish_app_event(&self, name: &str, data: serde_json::Value) -> Result<Event> {
        let valid = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
        if !valid {
            return Err(Error::Config(format!(
                "app event name {name:?}: 1 to 64 characters of [A-Za-z0-9_.:-]"
            )));
        }
        let (_, event) = self.write_with_event(Vec::new(), format!("app:{name}"), data)?;
        Ok(event)
    }

    /// Keeps the log within its bounds after the event `seq`: now and then, the events both older
    /// than [`KEEP_MS`] and beyond the newest [`KEEP_EVENTS`]; and whenever the log holds more
    /// than `EVENT_LOG_MAX_BYTES` of data, the oldest until it does not.
    fn prune_events(&self, seq: i64, ts: i64, bytes: i64) -> Result<()> {
        let freed = |rows: Vec<Row>| -> Result<i64> {
            let mut total = 0;
            for row in &rows {
                total += row.int(0)?;
            }
            Ok(total)
        };
        let mut released = 0;
        if seq % PRUNE_EVERY == 0 {
            released += freed(self.store.query(
                "DELETE FROM _userdo_events WHERE seq <= ? AND ts < ? RETURNING size",
                &[
                    Value::Integer(seq - KEEP_EVENTS),
                    Value::Integer(ts - KEEP_MS),
                ],
            )?)?;
        }
        let max = self.settings.event_log_max_bytes;
        // The newest events whose sizes add up to at most `max` stay; every older one goes. Found
        // from the oldest end by the seq index, a page at a time: a write costs the few events it
        // pushes out, not a pass over the whole log (a window over it made every write of a user
        // at the bound scan some 100,000 events).
        let mut excess = bytes - released - max;
        while excess > 0 {
            let oldest = self.store.query(
                "SELECT seq, size FROM _userdo_events ORDER BY seq LIMIT 256",
                &[],
            )?;
            let mut last = None;
            let mut freed_now = 0;
            for row in &oldest {
                freed_now += row.int(1)?;
                last = Some(row.int(0)?);
                if freed_now >= excess {
                    break;
                }
            }
            let Some(last) = last else { break };
            self.store.execute(
                "DELETE FROM _userdo_events WHERE seq <= ?",
                &[Value::Integer(last)],
            )?;
            released += freed_now;
            excess -= freed_now;
        }
        if released > 0 {
            self.store.execute(
                "UPDATE _userdo_seq SET bytes = MAX(bytes - ?, 0) WHERE id = 1",
                &[Value::Integer(released)],
            )?;
        }
        Ok(())
    }

    /// The events appended since the last call, oldest first, for delivery to open sockets.
    pub fn take_events(&self) -> Vec<Event> {
        std::mem::take(&mut *self.emitted.0.borrow_mut())
    }

    /// The newest `seq` (0 before the first event).
    pub fn last_seq(&self) -> Result<i64> {
        let rows = self
            .store
            .query("SELECT seq FROM _userdo_seq WHERE id = 1", &[])?;
        Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0))
    }

    /// The events after `seq`, oldest first, at most `limit` of them; or [`Since::Resync`] when
    /// some of them were pruned (or `seq` lies in the future, as after the account was deleted
    /// and created anew).
    pub fn events_since(&self, seq: i64, limit: usize) -> Result<Since> {
        let last = self.last_seq()?;
        if seq > last || seq < 0 {
            return Ok(Since::Resync { seq: last });
        }
        if seq == last {
            return Ok(Since::Events(Vec::new()));
        }
        let oldest = self
            .store
            .query("SELECT MIN(seq) FROM _userdo_events", &[])?
            .first()
            .and_then(|r| r.int(0).ok());
        if oldest.is_none_or(|oldest| oldest > seq + 1) {
            return Ok(Since::Resync { seq: last });
        }
        let rows = self.store.query(
            "SELECT seq, event, data, ts FROM _userdo_events WHERE seq > ? ORDER BY seq LIMIT ?",
            &[
                Value::Integer(seq),
                Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)),
            ],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Event {
                    seq: r.int(0)?,
                    event: r.text(1)?.to_owned(),
                    data: serde_json::from_str(r.text(2)?)
                        .map_err(|e| Error::internal_from("event data", e))?,
                    ts: r.int(3)?,
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Since::Events)
    }
}
