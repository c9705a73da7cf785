//! The account's failed-login counter, kept in the account's own object (whether or not the email
//! has an account) and counted in the same trip as the password check it guards. The worker
//! counts the per-IP limits in the limiter objects; this one counter lives here because every
//! call it guards comes here anyway, which saves a login two Durable Object round trips (the
//! count before and the refund after). It is as exact as the limiter's: the object runs one
//! event at a time, and the count is written before the call's first wait.

use userdo::ratelimit::{self, Limit};
use userdo::{Platform, Result, migrate};

use super::UserDoObject;
use crate::app::UserApp;
use crate::hop::Call;
use crate::routes::RateBucket;
use crate::store::{DoStore, WorkerPlatform};

/// The one counter of this object (its table keys counters by name, as the limiter's does).
const BUCKET: &str = "login-failures";

/// What a call does to the counter, from the route table's rate bucket of its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FailureCheck {
    /// Not a password check.
    None,
    /// A password check: counted as a failure before it runs, refunded unless it was one (401).
    Counted,
    /// A password reset: a success lifts the lock.
    ClearOnSuccess,
}

impl<A: UserApp> UserDoObject<A> {
    /// Counts `call` against `limit` (the worker sends it when limits are on) before it runs:
    /// `Err(429)` when the account is over it, and the call must not run.
    pub(super) fn count_failure(&self, call: &Call, limit: Option<Limit>) -> Result<FailureCheck> {
        let Some(limit) = limit else {
            return Ok(FailureCheck::None);
        };
        let bucket = call.endpoint().and_then(|e| e.route().limit);
        match bucket {
            Some(RateBucket::Login | RateBucket::Password) => {
                let store = self.failure_store()?;
                ratelimit::check(&store, BUCKET, limit, WorkerPlatform.now_ms(), true)?
                    .into_result()?;
                Ok(FailureCheck::Counted)
            }
            Some(RateBucket::Unlock) => Ok(FailureCheck::ClearOnSuccess),
            _ => Ok(FailureCheck::None),
        }
    }

    /// After the call answered `status`: refunds a counted check that did not fail, and clears
    /// the counter after a successful reset. Nothing is written to an object whose storage the
    /// call deleted (an account deletion takes its counter with it).
    pub(super) fn after_failure_check(&self, check: FailureCheck, status: u16) {
        let result = match check {
            FailureCheck::Counted if status != 401 && self.failures_ready.get() => {
                ratelimit::refund(&DoStore::new(self.state.storage()), BUCKET)
            }
            FailureCheck::ClearOnSuccess if (200..300).contains(&status) => self
                .failure_store()
                .and_then(|store| ratelimit::clear(&store, BUCKET)),
            _ => return,
        };
        if let Err(e) = result {
            worker::console_error!("userdo: the failed-login counter was not updated: {e}");
        }
    }

    /// The object's store, with the counter's table created once per instance.
    fn failure_store(&self) -> Result<DoStore> {
        let store = DoStore::new(self.state.storage());
        if !self.failures_ready.get() {
            migrate::migrate(
                &store,
                "limits",
                ratelimit::MIGRATIONS,
                WorkerPlatform.now_ms(),
            )?;
            self.failures_ready.set(true);
        }
        Ok(store)
    }
}
