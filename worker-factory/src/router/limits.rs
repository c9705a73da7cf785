//! The rate limits of the route table, counted in the limiter objects before the work they
//! guard. Failed logins are counted per email, whether or not it has an account, so a 429 does
//! not tell which emails exist.

use userdo::{Result, Settings, email};
use worker::ObjectNamespace;

use super::parse::Target;
use crate::limiter;
use crate::routes::RateBucket;

/// The limiter for one request: its namespace and the client's IP.
pub(super) struct Limits<'a> {
    pub(super) namespace: ObjectNamespace,
    pub(super) settings: &'a Settings,
    /// `CF-Connecting-IP`, or `"unknown"`.
    pub(super) ip: String,
}

impl Limits<'_> {
    /// Checks (and counts, for per-IP buckets) one more request of `bucket` for `target`.
    pub(super) async fn before(&self, bucket: RateBucket, target: &Target) -> Result<()> {
        let limits = &self.settings.limits;
        let ip = &self.ip;
        match bucket {
            RateBucket::Signup => {
                limiter::check(
                    &self.namespace,
                    &format!("signup-ip:{ip}"),
                    limits.signup_per_ip,
                    true,
                )
                .await
            }
            RateBucket::Reset => {
                limiter::check(
                    &self.namespace,
                    &format!("reset-ip:{ip}"),
                    limits.reset_per_ip,
                    true,
                )
                .await
            }
            RateBucket::Login => {
                limiter::check(
                    &self.namespace,
                    &format!("login-ip:{ip}"),
                    limits.login_per_ip,
                    true,
                )
                .await?;
                limiter::check(
                    &self.namespace,
                    &failures(target),
                    limits.login_failures,
                    false,
                )
                .await
            }
        }
    }

    /// Counts a failed login (a 401); the next attempt learns whether it went over.
    pub(super) async fn after(&self, bucket: RateBucket, target: &Target, status: u16) {
        if bucket == RateBucket::Login && status == 401 {
            let limit = self.settings.limits.login_failures;
            let _ = limiter::check(&self.namespace, &failures(target), limit, true).await;
        }
    }
}

fn failures(target: &Target) -> String {
    match target {
        Target::Email(normalized) => format!("login-failures:{}", email::object_name(normalized)),
        Target::User(id) => format!("login-failures-user:{id}"),
    }
}
