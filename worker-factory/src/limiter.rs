//! The rate-limiter Durable Object: one object per counter (a client IP's, or an account's mail),
//! so every count is exact. The worker asks it before signups, logins, sign-ins and mail; an
//! account's failed logins are counted in the account's own object (`object::failures`).

use std::cell::Cell;

use serde::{Deserialize, Serialize};
use userdo::ratelimit::{self, Decision, Limit};
use userdo::{Error, Platform, Result, migrate};
use worker::{Headers, Method, ObjectNamespace, Request, Response, State};

use crate::http::{error_response, json};
use crate::store::{DoStore, WorkerPlatform};

/// What the worker asks a limiter object: to count one more event against `limit`.
#[derive(Debug, Serialize, Deserialize)]
struct Check {
    limit: Limit,
}

/// The framework's part of the limiter Durable Object (see [`limiter_object!`](crate::limiter_object)).
#[derive(Debug)]
pub struct LimiterObject {
    state: State,
    /// Whether this instance has migrated its table: once per instance, not once per check.
    migrated: Cell<bool>,
}

impl LimiterObject {
    /// Wraps the object's state.
    pub fn new(state: State) -> Self {
        Self {
            state,
            migrated: Cell::new(false),
        }
    }

    /// Answers a check from the worker.
    pub async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let result = async {
            let check: Check = serde_json::from_str(&req.text().await?)
                .map_err(|e| Error::internal_from("rate limiter check", e))?;
            let store = DoStore::new(self.state.storage());
            let now = WorkerPlatform.now_ms();
            if !self.migrated.get() {
                migrate::migrate(&store, "limits", ratelimit::MIGRATIONS, now)?;
                self.migrated.set(true);
            }
            let bucket = self.state.id().to_string();
            let decision = ratelimit::check(&store, &bucket, check.limit, now, true)?;
            Ok(json(200, &decision)?)
        }
        .await;
        result.or_else(|e: Error| error_response(&e))
    }
}

/// Counts one more event in the limiter object of `bucket`: `Err(429)` when it is over the limit.
pub(crate) async fn count(namespace: &ObjectNamespace, bucket: &str, limit: Limit) -> Result<()> {
    let stub = namespace
        .id_from_name(&userdo::token::hash_token(bucket))
        .and_then(|id| id.get_stub())?;
    let body = serde_json::to_string(&Check { limit })
        .map_err(|e| Error::internal_from("rate limiter", e))?;
    let req = crate::http::new_request(
        "https://limiter.internal/check",
        Method::Post,
        &Headers::new(),
        Some(&body),
    )?;
    let response = stub.fetch_with_request(req).await?;
    let decision: Decision = crate::http::body_json(response, "rate limiter answer").await?;
    decision.into_result()
}

/// Writes the rate-limiter Durable Object class; bind it in wrangler.toml (the default binding
/// name is `RATE_LIMITER`, see [`UserDoWorker::rate_limiter`](crate::UserDoWorker::rate_limiter)).
///
/// `worker_factory::limiter_object!(RateLimiter);`
#[macro_export]
macro_rules! limiter_object {
    ($name:ident) => {
        #[allow(missing_docs, unreachable_pub)]
        mod __userdo_limiter_object {
            /// Exact rate-limit counters, one object per counter.
            #[::worker::durable_object]
            pub struct $name {
                inner: $crate::LimiterObject,
            }

            impl ::worker::DurableObject for $name {
                fn new(state: ::worker::State, _env: ::worker::Env) -> Self {
                    Self {
                        inner: $crate::LimiterObject::new(state),
                    }
                }

                async fn fetch(
                    &self,
                    req: ::worker::Request,
                ) -> ::worker::Result<::worker::Response> {
                    self.inner.fetch(req).await
                }
            }
        }
        pub use __userdo_limiter_object::$name;
    };
}
