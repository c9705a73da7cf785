//! Fixed-window rate limits over a [`Store`], exact because each counter lives in one Durable
//! Object. The runtime keeps them in a dedicated limiter object, keyed by client IP or by the
//! hash of an email (so an email with no account is limited exactly like one with an account).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::migrate::Migration;
use crate::store::{Store, Value};

/// The limiter's schema (migration namespace `"limits"`).
pub const MIGRATIONS: &[Migration] = crate::schema::LIMITS_MIGRATIONS;

/// At most `max` events per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limit {
    /// Events allowed in one window.
    pub max: u32,
    /// The window's length in seconds.
    pub window_secs: u32,
}

impl Limit {
    /// Parses `"MAX/SECONDS"`, for example `"10/900"`.
    pub fn parse(name: &str, raw: &str) -> Result<Self> {
        let parsed = raw.trim().split_once('/').and_then(|(max, secs)| {
            let max = max.trim().parse::<u32>().ok().filter(|m| *m > 0)?;
            let window_secs = secs
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|s| (1..=86_400 * 7).contains(s))?;
            Some(Limit { max, window_secs })
        });
        parsed.ok_or_else(|| {
            Error::Config(format!(
                "{name} must look like MAX/SECONDS, for example 10/900"
            ))
        })
    }
}

/// What a counter says about one more event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Whether the event is within the limit.
    pub allowed: bool,
    /// Seconds until the window ends (when `allowed` is false, an honest `Retry-After`).
    pub retry_after_secs: u64,
}

impl Decision {
    /// `Ok` when allowed, else `429 rate_limited` with `Retry-After`.
    pub fn into_result(self) -> Result<()> {
        if self.allowed {
            Ok(())
        } else {
            Err(Error::RateLimited {
                retry_after_secs: self.retry_after_secs.max(1),
            })
        }
    }
}

/// Checks `bucket` against `limit` at `now_ms`; when `count` is true, the event is counted first.
/// A window starts at the first event after the previous one ended.
pub fn check(
    store: &dyn Store,
    bucket: &str,
    limit: Limit,
    now_ms: i64,
    count: bool,
) -> Result<Decision> {
    let window_ms = i64::from(limit.window_secs) * 1000;
    let rows = store.query(
        "SELECT window_start, count FROM _userdo_rate WHERE bucket = ?",
        &[bucket.into()],
    )?;
    let (mut start, mut seen) = match rows.first() {
        Some(r) if r.int(0)? + window_ms > now_ms => (r.int(0)?, r.int(1)?),
        _ => (now_ms, 0),
    };
    if count {
        seen += 1;
        store.execute(
            "INSERT INTO _userdo_rate (bucket, window_start, count) VALUES (?, ?, ?)
             ON CONFLICT (bucket) DO UPDATE SET window_start = excluded.window_start, count = excluded.count",
            &[bucket.into(), Value::Integer(start), Value::Integer(seen)],
        )?;
    } else if seen == 0 {
        start = now_ms;
    }
    let remaining_ms = (start + window_ms - now_ms).max(0);
    Ok(Decision {
        // A counted event is allowed if it is within the limit; a peek, if one more would be.
        allowed: if count {
            seen <= i64::from(limit.max)
        } else {
            seen < i64::from(limit.max)
        },
        retry_after_secs: (remaining_ms as u64).div_ceil(1000),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::migrate;
    use crate::store::sqlite::SqliteStore;

    fn store() -> SqliteStore {
        let s = SqliteStore::in_memory().unwrap();
        migrate(&s, "limits", MIGRATIONS, 0).unwrap();
        s
    }

    const THREE_PER_10S: Limit = Limit {
        max: 3,
        window_secs: 10,
    };

    #[test]
    fn counts_up_to_the_limit_then_refuses_with_an_honest_retry_after() {
        let s = store();
        for t in [0, 1000, 2000] {
            assert!(check(&s, "ip:a", THREE_PER_10S, t, true).unwrap().allowed);
        }
        let refused = check(&s, "ip:a", THREE_PER_10S, 4_500, true).unwrap();
        assert!(!refused.allowed);
        assert_eq!(
            refused.retry_after_secs, 6,
            "the window started at 0 and ends at 10 s"
        );
        assert!(matches!(
            refused.into_result(),
            Err(Error::RateLimited {
                retry_after_secs: 6
            })
        ));
    }

    #[test]
    fn the_counter_resets_when_the_window_ends() {
        let s = store();
        for t in 0..4 {
            check(&s, "ip:a", THREE_PER_10S, t, true).unwrap();
        }
        assert!(
            !check(&s, "ip:a", THREE_PER_10S, 9_999, false)
                .unwrap()
                .allowed
        );
        assert!(
            check(&s, "ip:a", THREE_PER_10S, 10_000, true)
                .unwrap()
                .allowed
        );
    }

    #[test]
    fn buckets_are_independent_and_peeking_counts_nothing() {
        let s = store();
        for t in 0..3 {
            check(&s, "acct:x", THREE_PER_10S, t, true).unwrap();
        }
        assert!(
            !check(&s, "acct:x", THREE_PER_10S, 5, false)
                .unwrap()
                .allowed
        );
        for _ in 0..10 {
            assert!(
                check(&s, "acct:y", THREE_PER_10S, 5, false)
                    .unwrap()
                    .allowed
            );
        }
        assert!(check(&s, "acct:y", THREE_PER_10S, 5, true).unwrap().allowed);
    }

    #[test]
    fn limits_parse_from_max_slash_seconds() {
        assert_eq!(
            Limit::parse("X", " 10/900 ").unwrap(),
            Limit {
                max: 10,
                window_secs: 900
            }
        );
        for bad in ["", "10", "0/60", "10/0", "a/b", "10/-1"] {
            assert!(Limit::parse("X", bad).is_err(), "{bad:?}");
        }
    }
}
