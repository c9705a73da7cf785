//! The rate-limiter Durable Object: one object per counter (a client IP's, or an account's mail),
//! so every count is exact. The worker asks it before signups, logins, sign-ins and mail; an
//! account's failed logins are counted in the account's own object (`object::failures`).

use std::cell::Cell;

use serde::{Deserialize, Serialize};
use userdo::ratelimit::{self, Decision, Limit};
use userdo::{Error, Platform, Result, migrate};
use worker::{Headers, Method, ObjectNamespace, Request, Response, State};

use crate::http::error_response;
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

    /// Answers a check from the worker: the check comes in a header of a `GET`, the decision
    /// goes back in a header of an empty answer, so neither side makes or reads a body stream.
    pub async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let result = async {
            let text = req
                .headers()
                .get(CHECK_HEADER)?
                .ok_or_else(|| Error::internal("a rate limiter check without its header"))?;
            let check: Check = serde_json::from_str(&text)
                .map_err(|e| Error::internal_from("rate limiter check", e))?;
            let store = DoStore::new(self.state.storage());
            let now = WorkerPlatform.now_ms();
            if !self.migrated.get() {
                migrate::migrate(&store, "limits", ratelimit::MIGRATIONS, now)?;
                self.migrated.set(true);
            }
            let bucket = self.state.id().to_string();
            let decision = ratelimit::check(&store, &bucket, check.limit, now, true)?;
            let text = serde_json::to_string(&decision)
                .map_err(|e| Error::internal_from("rate limiter decision", e))?;
            let headers = Headers::new();
            headers.set(DECISION_HEADER, &text)?;
            Ok(Response::empty()?.with_headers(headers))
        }
        .await;
        result.or_else(|e: Error| error_response(&e))
    }
}

/// The header of a check, and the header of its decision (both JSON).
const CHECK_HEADER: &str = "x-userdo-check";
const DECISION_HEADER: &str = "x-userdo-decision";

/// Counts one more event in the limiter object of `bucket`: `Err(429)` when it is over the limit.
pub(crate) async fn count(namespace: &ObjectNamespace, bucket: &str, limit: Limit) -> Result<()> {
    let stub = namespace
        .id_from_name(&userdo::token::hash_token(bucket))
        .and_then(|id| id.get_stub())?;
    let check = serde_json::to_string(&Check { limit })
        .map_err(|e| Error::internal_from("rate limiter", e))?;
    let headers = Headers::new();
    headers.set(CHECK_HEADER, &check)?;
    let req = crate::http::new_request(
        "https://limiter.internal/check",
        Method::Get,
        &headers,
        None,
    )?;
    let response = stub.fetch_with_request(req).await?;
    let Some(text) = response.headers().get(DECISION_HEADER)? else {
        // An error answer (a failed migration, say) is JSON: its code says what went wrong.
        let status = response.status_code();
        let body = crate::http::body_text(response).await.unwrap_or_default();
        return Err(Error::internal(format!(
            "rate limiter answered {status} without a decision: {body}"
        )));
    };
    let decision: Decision =
        serde_json::from_str(&text).map_err(|e| Error::internal_from("rate limiter answer", e))?;
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
