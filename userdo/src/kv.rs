//! The per-user key-value store: any JSON value under a UTF-8 key, each change written together
//! with its change-feed event (`kv:{key}`).
//!
//! Keys are 1 to [`MAX_KEY_BYTES`] bytes and may not start with [`RESERVED_PREFIX`]; a value is
//! at most [`MAX_VALUE_BYTES`] as compact JSON. Keys are listed in byte order of their UTF-8,
//! which is Unicode code point order.

use crate::UserDo;
use crate::error::{Error, Result};
use crate::events::{Event, KvChange, KvOp};
use crate::platform::Platform;
use crate::store::{Statement, Store, Value};

/// The longest key, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 512;
/// The largest value, in bytes of its compact JSON serialisation (1 MiB).
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;
/// Keys that start with this are reserved for the framework.
pub const RESERVED_PREFIX: &str = "__";

/// Checks a key: 1 to [`MAX_KEY_BYTES`] bytes, not starting with [`RESERVED_PREFIX`]. A bad key is
/// a `validation_failed` error on the field `key`.
///
/// ```
/// assert!(userdo::kv::check_key("settings/theme").is_ok());
/// assert!(userdo::kv::check_key("__internal").is_err());
/// assert!(userdo::kv::check_key("").is_err());
/// ```
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(Error::field(
            "key",
            format!("must be 1 to {MAX_KEY_BYTES} bytes of UTF-8"),
        ));
    }
    if key.starts_with(RESERVED_PREFIX) {
        return Err(Error::field(
            "key",
            format!("keys starting with {RESERVED_PREFIX} are reserved"),
        ));
    }
    Ok(())
}

impl<S: Store, P: Platform> UserDo<S, P> {
    /// The value stored under `key`, or `None`.
    pub fn kv_get(&self, key: &str) -> Result<Option<serde_json::Value>> {
        check_key(key)?;
        let rows = self
            .store
            .query("SELECT value FROM _userdo_kv WHERE key = ?", &[key.into()])?;
        rows.first()
            .map(|row| {
                serde_json::from_str(row.text(0)?)
                    .map_err(|e| Error::internal_from("stored KV value", e))
            })
            .transpose()
    }

    /// Stores `value` under `key`, replacing any earlier value, and appends the event
    /// `kv:{key}` with `{"op": "put", key, value}` in the same write. Every put is a change
    /// (one event), also when the value is the same as before.
    ///
    /// A value larger than [`MAX_VALUE_BYTES`] is [`Error::PayloadTooLarge`]; nothing is written.
    pub fn kv_put(&self, key: &str, value: &serde_json::Value) -> Result<Event> {
        check_key(key)?;
        let text = value.to_string();
        if text.len() > MAX_VALUE_BYTES {
            return Err(Error::PayloadTooLarge {
                limit: MAX_VALUE_BYTES,
            });
        }
        let upsert = Statement::new(
            "INSERT INTO _userdo_kv (key, value, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            vec![
                key.into(),
                text.into(),
                Value::Integer(self.platform.now_ms()),
            ],
        );
        let data = KvChange {
            op: KvOp::Put,
            key: key.to_owned(),
            value: Some(value.clone()),
        }
        .to_data();
        let (_, event) = self.write_with_event(vec![upsert], format!("kv:{key}"), data)?;
        Ok(event)
    }

    /// Deletes `key` and appends the event `kv:{key}` with `{"op": "delete", key}` in the same
    /// write. Deleting a key that is not there succeeds, changes nothing and appends no event
    /// (`None`).
    pub fn kv_delete(&self, key: &str) -> Result<Option<Event>> {
        check_key(key)?;
        // Storage is synchronous and an object runs one request's synchronous code at a time, so
        // nothing can write the key between this read and the delete.
        let present = !self
            .store
            .query("SELECT 1 FROM _userdo_kv WHERE key = ?", &[key.into()])?
            .is_empty();
        if !present {
            return Ok(None);
        }
        let delete = Statement::new("DELETE FROM _userdo_kv WHERE key = ?", vec![key.into()]);
        let data = KvChange {
            op: KvOp::Delete,
            key: key.to_owned(),
            value: None,
        }
        .to_data();
        let (_, event) = self.write_with_event(vec![delete], format!("kv:{key}"), data)?;
        Ok(Some(event))
    }

    /// Every key, or those that start with `prefix` (compared as bytes: `%` and `_` are
    /// themselves, not patterns), in byte order of their UTF-8.
    pub fn kv_keys(&self, prefix: Option<&str>) -> Result<Vec<String>> {
        let rows = match prefix.filter(|p| !p.is_empty()) {
            None => self
                .store
                .query("SELECT key FROM _userdo_kv ORDER BY key", &[])?,
            // A range on the primary key: exact, and it uses the index (LIKE would be neither).
            Some(prefix) => match prefix_end(prefix) {
                Some(end) => self.store.query(
                    "SELECT key FROM _userdo_kv WHERE key >= ? AND key < ? ORDER BY key",
                    &[prefix.into(), end.into()],
                )?,
                None => self.store.query(
                    "SELECT key FROM _userdo_kv WHERE key >= ? ORDER BY key",
                    &[prefix.into()],
                )?,
            },
        };
        rows.iter().map(|row| Ok(row.text(0)?.to_owned())).collect()
    }
}

