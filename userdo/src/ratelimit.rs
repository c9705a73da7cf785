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
    let (start, seen) = if count {
        // One statement: a window that has ended starts again at this event. SQLite evaluates
        // every SET expression with the row's values before the update.
        let rows = store.query(
            "INSERT INTO _userdo_rate (bucket, window_start, count) VALUES (?, ?, 1)
             ON CONFLICT (bucket) DO UPDATE SET
               window_start = CASE WHEN window_start + ? > ? THEN window_start ELSE ? END,
               count = CASE WHEN window_start + ? > ? THEN count + 1 ELSE 1 END
             RETURNING window_start, count",
            &[
                bucket.into(),
                Value::Integer(now_ms),
                Value::Integer(window_ms),
                Value::Integer(now_ms),
                Value::Integer(now_ms),
                Value::Integer(window_ms),
                Value::Integer(now_ms),
            ],
        )?;
        let row = rows
            .first()
            .ok_or_else(|| Error::internal("a rate counter upsert returned no row"))?;
        (row.int(0)?, row.int(1)?)
    } else {
        let rows = store.query(
            "SELECT window_start, count FROM _userdo_rate WHERE bucket = ?",
            &[bucket.into()],
        )?;
        match rows.first() {
            // A window with nothing in it (all refunded) would start at the next event.
            Some(r) if r.int(0)? + window_ms > now_ms && r.int(1)? > 0 => (r.int(0)?, r.int(1)?),
            _ => (now_ms, 0),
        }
    };
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

/// Takes back one counted event of `bucket` (a login that turned out right, say): the counter
/// goes down by one, never below zero.
pub fn refund(store: &dyn Store, bucket: &str) -> Result<()> {
    store.execute(
        "UPDATE _userdo_rate SET count = count - 1 WHERE bucket = ? AND count > 0",
        &[bucket.into()],
    )?;
    Ok(())
}

/// Forgets `bucket`'s counter: the next event starts a new window.
pub fn clear(store: &dyn Store, bucket: &str) -> Result<()> {
    store.execute(
        "DELETE FROM _userdo_rate WHERE bucket = ?",
        &[bucket.into()],
    )?;
    Ok(())
}

/// The name of a client's per-IP buckets, from its `CF-Connecting-IP`: an IPv4 address as it
/// is, an IPv6 address by its /64 (one customer's network holds 2^64 addresses), an IPv4-mapped
/// IPv6 address as the IPv4 address it maps. Requests without the header, or with one that is not
/// an address, share one bucket of their own.
pub fn client_key(ip: Option<&str>) -> String {
    use std::net::IpAddr;
    match ip.map(str::trim).and_then(|ip| ip.parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => format!("v4:{v4}"),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("v4:{v4}"),
            None => {
                let s = v6.segments();
                format!("v6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "no-client-ip".to_owned(),
    }
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
    #[test]
    fn a_refund_takes_back_one_event_and_a_clear_forgets_the_bucket() {
        let s = store();
        for t in 0..3 {
            check(&s, "acct:x", THREE_PER_10S, t, true).unwrap();
        }
        assert!(
            !check(&s, "acct:x", THREE_PER_10S, 5, false)
                .unwrap()
                .allowed
        );
        refund(&s, "acct:x").unwrap();
        assert!(
            check(&s, "acct:x", THREE_PER_10S, 5, false)
                .unwrap()
                .allowed
        );
        for _ in 0..5 {
            refund(&s, "acct:x").unwrap();
        }
        // Never below zero: three events fit again, not more.
        for t in 0..3 {
            assert!(
                check(&s, "acct:x", THREE_PER_10S, 6 + t, true)
                    .unwrap()
                    .allowed
            );
        }
        assert!(!check(&s, "acct:x", THREE_PER_10S, 9, true).unwrap().allowed);
        clear(&s, "acct:x").unwrap();
        assert!(
            check(&s, "acct:x", THREE_PER_10S, 10, true)
                .unwrap()
                .allowed
        );
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_clients_without_an_ip_share_one_bucket() {
        let a = client_key(Some("2001:db8:1:2:aaaa::1"));
        assert_eq!(a, "v6:2001:db8:1:2::/64");
        assert_eq!(client_key(Some("2001:db8:1:2:ffff:ffff:ffff:ffff")), a);
        assert_eq!(client_key(Some("2001:0db8:0001:0002::")), a);
        assert_ne!(client_key(Some("2001:db8:1:3::1")), a);
        assert_eq!(client_key(Some("203.0.113.7")), "v4:203.0.113.7");
        assert_eq!(client_key(Some("::ffff:203.0.113.7")), "v4:203.0.113.7");
        assert_ne!(
            client_key(Some("203.0.113.8")),
            client_key(Some("203.0.113.7"))
        );
        let none = client_key(None);
        assert_eq!(client_key(Some("not an address")), none);
        assert_eq!(client_key(Some("")), none);
        assert!(!none.starts_with("v4:") && !none.starts_with("v6:"));
    }

    /// The counter as it was written before its count became one upsert: a read, then a write.
    #[derive(Default)]
    struct Model {
        row: Option<(i64, i64)>,
    }

    impl Model {
        fn check(&mut self, limit: Limit, now: i64, count: bool) -> Decision {
            let window_ms = i64::from(limit.window_secs) * 1000;
            let (mut start, mut seen) = match self.row {
                Some((s, c)) if s + window_ms > now => (s, c),
                _ => (now, 0),
            };
            if count {
                seen += 1;
                self.row = Some((start, seen));
            } else if seen == 0 {
                start = now;
            }
            let remaining_ms = (start + window_ms - now).max(0);
            Decision {
                allowed: if count {
                    seen <= i64::from(limit.max)
                } else {
                    seen < i64::from(limit.max)
                },
                retry_after_secs: (remaining_ms as u64).div_ceil(1000),
            }
        }

        fn refund(&mut self) {
            if let Some((_, c)) = &mut self.row {
                *c = (*c - 1).max(0);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(crate::fuzzing::config(256))]

        /// Any sequence of counts, peeks, refunds and clears, at any spacing, decides as the
        /// read-then-write counter did.
        #[test]
        fn the_one_statement_count_decides_as_the_read_then_write_one(
            ops in proptest::collection::vec((0u8..8, 0i64..6_000), 1..60),
        ) {
            let s = store();
            let mut model = Model::default();
            let mut now = 1_000_000;
            for (op, wait) in ops {
                now += wait;
                match op {
                    0 => {
                        refund(&s, "b").unwrap();
                        model.refund();
                    }
                    1 => {
                        clear(&s, "b").unwrap();
                        model.row = None;
                    }
                    2 | 3 => proptest::prop_assert_eq!(
                        check(&s, "b", THREE_PER_10S, now, false).unwrap(),
                        model.check(THREE_PER_10S, now, false)
                    ),
                    _ => proptest::prop_assert_eq!(
                        check(&s, "b", THREE_PER_10S, now, true).unwrap(),
                        model.check(THREE_PER_10S, now, true)
                    ),
                }
            }
        }
    }
}
