//! The rate limits of the route table, counted in the limiter objects before the work they
//! guard. Mail is counted per account (the user's object id, which the email names whether or
//! not it has an account), so a 429 does not tell which emails exist; so are failed logins, in
//! the account's own object (`object::failures`).

use userdo::{Result, Settings, ratelimit};
use worker::ObjectNamespace;

use crate::limiter;
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

    /// Counts one more request of `bucket` before its work: `Err(429)` when it is over a limit.
    /// `account` names the user's object the request goes to, for the limits counted per account
    /// here (mail). The account's failed logins are counted in its own object
    /// ([`crate::hop::Hop::failures`]), in the trip that checks the password.
    pub(super) async fn before(
        &self,
        bucket: RateBucket,
        account: impl FnOnce() -> Result<String>,
    ) -> Result<()> {
        let limits = &self.settings.limits;
        let client = &self.client;
        let count = |name: String, limit| async move {
            limiter::count(&self.namespace, &name, limit).await
        };
        match bucket {
            RateBucket::Signup => count(format!("signup-ip:{client}"), limits.signup_per_ip).await,
            RateBucket::Reset => {
                count(format!("reset-ip:{client}"), limits.reset_per_ip).await?;
                count(mail(&account()?), limits.mail_per_account).await
            }
            RateBucket::Mail => count(mail(&account()?), limits.mail_per_account).await,
            RateBucket::Login | RateBucket::SignIn => {
                count(format!("login-ip:{client}"), limits.login_per_ip).await
            }
            RateBucket::Password | RateBucket::Unlock => Ok(()),
        }
    }
}

fn mail(account: &str) -> String {
    format!("mail:{account}")
}
