//! An organization's Durable Object: the authority on its members, roles and invitations, and
//! the holder of the application's organization tables and the organization's change feed
//! (`/api/orgs/{org}/ws`). Every call comes from a member's own object, which has just confirmed
//! the caller's session; here the caller's membership and role decide.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::Value as Json;
use userdo::mail::{DefaultTemplates, Mail};
use userdo::org::{Caller, Departure, Member, Role};
use userdo::table::{Access, TableDef, Tables};
use userdo::{Error, Platform, Result, Store, UserDo};
use worker::{Env, Request, Response, State};

use crate::app::{AppCtx, Methods, UserCore, Vars};
use crate::hop::{HOP_HEADER, OrgHop, OrgOp, TableAction};
use crate::http::{error_response, read_body, respond};
use crate::realtime::{self, CLOSE_NO_ACCESS, Delivery};
use crate::responses::{InvitationList, MemberBody, MemberList, OK, OrgBody, RpcResult};
use crate::routes::{AUTH_BODY_LIMIT, BATCH_BODY_LIMIT};
use crate::settings::settings_from_env;
use crate::store::{DoStore, WorkerPlatform};

/// An application's part of its organizations: the tables every organization holds, each
/// declared with the lowest role that reads, writes and deletes its rows
/// ([`Access::Roles`]).
pub trait OrgApp: Sized + 'static {
    /// The application's organization methods (`POST /api/orgs/{org}/rpc`), written with
    /// [`methods!`](crate::methods); [`NoMethods`](userdo::rpc::NoMethods) for none. They run in
    /// the organization's object and see the calling member ([`AppCtx::member`]).
    type Call: Methods<Self>;

    /// Builds the application's organization side from the worker's variables.
    fn new(vars: &Vars) -> Self;

    /// The organization tables.
    fn tables(&self) -> Tables {
        Tables::new()
    }
}

/// An application without organization tables (organizations still have members and a feed).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoOrgTables;

impl OrgApp for NoOrgTables {
    type Call = userdo::rpc::NoMethods;

    fn new(_vars: &Vars) -> Self {
        NoOrgTables
    }
}

/// The framework's part of an organization's Durable Object, generic over the application.
pub struct OrgDoObject<A: OrgApp> {
    state: State,
    env: Env,
    vars: Vars,
    tables: Tables,
    core: RefCell<Option<Rc<UserCore>>>,
    delivery: Delivery,
    app: A,
}

impl<A: OrgApp> std::fmt::Debug for OrgDoObject<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgDoObject").finish_non_exhaustive()
    }
}

impl<A: OrgApp> OrgDoObject<A> {
    /// Wraps the object's state; the application's tables are checked once here.
    pub fn new(state: State, env: Env) -> Self {
        realtime::set_auto_response(&state);
        let vars = Vars::from_env(&env);
        let app = A::new(&vars);
        let tables = app.tables();
        if let Err(e) = tables.check() {
            worker::console_error!(
                "userdo: the application's organization tables are declared wrongly: {e}"
            );
        }
        Self {
            state,
            env,
            vars,
            tables,
            core: RefCell::new(None),
            delivery: Delivery::default(),
            app,
        }
    }

    fn core(&self) -> Result<Rc<UserCore>> {
        if let Some(core) = self.core.borrow().as_ref() {
            return Ok(core.clone());
        }
        let settings = settings_from_env(&self.env)?;
        let store: Box<dyn Store> = Box::new(DoStore::new(self.state.storage()));
        let platform: Box<dyn Platform> = Box::new(WorkerPlatform);
        let core = UserDo::open(store, platform, settings, self.state.id().to_string())?
            .with_tables(self.tables.clone())?;
        core.open_org_schema()?;
        let core = Rc::new(core);
        self.delivery.reset();
        *self.core.borrow_mut() = Some(core.clone());
        Ok(core)
    }