/// The most keys one page of [`UserDo::kv_page`] holds, and its default size.
pub const MAX_KEYS_PER_PAGE: usize = 1000;

/// One page of keys: the keys, and the `after` of the next page (`None` on the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPage {
    /// The keys, in byte order of their UTF-8.
    pub keys: Vec<String>,
    /// The last key of this page when more follow.
    pub next: Option<String>,
}

impl<S: Store, P: Platform> UserDo<S, P> {
    /// At most `limit` keys (1 to [`MAX_KEYS_PER_PAGE`]) that start with `prefix` and come after
    /// `after`, in byte order; `next` says where the next page starts.
    pub fn kv_page(
        &self,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<KeyPage> {
        let limit = limit.clamp(1, MAX_KEYS_PER_PAGE);
        let mut sql = String::from("SELECT key FROM _userdo_kv WHERE 1 = 1");
        let mut values: Vec<Value> = Vec::new();
        if let Some(prefix) = prefix.filter(|p| !p.is_empty()) {
            sql.push_str(" AND key >= ?");
            values.push(prefix.into());
            if let Some(end) = prefix_end(prefix) {
                sql.push_str(" AND key < ?");
                values.push(end.into());
            }
        }
        if let Some(after) = after {
            sql.push_str(" AND key > ?");
            values.push(after.into());
        }
        sql.push_str(" ORDER BY key LIMIT ?");
        values.push(Value::Integer(limit as i64 + 1));
        let mut keys = self
            .store
            .query(&sql, &values)?
            .iter()
            .map(|row| Ok(row.text(0)?.to_owned()))
            .collect::<Result<Vec<String>>>()?;
        let next = if keys.len() > limit {
            keys.truncate(limit);
            keys.last().cloned()
        } else {
            None
        };
        Ok(KeyPage { keys, next })
    }
}

/// The least string greater than every string that starts with `prefix`, or `None` when there is
/// none (every character of `prefix` is the last code point, U+10FFFF).
///
/// SQLite compares text as bytes, and the byte order of UTF-8 is code point order, so the keys
/// in `[prefix, prefix_end)` are exactly those that start with `prefix`.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            // The surrogates U+D800..=U+DFFF are not characters.
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn the_prefix_end_is_the_next_string_after_every_extension() {
        assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_end("a%").as_deref(), Some("a&"));
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}\u{10FFFF}"), None);
        assert_eq!(prefix_end("\u{0}").as_deref(), Some("\u{1}"));
    }
}
