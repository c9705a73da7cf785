//! The rate limits of the route table, counted in the limiter objects before the work they
//! guard. Failed logins and mail are counted per account (the user's object id, which the email
//! names whether or not it has an account), so a 429 does not tell which emails exist.

use userdo::{Result, Settings, ratelimit};
use worker::ObjectNamespace;

use crate::limiter::{self, Op};
use crate::routes::RateBucket;

/// The limiter for one request: its namespace and the client's bucket name.
pub(super) struct Limits<'a> {
    pub(super) namespace: ObjectNamespace,
    pub(super) settings: &'a Settings,
    /// The client's per-IP bucket ([`ratelimit::client_key`]: IPv6 per /64).
    pub(super) client: String,
}

impl<'a> Limits<'a> {
    /// The limits of a request from `ip` (its `CF-Connecting-IP`, if any).
    pub(super) fn new(
        namespace: ObjectNamespace,
        settings: &'a Settings,
        ip: Option<&str>,
    ) -> Self {
        Self {
            namespace,
            settings,
            client: ratelimit::client_key(ip),
        }
    }

    /// Counts one more request of `bucket` for the account `account` (a user's object id),
    /// before its work: `Err(429)` when it is over a limit.
    pub(super) async fn before(&self, bucket: RateBucket, account: &str) -> Result<()> {
        let limits = &self.settings.limits;
        let client = &self.client;
        let count = |name: String, limit| async move {
            limiter::check(&self.namespace, &name, limit, Op::Count).await
        };
        match bucket {
            RateBucket::Signup => count(format!("signup-ip:{client}"), limits.signup_per_ip).await,
            RateBucket::Reset => {
                count(format!("reset-ip:{client}"), limits.reset_per_ip).await?;
                count(mail(account), limits.mail_per_account).await
            }
            RateBucket::Mail => count(mail(account), limits.mail_per_account).await,
            RateBucket::Login => {
                count(format!("login-ip:{client}"), limits.login_per_ip).await?;
                // Counted as a failure before the password is checked, so parallel guesses
                // cannot all be checked; refunded after a success.
                count(failures(account), limits.login_failures).await
            }
            RateBucket::Password => count(failures(account), limits.login_failures).await,
            RateBucket::SignIn => count(format!("login-ip:{client}"), limits.login_per_ip).await,
            RateBucket::Unlock => Ok(()),
        }
    }

    /// After the answer: refunds a password check that did not fail (anything but a 401), and
    /// lifts the failed-login lock after a successful reset.
    pub(super) async fn after(&self, bucket: RateBucket, account: &str, status: u16) {
        let limit = self.settings.limits.login_failures;
        let op = match bucket {
            RateBucket::Login | RateBucket::Password if status != 401 => Op::Refund,
            RateBucket::Unlock if (200..300).contains(&status) => Op::Clear,
            _ => return,
        };
        if let Err(e) = limiter::check(&self.namespace, &failures(account), limit, op).await {
            worker::console_error!("userdo: the failed-login counter was not updated: {e}");
        }
    }
}

fn failures(account: &str) -> String {
    format!("login-failures:{account}")
}

fn mail(account: &str) -> String {
    format!("mail:{account}")
}