    /// Runs a call a member's object sent.
    pub async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let result = match read_hop(&mut req).await {
            Ok(hop) => self.dispatch(hop).await,
            Err(e) => Err(e),
        };
        self.after_request();
        match result {
            Ok(response) => Ok(response),
            Err(error) => error_response(&error),
        }
    }

    /// Delivers the request's events to the members' sockets; a socket of someone who is no
    /// longer a member is closed with 4003.
    fn after_request(&self) {
        let Some(core) = self.core.borrow().clone() else {
            return;
        };
        let events = core.take_events();
        realtime::deliver_to(
            &self.state,
            &core,
            &self.delivery,
            &events,
            || core.org_member_ids(),
            (CLOSE_NO_ACCESS, "no longer a member"),
        );
    }

    async fn dispatch(&self, hop: OrgHop) -> Result<Response> {
        let OrgHop { org, caller, op } = hop;
        let core = self.core()?;
        let core = core.as_ref();
        // The calls made before the caller is a member.
        let op = match op {
            OrgOp::Create { name } => {
                let org = core.org_create(&org, &name, &caller)?;
                return respond(201, &OrgBody { org });
            }
            OrgOp::Accept { token } => {
                let org = core.org_accept(&token, &caller)?;
                return respond(200, &OrgBody { org });
            }
            OrgOp::Depart { apply } => return self.depart(core, &caller, apply).await,
            OrgOp::SessionsEnded { live } => {
                self.close_ended_sessions(&caller.user_id, &live);
                return respond(200, &OK);
            }
            op => op,
        };
        let member = core.org_membership(&caller.user_id)?;
        let admin = || core.org_require(&caller.user_id, Role::Admin);
        match op {
            OrgOp::Get | OrgOp::WsTicket => respond(
                200,
                &OrgBody {
                    org: core.org_view(&member)?,
                },
            ),
            OrgOp::Rename { name } => {
                let member = admin()?;
                let org = core.org_rename(&member, Some(&name))?;
                respond(200, &OrgBody { org })
            }
            OrgOp::Delete => {
                core.org_require(&caller.user_id, Role::Owner)?;
                self.delete_org().await?;
                respond(200, &OK)
            }
            OrgOp::Members => respond(
                200,
                &MemberList {
                    members: core.org_members()?,
                },
            ),
            OrgOp::SetRole { user_id, role } => {
                let member = core.org_set_role(&member, &user_id, role)?;
                respond(200, &MemberBody { member })
            }
            OrgOp::Remove { user_id } => {
                core.org_remove(&member, &user_id)?;
                realtime::close_tagged(&self.state, &user_id, CLOSE_NO_ACCESS, "removed");
                respond(200, &OK)
            }
            OrgOp::Invite { email, role } => {
                let (invitation, token) = core.org_invite(&member, &email, role)?;
                let name = core.org_view(&member)?.name;
                let mail = Mail::invitation(&invitation.email, &name, token, &DefaultTemplates);
                // The worker mails it and answers `{invitation}` alone.
                respond(
                    201,
                    &serde_json::json!({ "invitation": invitation, "mail": mail }),
                )
            }
            OrgOp::Invitations => {
                admin()?;
                respond(
                    200,
                    &InvitationList {
                        invitations: core.org_invitations()?,
                    },
                )
            }
            OrgOp::RevokeInvitation { id } => {
                admin()?;
                core.org_revoke_invitation(&id)?;
                respond(200, &OK)
            }
            OrgOp::Table(call) => {
                crate::object::data::run_table_call(core, call, &|name, action| {
                    org_table(core, &member, name, action)
                })
            }
            OrgOp::Rpc { method, params } => {
                let call = userdo::rpc::parse_call::<A::Call>(&method, params)?;
                let principal = userdo::Principal {
                    user_id: caller.user_id.clone(),
                    session_id: caller.session_id.clone(),
                };
                let ctx = AppCtx::for_member(core, &principal, &member, &self.vars);
                let result = call.run(&self.app, &ctx).await?;
                respond(200, &RpcResult { result })
            }
            OrgOp::OpenSocket { since, .. } => {
                // Tagged with the member and the session: a logout elsewhere closes it.
                let session = session_tag(&caller.session_id);
                let client = realtime::accept_as(
                    &self.state,
                    core,
                    &self.delivery,
                    &member.user_id,
                    &[session.as_str()],
                    since,
                )?;
                Ok(Response::from_websocket(client)?)
            }
            OrgOp::List
            | OrgOp::Create { .. }
            | OrgOp::Accept { .. }
            | OrgOp::Depart { .. }
            | OrgOp::SessionsEnded { .. } => {
                Err(Error::internal("an organization call answered elsewhere"))
            }
        }
    }

    /// The caller's account is being deleted: checks (`apply` false) or leaves; the only member
    /// deletes the organization with it.
    async fn depart(&self, core: &UserCore, caller: &Caller, apply: bool) -> Result<Response> {
        let departure = core.org_depart(&caller.user_id, apply)?;
        if apply {
            match departure {
                Departure::DeleteOrg => self.delete_org().await?,
                Departure::Left => {
                    realtime::close_tagged(&self.state, &caller.user_id, CLOSE_NO_ACCESS, "left");
                }
                Departure::NotMember => {}
            }
        }
        respond(200, &serde_json::json!({ "departure": departure }))
    }

    /// Closes the sockets of `user_id` opened by a session that is not in `live` (4001, as on
    /// the user's own feed).
    fn close_ended_sessions(&self, user_id: &str, live: &[String]) {
        let live: Vec<String> = live.iter().map(|s| session_tag(s)).collect();
        for ws in self.state.get_websockets_with_tag(user_id) {
            let tags = self.state.get_tags(&ws);
            let ended = tags
                .iter()
                .filter(|t| t.starts_with(SESSION_TAG))
                .all(|t| !live.contains(t));
            if ended {
                let _ = ws.close(Some(realtime::CLOSE_SESSION_ENDED), Some("session ended"));
            }
        }
    }

    /// Deletes the organization: every socket closes with 4003 and its storage is erased, so
    /// every later call finds no organization (404).
    async fn delete_org(&self) -> Result<()> {
        realtime::close_all_with(&self.state, CLOSE_NO_ACCESS, "organization deleted");
        *self.core.borrow_mut() = None;
        self.state.storage().delete_all().await?;
        self.delivery.reset();
        Ok(())
    }

    /// A message on a member's socket: the organization's feed takes none (only `ping`, which
    /// the runtime answers); anything else gets an error frame.
    pub async fn websocket_message(
        &self,
        ws: worker::WebSocket,
        _message: worker::WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        let error = Error::NotFound("the organization's feed takes no calls".into());
        let _ = ws.send_with_str(userdo::realtime::error_frame(&Json::Null, &error));
        Ok(())
    }

    /// A socket closed: complete the closing handshake.
    pub async fn websocket_close(
        &self,
        ws: worker::WebSocket,
        _code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> worker::Result<()> {
        crate::object::sockets::complete_close(&ws);
        Ok(())
    }

    /// A socket failed.
    pub async fn websocket_error(
        &self,
        _ws: worker::WebSocket,
        error: worker::Error,
    ) -> worker::Result<()> {
        crate::object::sockets::log_error("organization", &error);
        Ok(())
    }
}

