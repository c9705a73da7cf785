//! The application's own routes: handlers in the worker that get the confirmed caller
//! ([`AuthUser`]), object routes forwarded to [`UserApp::fetch`](crate::UserApp::fetch) (either
//! costs one trip to the user's object), and public routes that no session authenticates. Each
//! gets its path parameters ([`PathParams`]).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use serde_json::Value as Json;
use userdo::api::User;
use userdo::token::AccessClaims;
use userdo::{Error, Result, Settings};
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
pub(super) type PublicHandler = Rc<dyn Fn(Request, PathParams) -> BoxFuture>;

/// The `{name}` segments of a route's path, decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams(Vec<(String, String)>);

impl PathParams {
    /// The parameters of `pattern` in `path` (which must fit it), percent-decoded strictly: a
    /// bad escape is 400 on that parameter.
    pub(super) fn of(pattern: &str, path: &str) -> Result<Self> {
        let names = pattern
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')));
        let values = crate::routes::captures(pattern, path).unwrap_or_default();
        names
            .zip(values)
            .map(|(name, raw)| {
                parse::percent_decode(raw, false)
                    .map(|value| (name.to_owned(), value))
                    .ok_or_else(|| Error::field(name, "is not valid percent-encoded UTF-8"))
            })
            .collect::<Result<_>>()
            .map(Self)
    }

    /// The value of `{name}`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What an application route does.
#[derive(Clone)]
pub(super) enum AppAction {
    /// A handler in the worker, given the confirmed caller.
    Worker(Handler),
    /// A handler in the worker for anyone: no session is asked for.
    Public(PublicHandler),
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
    /// The route's path parameters.
    pub params: PathParams,
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
    /// The verified claims of the caller's access token (its session was confirmed live).
    pub fn claims(&self) -> &AccessClaims {
        &self.claims
    }

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
            orgs: None,
            caller: Some(self.claims.clone()),
            user_agent: String::new(),
            failures: None,
            finish: None,
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
        params: PathParams,
        mut req: Request,
        env: &Env,
        origins: &Origins<'_>,
        settings: &Settings,
    ) -> Result<Response> {
        if let AppAction::Public(handler) = action {
            return handler(req, params).await;
        }
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
                    orgs: None,
                    caller: Some(claims),
                    user_agent,
                    failures: None,
                    finish: None,
                    call,
                };
                forward::send(&stub, &hop, false).await
            }
            AppAction::Worker(handler) => {
                let hop = Hop {
                    orgs: None,
                    caller: Some(claims.clone()),
                    user_agent: String::new(),
                    failures: None,
                    finish: None,
                    call: Call::Me,
                };
                let me = forward::send(&stub, &hop, false).await?;
                if me.status_code() != 200 {
                    // The object's API error (a revoked session, say) goes to the client as is.
                    return Ok(me);
                }
                let UserBody { user } = crate::http::body_json(me, "the user's answer").await?;
                let session_id = claims.sid.clone();
                handler(
                    req,
                    AuthUser {
                        user,
                        session_id,
                        params,
                        claims,
                        stub,
                    },
                )
                .await
            }
            AppAction::Public(_) => unreachable_public(),
        }
    }
}

/// Public routes are answered before any credential is read (above).
fn unreachable_public() -> Result<Response> {
    Err(Error::internal(
        "a public route reached the authenticated path",
    ))
}
