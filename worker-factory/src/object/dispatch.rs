//! The one exhaustive `match` of the object: every [`Call`] of the route table, each to its
//! handler. A call that a session authenticates checks that session first.

use userdo::oauth::SignInOutcome;
use userdo::token::AccessClaims;
use userdo::{ClientInfo, Error, Principal, Result, account};
use worker::Response;

use super::{UserDoObject, data};
use crate::app::{UserApp, UserCore};
use crate::hop::{Call, Hop, OrgOp};
use crate::http::respond;
use crate::mail;
use crate::responses::{DevObject, OK};
use crate::settings::settings_from_env;
use crate::store::DoStore;

impl<A: UserApp> UserDoObject<A> {
    pub(super) async fn dispatch(&self, hop: Hop) -> Result<Response> {
        let Hop {
            orgs,
            caller,
            user_agent,
            call,
            failures: _,
            finish: _,
        } = hop;
        if let Some(answer) = self.without_account(&call).await? {
            return Ok(answer);
        }
        if matches!(call, Call::DevOutbox | Call::DevObject) && !mail::dev_outbox_enabled(&self.env)
        {
            return Err(Error::NotFound("no such endpoint".into()));
        }
        if let Call::IdentityIndex { set } = &call {
            // An identity's index object: one row, no account.
            let store = DoStore::new(self.state.storage());
            if let Some(user_id) = set {
                userdo::oauth::set_identity_link(&store, user_id)?;
            }
            let user_id = userdo::oauth::identity_link(&store)?;
            return respond(200, &serde_json::json!({ "userId": user_id }));
        }
        if let Call::Mail { mail } = &call {
            // Answered without opening the core: an invitee may have no account yet.
            let now = userdo::Platform::now_ms(&crate::store::WorkerPlatform);
            mail::deliver(&self.env, &DoStore::new(self.state.storage()), now, mail).await?;
            return respond(202, &OK);
        }
        if let Call::DevOutbox = call {
            return respond(200, &mail::outbox(&DoStore::new(self.state.storage()))?);
        }
        let core = self.core()?;
        let core = core.as_ref();
        let client = ClientInfo { user_agent };
        let session = || authenticate(core, caller.as_ref());
        let signed_in = matches!(
            call,
            Call::ChangePassword { .. } | Call::DeleteAccount { .. }
        ) && session().is_ok();
        // Password derivations run first in WebCrypto; the core finds them until this drops.
        let _prepared =
            super::passwords::prepare(super::passwords::work(core, &call, signed_in)?).await?;
        match call {
            Call::Signup { email, password } => self.signup(core, &email, &password, &client),
            Call::Login { email, password } => {
                respond(200, &core.login(&email, &password, &client)?)
            }
            Call::Refresh { token } => respond(200, &core.refresh(&token)?),
            Call::ResetRequest { email } => self.request_reset(core, &email).await,
            Call::ResetConfirm {
                token,
                new_password,
            } => {
                core.confirm_password_reset(&token, &new_password)?;
                respond(200, &OK)
            }
            Call::VerificationConfirm { token } => {
                let user = core.confirm_email_verification(&token)?;
                respond(200, &crate::responses::UserBody { user })
            }
            Call::OpenSocket { ticket, since } => {
                let principal = match ticket {
                    Some(ticket) => core.redeem_ws_ticket(&ticket)?,
                    None => session()?,
                };
                self.open_socket(core, &principal, since)
            }
            // Answered above, without opening the core (an outbox exists before any account).
            Call::DevOutbox => Err(Error::NotFound("no such endpoint".into())),
            Call::DevObject => {
                session()?;
                let instance = self.instance.clone();
                respond(200, &DevObject { instance })
            }
            Call::Logout { refresh } => {
                match (session(), refresh) {
                    (Ok(principal), _) => core.logout(&principal)?,
                    (Err(_), Some(refresh)) => core.logout_with_refresh(&refresh)?,
                    (Err(e), None) => return Err(e),
                }
                respond(200, &OK)
            }
            Call::Me => self.me(core, &session()?),
            Call::Sessions => self.sessions(core, &session()?),
            Call::SessionCheck => self.session_check(core, &session()?),
            Call::RevokeOthers => self.revoke_others(core, &session()?),
            Call::RevokeSession { id } => {
                core.revoke_session(&session()?, &id)?;
                respond(200, &OK)
            }
            Call::ChangePassword { current, new } => {
                core.change_password(&session()?, &current, &new)?;
                respond(200, &OK)
            }
            Call::VerificationRequest => self.request_verification(core, &session()?).await,
            Call::DeleteAccount { password } => {
                self.delete_account(core, &session()?, &password, orgs.as_deref())
                    .await
            }
            Call::Org {
                org,
                action:
                    OrgOp::OpenSocket {
                        ticket: Some(ticket),
                        since,
                    },
            } => {
                let who = core.redeem_scoped_ws_ticket(&ticket, &org)?;
                let action = OrgOp::OpenSocket {
                    ticket: None,
                    since,
                };
                self.org_call(core, &who, orgs.as_deref(), org, action)
                    .await
            }
            Call::Org { org, action } => {
                self.org_call(core, &session()?, orgs.as_deref(), org, action)
                    .await
            }
            Call::Identities => {
                session()?;
                let identities = core.identities()?;
                respond(200, &crate::responses::IdentityList { identities })
            }
            Call::IdentityDelete { provider } => {
                session()?;
                core.unlink_identity(&provider)?;
                respond(200, &OK)
            }
            Call::OAuthSignIn {
                identity,
                by_email,
                check_only,
            } => {
                if check_only {
                    let outcome = if core.oauth_is_linked(&identity)? {
                        SignInOutcome::Linked
                    } else {
                        SignInOutcome::Refused("not_linked".into())
                    };
                    return respond(200, &outcome);
                }
                let ctx = self.ctx(core, None);
                let outcome = core.oauth_sign_in(&identity, by_email, &client, &mut |user| {
                    crate::app::without_waiting(
                        "UserApp::on_signup",
                        self.app.on_signup(&ctx, user),
                    )
                })?;
                respond(200, &outcome)
            }
            Call::OAuthLink {
                session_id,
                identity,
            } => {
                let outcome = match core.oauth_link(&session_id, &identity) {
                    Err(Error::SessionRevoked) => SignInOutcome::Refused("session_revoked".into()),
                    other => other?,
                };
                respond(200, &outcome)
            }
            // Answered above, without opening the core.
            Call::Mail { .. } | Call::IdentityIndex { .. } => Err(Error::internal(
                "a call answered without the core reached the dispatch",
            )),
            Call::WsTicket => self.ws_ticket(core, &session()?),
            Call::Rpc { method, params } => self.rpc(core, &session()?, &method, params).await,
            Call::KvList {
                prefix,
                after,
                limit,
            } => self.kv_list(
                core,
                &session()?,
                prefix.as_deref(),
                after.as_deref(),
                limit,
            ),
            Call::KvGet { key } => self.kv_get(core, &session()?, &key),
            Call::KvPut { key, value } => self.kv_put(core, &session()?, key, value),
            Call::KvDelete { key } => self.kv_delete(core, &session()?, &key),
            Call::DataGet { key } => self.data_get(core, &session()?, &key),
            Call::DataPost { key, value } => self.data_post(core, &session()?, key, value),
            Call::Table(call) => {
                // The session must be live; any client table is the user's own.
                session()?;
                data::run_table_call(core, call, &|name, action| {
                    data::client_table(core, name, action)
                })
            }
            Call::App {
                method,
                path,
                query,
                body,
            } => {
                let principal = session()?;
                self.app_fetch(core, &principal, &method, &path, &query, body)
                    .await
            }
        }
    }

    /// An object that was never signed up to answers a login or a reset request without
    /// creating any storage.
    async fn without_account(&self, call: &Call) -> Result<Option<Response>> {
        if self.core.borrow().is_some()
            || !matches!(call, Call::Login { .. } | Call::ResetRequest { .. })
        {
            return Ok(None);
        }
        if account::has_account_schema(&DoStore::new(self.state.storage()))? {
            return Ok(None);
        }
        match call {
            Call::Login { email, password } => {
                let settings = settings_from_env(&self.env)?;
                let work = account::login_without_account_derivations(&settings, email, password);
                let _prepared = super::passwords::prepare(work).await?;
                Err(account::login_without_account(&settings, email, password))
            }
            _ => Ok(Some(respond(202, &OK)?)),
        }
    }
}

/// The session of the claims the worker verified: live, and of this object's account.
fn authenticate(core: &UserCore, caller: Option<&AccessClaims>) -> Result<Principal> {
    core.authenticate(caller.ok_or(Error::Unauthenticated)?)
}
