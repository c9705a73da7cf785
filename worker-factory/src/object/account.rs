//! The account endpoints that need more than one call into the core: signup (with the
//! application's hook), mail, the session list, the session check and account deletion.

use userdo::{ClientInfo, Principal, Result};
use worker::Response;

use super::UserDoObject;
use crate::app::{UserApp, UserCore};
use crate::http::respond;
use crate::mail;
use crate::responses::{OK, Revoked, SessionCheck, SessionList, UserBody};

impl<A: UserApp> UserDoObject<A> {
    /// Creates the account and runs the application's `on_signup` in the same transaction: if
    /// the hook fails, no account exists and the client gets the hook's error.
    pub(super) fn signup(
        &self,
        core: &UserCore,
        email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<Response> {
        let ctx = self.ctx(core, None);
        let auth = core.signup_with(email, password, client, &mut |user| {
            crate::app::without_waiting("UserApp::on_signup", self.app.on_signup(&ctx, user))
        })?;
        respond(201, &auth)
    }

    pub(super) fn me(&self, core: &UserCore, _who: &Principal) -> Result<Response> {
        respond(200, &UserBody { user: core.me()? })
    }

    pub(super) fn sessions(&self, core: &UserCore, who: &Principal) -> Result<Response> {
        respond(
            200,
            &SessionList {
                sessions: core.sessions(who)?,
            },
        )
    }

    /// The caller's user and session, read after the session check (so a logout counts at once).
    pub(super) fn session_check(&self, core: &UserCore, who: &Principal) -> Result<Response> {
        respond(
            200,
            &SessionCheck {
                user: core.me()?,
                session: core.live_session(who)?,
            },
        )
    }

    pub(super) fn revoke_others(&self, core: &UserCore, who: &Principal) -> Result<Response> {
        let revoked = core.revoke_other_sessions(who)?;
        respond(200, &Revoked { revoked })
    }

    /// 202 whether or not mail went out (and whether or not the email has an account here); a
    /// delivery failure is logged.
    pub(super) async fn request_reset(&self, core: &UserCore, email: &str) -> Result<Response> {
        if let Some(message) = core.request_password_reset(email, self.app.mail_templates())? {
            let now = userdo::Platform::now_ms(core.platform());
            if let Err(e) = mail::deliver(&self.env, core.store(), now, &message).await {
                worker::console_error!("userdo: password-reset mail not sent: {e}");
            }
        }
        respond(202, &OK)
    }

    pub(super) async fn request_verification(
        &self,
        core: &UserCore,
        who: &Principal,
    ) -> Result<Response> {
        let message = core.request_email_verification(who, self.app.mail_templates())?;
        let now = userdo::Platform::now_ms(core.platform());
        mail::deliver(&self.env, core.store(), now, &message).await?;
        respond(202, &OK)
    }

    /// Erases the account and everything else of the user's: the application's tables, the
    /// outbox, any KV.
    pub(super) async fn delete_account(
        &self,
        core: &UserCore,
        who: &Principal,
        password: &str,
        orgs: Option<&str>,
    ) -> Result<Response> {
        core.authorize_deletion(who, password)?;
        // Refused (409, nothing changed) while the user owns an organization with other
        // members; otherwise the account leaves each (and deletes those it was alone in).
        self.org_departures_allowed(core, orgs).await?;
        self.org_depart_all(core, orgs).await;
        core.erase()?;
        self.state.storage().delete_all().await?;
        // Scheduled work goes with the account (deleteAll leaves the alarm).
        self.state.storage().delete_alarm().await?;
        self.alarm_at.set(None);
        *self.core.borrow_mut() = None;
        self.failures_ready.set(false);
        respond(200, &OK)
    }
}
