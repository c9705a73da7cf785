//! Organization calls, on the caller's side: the caller's own object confirms the session (or
//! spends the socket ticket), keeps its index of the user's organizations, and sends the call to
//! the organization's object, which decides by membership and role.
//!
//! The index is kept so that it never lacks an organization the user is in: an organization is
//! added to it before the user joins (create, accept) and dropped only after the user left, or
//! when the organization denies them (a 404 to `GET`: the user was removed, or it was deleted). Reading it
//! (`GET /api/orgs`) asks every organization in it, so an entry left behind by a failed step is
//! dropped there and never shown.

use userdo::org::{self, Caller, Departure, OrgView};
use userdo::{Error, Principal, Result};
use worker::{ObjectNamespace, Response, Stub};

use super::UserDoObject;
use crate::app::{UserApp, UserCore};
use crate::hop::{OrgHop, OrgOp, send};
use crate::http::respond;
use crate::responses::{OrgBody, OrgList, Ticket};

impl<A: UserApp> UserDoObject<A> {
    /// The namespace of the organizations' objects.
    fn org_namespace(&self, binding: Option<&str>) -> Result<ObjectNamespace> {
        let binding = binding.ok_or_else(|| {
            Error::Config("organizations are not configured for this worker".into())
        })?;
        self.env.durable_object(binding).map_err(|_| {
            Error::Config(format!(
                "the organizations binding {binding} is missing: bind the class of \
                 worker_factory::org_object! as {binding}, or set another with \
                 UserDoWorker::organizations"
            ))
        })
    }

    /// Runs an organization call for the confirmed session `who`.
    pub(super) async fn org_call(
        &self,
        core: &UserCore,
        who: &Principal,
        binding: Option<&str>,
        org: String,
        action: OrgOp,
    ) -> Result<Response> {
        let namespace = self.org_namespace(binding)?;
        let me = core.me()?;
        let caller = Caller {
            user_id: me.id,
            email: me.email,
            session_id: who.session_id.clone(),
        };
        match action {
            OrgOp::List => self.org_list(core, &namespace, &caller).await,
            OrgOp::Create { name } => {
                let org = new_org_id(core)?;
                core.org_index_add(&org)?;
                let answer = call(&namespace, &org, &caller, OrgOp::Create { name }).await;
                if !answer.as_ref().is_ok_and(succeeded) {
                    core.org_index_remove(&org)?;
                }
                answer
            }
            OrgOp::Accept { token } => {
                let org = org::invitation_org(&token)
                    .ok_or(Error::InvalidToken)?
                    .to_owned();
                let had = core.org_index()?.contains(&org);
                core.org_index_add(&org)?;
                let answer = call(&namespace, &org, &caller, OrgOp::Accept { token }).await;
                if !had && !answer.as_ref().is_ok_and(succeeded) {
                    core.org_index_remove(&org)?;
                }
                answer
            }
            OrgOp::WsTicket => {
                // The organization confirms the membership; the ticket is this object's, so the
                // upgrade comes back here and the session is checked again when it is spent.
                let answer = self
                    .org_step(core, &namespace, &org, &caller, OrgOp::Get)
                    .await?;
                if !succeeded(&answer) {
                    return Ok(answer);
                }
                let ticket = core.issue_scoped_ws_ticket(who, &org)?;
                respond(200, &Ticket { ticket })
            }
            OrgOp::OpenSocket { since, .. } => {
                let stub = org_stub(&namespace, &org)?;
                let hop = OrgHop {
                    org: org.clone(),
                    caller,
                    op: OrgOp::OpenSocket {
                        ticket: None,
                        since,
                    },
                };
                let answer = send(&stub, &hop, true).await?;
                if answer.status_code() == 404 {
                    core.org_index_remove(&org)?;
                }
                Ok(answer)
            }
            action => {
                let leaves = match &action {
                    OrgOp::Remove { user_id } => *user_id == caller.user_id,
                    OrgOp::Delete => true,
                    _ => false,
                };
                let answer = self
                    .org_step(core, &namespace, &org, &caller, action)
                    .await?;
                if leaves && succeeded(&answer) {
                    core.org_index_remove(&org)?;
                }
                Ok(answer)
            }
        }
    }

    /// Sends one call to `org`; a 404 to `GET` (not a member, or no such organization) drops it
    /// from the index. (Other calls answer 404 for a missing member, invitation or row too.)
    async fn org_step(
        &self,
        core: &UserCore,
        namespace: &ObjectNamespace,
        org: &str,
        caller: &Caller,
        action: OrgOp,
    ) -> Result<Response> {
        let repairs = matches!(action, OrgOp::Get);
        let answer = call(namespace, org, caller, action).await?;
        if repairs && answer.status_code() == 404 {
            core.org_index_remove(org)?;
        }
        Ok(answer)
    }

    /// `GET /api/orgs`: each organization of the index, as it answers now (in parallel);
    /// those that deny the caller leave the index.
    async fn org_list(
        &self,
        core: &UserCore,
        namespace: &ObjectNamespace,
        caller: &Caller,
    ) -> Result<Response> {
        let ids = core.org_index()?;
        let answers =
            futures::future::join_all(ids.iter().map(|id| view(namespace, id, caller))).await;
        let mut orgs = Vec::with_capacity(ids.len());
        for (id, answer) in ids.iter().zip(answers) {
            match answer? {
                Some(view) => orgs.push(view),
                None => core.org_index_remove(id)?,
            }
        }
        respond(200, &OrgList { orgs })
    }