/// A table a member may use for `action`: the table's declared roles decide (403 below them);
/// tables the application keeps to itself look like tables that do not exist.
fn org_table(
    core: &UserCore,
    member: &Member,
    name: &str,
    action: TableAction,
) -> Result<Rc<TableDef>> {
    let def = core
        .table_def(name)
        .map_err(|_| Error::NotFound("no such table".into()))?;
    let lowest = match (def.access(), action) {
        (Access::Roles { read, .. }, TableAction::Read) => read,
        (Access::Roles { write, .. }, TableAction::Write) => write,
        (Access::Roles { delete, .. }, TableAction::Delete) => delete,
        (Access::ReadWrite, _) | (Access::ReadOnly, TableAction::Read) => Role::Member,
        (Access::ReadOnly, _) => {
            return Err(Error::Forbidden(format!("table {name} is read-only")));
        }
        (Access::ServerOnly, _) => return Err(Error::NotFound("no such table".into())),
    };
    if !member.role.at_least(lowest) {
        return Err(Error::Forbidden(format!(
            "this needs the role {} or higher",
            lowest.as_str()
        )));
    }
    Ok(def)
}

/// The prefix of the tag that names a socket's session.
const SESSION_TAG: &str = "s:";

fn session_tag(session_id: &str) -> String {
    format!("{SESSION_TAG}{session_id}")
}

async fn read_hop(req: &mut Request) -> Result<OrgHop> {
    let from_header = req.headers().get(HOP_HEADER)?;
    let text = match from_header {
        Some(text) => text.into_bytes(),
        None => read_body(req, BATCH_BODY_LIMIT + AUTH_BODY_LIMIT).await?,
    };
    serde_json::from_slice(&text).map_err(|e| Error::internal_from("a hop that does not parse", e))
}

/// Declares the organizations' Durable Object class `$name` for the application's organization
/// side `$app` ([`OrgApp`]); bind it as `ORGS` (or what
/// [`UserDoWorker::organizations`](crate::UserDoWorker::organizations) names).
#[macro_export]
macro_rules! org_object {
    ($name:ident, $app:ty) => {
        $crate::__durable_object!(
            __userdo_org_object,
            "The per-organization Durable Object.",
            $name,
            $crate::OrgDoObject<$app>
        );
    };
}
