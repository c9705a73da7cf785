//! The application's own routes: handlers in the worker that get the confirmed caller
//! ([`AuthUser`]), and object routes forwarded to [`UserApp::fetch`](crate::UserApp::fetch).
//! Either costs one trip to the user's object.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use serde_json::Value as Json;
use userdo::api::User;
use userdo::token::AccessClaims;
use userdo::{Result, Settings};
use worker::{Env, Method, Request, Response, Stub};

use super::credentials::{Origins, header, verified_caller};
use super::parse::{self, Target};
use super::{UserDoWorker, forward, has_body};
use crate::hop::{Call, Hop};
use crate::http::{read_body, require_json};
use crate::responses::UserBody;
use crate::routes::DATA_BODY_LIMIT;

pub(super) type BoxFuture = Pin<Box<dyn Future<Output = Result<Response>>>>;
pub(super) type Handler = Rc<dyn Fn(Request, AuthUser) -> BoxFuture>;

/// What an application route does.
#[derive(Clone)]
pub(super) enum AppAction {
    /// A handler in the worker, given the confirmed caller.
    Worker(Handler),
    /// Forwarded to the user's object, where [`UserApp::fetch`](crate::UserApp::fetch) answers.
    Object,
}

pub(super) struct AppRoute {
    pub(super) method: Method,
    pub(super) pattern: String,
    pub(super) action: AppAction,
}

/// The caller of an application route: a live session, confirmed by the user's object before
/// the handler runs.
pub struct AuthUser {
    /// The account.
    pub user: User,
    /// The session the request belongs to.
    pub session_id: String,
    claims: AccessClaims,
    stub: Stub,
}

impl std::fmt::Debug for AuthUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthUser")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl AuthUser {
    /// Sends a request to this user's object, where [`UserApp::fetch`](crate::UserApp::fetch)
    /// answers it (with the session checked again there). `path` starts with `/`. A route that
    /// only forwards is cheaper as [`UserDoWorker::object_route`] (one trip instead of two).
    pub async fn object_fetch(
        &self,
        method: Method,
        path: &str,
        body: Option<&Json>,
    ) -> Result<Response> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let hop = Hop {
            caller: Some(self.claims.clone()),
            user_agent: String::new(),
            call: Call::App {
                method: method.to_string(),
                path: path.to_owned(),
                query: query.to_owned(),
                body: body.cloned(),
            },
        };
        forward::send(&self.stub, &hop, false).await
    }
}

impl UserDoWorker {
    /// An application route: the caller's session is verified here and confirmed in the object,
    /// in the one trip the route takes.
    pub(super) async fn app_route(
        &self,
        action: AppAction,
        mut req: Request,
        env: &Env,
        origins: &Origins<'_>,
        settings: &Settings,
    ) -> Result<Response> {
        let claims = verified_caller(&req, origins, settings, false)?;
        let namespace = env.durable_object(&self.binding)?;
        let stub = forward::stub(&namespace, &Target::User(claims.sub.clone()))?;
        match action {
            AppAction::Object => {
                let body = if has_body(&req) {
                    require_json(&req)?;
                    Some(parse::any_json(
                        &read_body(&mut req, DATA_BODY_LIMIT).await?,
                    )?)
                } else {
                    None
                };
                let call = Call::App {
                    method: req.method().to_string(),
                    path: origins.url.path().to_owned(),
                    query: origins.url.query().unwrap_or_default().to_owned(),
                    body,
                };
                let user_agent = header(req.headers(), "user-agent").unwrap_or_default();
                let hop = Hop {
                    caller: Some(claims),
                    user_agent,
                    call,
                };
                forward::send(&stub, &hop, false).await
            }
            AppAction::Worker(handler) => {
                let hop = Hop {
                    caller: Some(claims.clone()),
                    user_agent: String::new(),
                    call: Call::Me,
                };
                let mut me = forward::send(&stub, &hop, false).await?;
                if me.status_code() != 200 {
                    // The object's API error (a revoked session, say) goes to the client as is.
                    return Ok(me);
                }
                let UserBody { user } = me.json().await?;
                let session_id = claims.sid.clone();
                handler(
                    req,
                    AuthUser {
                        user,
                        session_id,
                        claims,
                        stub,
                    },
                )
                .await
            }
        }
    }
}