    /// Before an account is deleted: every organization of the user agrees (none owned with
    /// other members), or the deletion is refused with 409 and nothing changed.
    pub(super) async fn org_departures_allowed(
        &self,
        core: &UserCore,
        binding: Option<&str>,
    ) -> Result<()> {
        let ids = core.org_index()?;
        if ids.is_empty() {
            return Ok(());
        }
        let namespace = self.org_namespace(binding)?;
        let caller = caller_of(core)?;
        for id in &ids {
            depart(&namespace, id, &caller, false).await?;
        }
        Ok(())
    }

    /// As the account is deleted: leaves every organization (deleting those it was the only
    /// member of). A failure is logged; the rest still go.
    pub(super) async fn org_depart_all(&self, core: &UserCore, binding: Option<&str>) {
        let Ok(ids) = core.org_index() else { return };
        if ids.is_empty() {
            return;
        }
        let (Ok(namespace), Ok(caller)) = (self.org_namespace(binding), caller_of(core)) else {
            worker::console_error!("userdo: the organizations of a deleted account were not left");
            return;
        };
        for id in &ids {
            if let Err(e) = depart(&namespace, id, &caller, true).await {
                worker::console_error!("userdo: leaving an organization failed: {e}");
            }
        }
    }
}

impl<A: UserApp> UserDoObject<A> {
    /// Before a call that may end sessions: the live sessions, if the user is in any
    /// organization (None otherwise, and for an object with no account).
    pub(super) fn live_sessions_in_orgs(&self) -> Option<Vec<String>> {
        let open = self.core.borrow().clone();
        let core = match open {
            Some(core) => core,
            None => {
                let store = crate::store::DoStore::new(self.state.storage());
                if !userdo::account::has_account_schema(&store).ok()? {
                    return None;
                }
                self.core().ok()?
            }
        };
        if core.org_index().ok()?.is_empty() {
            return None;
        }
        core.live_session_ids().ok()
    }

    /// After a call that may have ended sessions: if one of `live_before` has ended, the user's
    /// organizations close the sockets of the ended sessions (4001), as the user's own feed
    /// does. A login or refresh that ended none tells no one. A failure is logged.
    pub(super) async fn org_sessions_changed(&self, binding: Option<&str>, live_before: &[String]) {
        let Some(core) = self.core.borrow().clone() else {
            return;
        };
        let Ok(ids) = core.org_index() else { return };
        if ids.is_empty() {
            return;
        }
        let (Ok(namespace), Ok(caller), Ok(live)) = (
            self.org_namespace(binding),
            caller_of(&core),
            core.live_session_ids(),
        ) else {
            worker::console_error!("userdo: the organizations were not told of ended sessions");
            return;
        };
        if live_before.iter().all(|id| live.contains(id)) {
            return;
        }
        let calls = ids.iter().map(|id| {
            let live = live.clone();
            let namespace = &namespace;
            let caller = &caller;
            async move { call(namespace, id, caller, OrgOp::SessionsEnded { live }).await }
        });
        for answer in futures::future::join_all(calls).await {
            if let Err(e) = answer {
                worker::console_error!(
                    "userdo: an organization was not told of ended sessions: {e}"
                );
            }
        }
    }
}

fn caller_of(core: &UserCore) -> Result<Caller> {
    let me = core.me()?;
    Ok(Caller {
        user_id: me.id,
        email: me.email,
        session_id: String::new(),
    })
}

/// A new organization id: 32 random hex characters.
fn new_org_id(core: &UserCore) -> Result<String> {
    let mut bytes = [0u8; 16];
    userdo::Platform::fill_random(core.platform(), &mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn succeeded(response: &Response) -> bool {
    (200..300).contains(&response.status_code())
}

fn org_stub(namespace: &ObjectNamespace, org: &str) -> Result<Stub> {
    Ok(namespace.id_from_name(org)?.get_stub()?)
}

async fn call(
    namespace: &ObjectNamespace,
    org: &str,
    caller: &Caller,
    op: OrgOp,
) -> Result<Response> {
    let stub = org_stub(namespace, org)?;
    let hop = OrgHop {
        org: org.to_owned(),
        caller: caller.clone(),
        op,
    };
    send(&stub, &hop, false).await
}

/// The organization as `caller` sees it, or `None` when it denies them (404).
async fn view(namespace: &ObjectNamespace, org: &str, caller: &Caller) -> Result<Option<OrgView>> {
    let mut answer = call(namespace, org, caller, OrgOp::Get).await?;
    match answer.status_code() {
        200 => {
            let body: OrgBody = answer
                .json()
                .await
                .map_err(|e| Error::internal_from("an organization's answer", e))?;
            Ok(Some(body.org))
        }
        404 => Ok(None),
        status => Err(Error::internal(format!(
            "an organization answered {status} to GET"
        ))),
    }
}

#[derive(serde::Deserialize)]
struct Departed {
    departure: Departure,
}

async fn depart(
    namespace: &ObjectNamespace,
    org: &str,
    caller: &Caller,
    apply: bool,
) -> Result<Departure> {
    let mut answer = call(namespace, org, caller, OrgOp::Depart { apply }).await?;
    match answer.status_code() {
        200 => {
            let body: Departed = answer
                .json()
                .await
                .map_err(|e| Error::internal_from("an organization's answer", e))?;
            Ok(body.departure)
        }
        409 => Err(Error::Conflict(
            "this account owns an organization with other members: transfer its ownership or \
             delete it first"
                .into(),
        )),
        status => Err(Error::internal(format!(
            "an organization answered {status} to a departure"
        ))),
    }
}
