//! The worker: one pipeline driven by the route table ([`crate::routes`]). For each request it
//! finds the endpoint, checks what can be checked without the user's object (the token's
//! signature, CSRF, the body's size, type and shape, rate limits), builds the typed call once,
//! sends it to the right object and sets or clears the auth cookies of the answer.

mod app_routes;
mod credentials;
mod forward;
#[cfg(test)]
mod fuzz;
mod limits;
mod oauth;
mod parse;

use std::future::Future;
use std::rc::Rc;

use userdo::{Error, Result};
use worker::{Env, Headers, Method, Request, Response, web_sys};

use crate::hop::{Finish, Hop};
use crate::http::{
    REFRESH_COOKIE, RequestUrl, cookie, error_response, is_local_http, is_loopback_host,
    json_media_type, read_declared_body, read_streamed_body, with_cors,
};
use crate::routes::{self, Auth, Body, Endpoint, Lookup, Verb};
use crate::settings::shared_settings;
use credentials::{Origins, allowed_origins, cors_origin, header, preflight, verified_caller};
use limits::Limits;
use parse::Parts;

use app_routes::{AppAction, AppRoute, Handler, PublicHandler};
pub use app_routes::{AuthUser, PathParams};

/// What the worker answers: built by the worker (its CORS headers still to add), or a user's
/// object's answer, CORS headers included, which goes back to the client as it is.
enum Answer {
    Worker(Response),
    Object(web_sys::Response),
}

/// The worker half of userdo: every endpoint of the API for the Durable Object binding the
/// project chose, plus the application's own authenticated routes.
///
/// ```ignore
/// #[event(fetch)]
/// async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
///     UserDoWorker::new("USERDO")
///         // Answered in the worker, for a live session (one trip to the user's object).
///         .route(Method::Get, "/api/hello", |_req, user| async move {
///             worker_factory::http::respond(200, &serde_json::json!({ "hello": user.user.email }))
///         })
///         // Answered in the user's object by `UserApp::fetch` (one trip, session checked there).
///         .object_route(Method::Post, "/api/visits")
///         .fetch(req, env)
///         .await
/// }
/// ```
pub struct UserDoWorker {
    binding: String,
    limiter: Option<String>,
    orgs: Option<String>,
    routes: Vec<AppRoute>,
}

impl std::fmt::Debug for UserDoWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserDoWorker")
            .field("binding", &self.binding)
            .finish_non_exhaustive()
    }
}

impl UserDoWorker {
    /// A worker for the Durable Object namespace bound as `binding` (the default worker uses
    /// `"USERDO"`).
    pub fn new(binding: &str) -> Self {
        Self {
            binding: binding.to_owned(),
            limiter: Some("RATE_LIMITER".to_owned()),
            orgs: Some("ORGS".to_owned()),
            routes: Vec::new(),
        }
    }

    /// The binding of the rate-limiter Durable Object ([`limiter_object!`](crate::limiter_object));
    /// `"RATE_LIMITER"` unless set here. Without that binding every request fails with a log line
    /// that says so, rather than running without limits.
    pub fn rate_limiter(mut self, binding: &str) -> Self {
        self.limiter = Some(binding.to_owned());
        self
    }

    /// The binding of the organizations' Durable Object class
    /// ([`org_object!`](crate::org_object)); `"ORGS"` unless set here. Without that binding the
    /// organization endpoints answer 500 with a log line that says so.
    pub fn organizations(mut self, binding: &str) -> Self {
        self.orgs = Some(binding.to_owned());
        self
    }

    /// Runs without the signup, login and reset rate limits: only for setups that limit these
    /// paths in front of the worker (for example with Cloudflare's rate-limiting rules).
    pub fn dangerous_without_rate_limits(mut self) -> Self {
        self.limiter = None;
        self
    }

    /// Adds an application route answered in the worker. The handler runs only for a live
    /// session (confirmed in the user's object: one trip) and receives it. `path` may hold
    /// `{name}` segments, which match any one segment.
    pub fn route<F, Fut>(mut self, method: Method, path: &str, handler: F) -> Self
    where
        F: Fn(Request, AuthUser) -> Fut + 'static,
        Fut: Future<Output = Result<Response>> + 'static,
    {
        let handler: Handler = Rc::new(move |req, user| Box::pin(handler(req, user)));
        self.routes.push(AppRoute {
            method,
            pattern: path.to_owned(),
            action: AppAction::Worker(handler),
        });
        self
    }

    /// Adds a public application route, answered in the worker for anyone (no session is asked
    /// for, and nothing reaches a user's object unless the handler sends it). The handler gets
    /// the path parameters.
    pub fn public_route<F, Fut>(mut self, method: Method, path: &str, handler: F) -> Self
    where
        F: Fn(Request, PathParams) -> Fut + 'static,
        Fut: Future<Output = Result<Response>> + 'static,
    {
        let handler: PublicHandler = Rc::new(move |req, params| Box::pin(handler(req, params)));
        self.routes.push(AppRoute {
            method,
            pattern: path.to_owned(),
            action: AppAction::Public(handler),
        });
        self
    }

    /// Adds an application route answered in the user's object by
    /// [`UserApp::fetch`](crate::UserApp::fetch), which sees the path as the client sent it. The
    /// session is checked there, in the same trip. A body must be JSON (at most 1 MiB).
    pub fn object_route(mut self, method: Method, path: &str) -> Self {
        self.routes.push(AppRoute {
            method,
            pattern: path.to_owned(),
            action: AppAction::Object,
        });
        self
    }

    /// Answers a request. Every error becomes a JSON error response. [`serve`](Self::serve)
    /// does the same with the runtime's own request and answers with the runtime's own
    /// response, which saves a conversion each way.
    pub async fn fetch(&self, req: Request, env: Env) -> worker::Result<Response> {
        self.serve(Clone::clone(req.inner()), env)
            .await
            .map(Response::from)
    }

    /// [`fetch`](Self::fetch), for the runtime's own request and response: a `#[event(fetch)]`
    /// handler that takes a `web_sys::Request` and answers a `web_sys::Response` (the default
    /// worker's does). Building a `worker::Request` reads the request's method, URL, headers and
    /// `cf` back from JavaScript, `cf` as a new object of some 30 properties each time; the
    /// worker reads what it needs once, and builds a `worker::Request` only for the
    /// application's worker routes and the sign-in providers' endpoints. Likewise, the answer of
    /// a user's object, which adds its own CORS headers, goes back to the client as the runtime
    /// handed it over, never read into wasm and rebuilt.
    pub async fn serve(
        &self,
        req: web_sys::Request,
        env: Env,
    ) -> worker::Result<web_sys::Response> {
        let req = Incoming::new(req);
        let url = match RequestUrl::parse(req.raw.url()) {
            Ok(url) => url,
            Err(error) => return error_response(&error).map(Into::into),
        };
        let allowed = allowed_origins(&env);
        let origin = header(&req.headers, "origin");
        let cors_origin = cors_origin(origin, &allowed);
        let result = if req.method == Method::Options {
            preflight(cors_origin.as_deref()).map(Answer::Worker)
        } else {
            let origins = Origins {
                url: &url,
                allowed: &allowed,
                cors: cors_origin.as_deref(),
            };
            self.handle(req, &env, &origins).await
        };
        let response = match result {
            Ok(Answer::Object(response)) => return Ok(response),
            Ok(Answer::Worker(response)) => response,
            Err(error) => error_response(&error)?,
        };
        if response.status_code() == 101 {
            // An accepted WebSocket passes through untouched.
            return Ok(response.into());
        }
        with_cors(response, cors_origin.as_deref()).map(Into::into)
    }

    async fn handle(&self, req: Incoming, env: &Env, origins: &Origins<'_>) -> Result<Answer> {
        let settings = shared_settings(env)?;
        let url = origins.url;
        let (endpoint, params) = match self.lookup(&req.method, url.path())? {
            Matched::Builtin(endpoint, params) => (endpoint, params),
            Matched::App(action, pattern) => {
                let params = PathParams::of(&pattern, url.path())?;
                return self
                    .app_route(action, params, req.into_request(), env, origins, &settings)
                    .await
                    .map(Answer::Worker);
            }
        };
        let route = endpoint.route();
        let secure = !is_local_http(url);
        let namespace = env.durable_object(&self.binding)?;
        let limits = self.limits(env, &req, &settings, route.limit.is_some())?;
        // Development routes exist only with DEV_OUTBOX, and only for requests to this machine:
        // a deploy that sets it by mistake still does not show them.
        if route.dev_only
            && !(crate::mail::dev_outbox_enabled(env) && is_loopback_host(url.host_str()))
        {
            return Err(Error::NotFound("no such endpoint".into()));
        }
        if route.auth == Auth::Public {
            let ctx = oauth::Ctx {
                env,
                origins,
                settings: &settings,
                namespace: &namespace,
                secure,
                limits: limits.as_ref().zip(route.limit),
            };
            return oauth::answer(endpoint, &params, &req.into_request(), &ctx)
                .await
                .map(Answer::Worker);
        }
        // A session is checked before the body is read: an unauthenticated request learns
        // nothing of the body's rules.
        let caller = match route.auth {
            Auth::Session => Some(verified_caller(&req, origins, &settings, false)?),
            // Without a valid access token, the refresh cookie names the session (parse::call).
            Auth::SessionOrRefresh => match verified_caller(&req, origins, &settings, false) {
                Ok(caller) => Some(caller),
                Err(Error::CsrfRejected) => return Err(Error::CsrfRejected),
                Err(_) if cookie(&req.headers, REFRESH_COOKIE).is_some() => None,
                Err(e) => return Err(e),
            },
            Auth::Socket if !has_ticket(url) => {
                Some(verified_caller(&req, origins, &settings, true)?)
            }
            _ => None,
        };
        let body = match route.body {
            Body::None => None,
            Body::Json(limit) => Some(req.json_body(limit).await?),
            Body::OptionalJson(limit) if has_body(&req) => Some(req.json_body(limit).await?),
            Body::OptionalJson(_) => None,
        };
        let (call, target) = parse::call(Parts {
            endpoint,
            params,
            url,
            headers: &req.headers,
            origins,
            body,
            caller: caller.as_ref(),
        })?;
        if let (Some(limits), Some(bucket)) = (&limits, route.limit) {
            limits
                .before(bucket, || forward::account_id(&namespace, &target))
                .await?;
        }
        let stub = forward::stub(&namespace, &target)?;
        // The object finishes its answer (auth cookies, CORS headers) as the worker would, and
        // the answer goes back as the runtime hands it over; only an invitation's is read here.
        let as_is = endpoint != Endpoint::OrgInvite;
        let hop = Hop {
            orgs: self.orgs.clone(),
            caller,
            user_agent: header(&req.headers, "user-agent").unwrap_or_default(),
            // The account's failed logins are counted in its own object, in this trip.
            failures: route
                .limit
                .filter(|bucket| limits.is_some() && bucket.concerns_failed_logins())
                .map(|_| settings.limits.login_failures),
            finish: as_is.then(|| Finish {
                origin: origins.cors.map(str::to_owned),
                secure,
            }),
            call,
        };
        let websocket = matches!(endpoint, Endpoint::WebSocket | Endpoint::OrgWebSocket);
        if as_is {
            return Ok(Answer::Object(
                crate::hop::send_raw(stub, &hop, websocket).await?,
            ));
        }
        let response = forward::send(&stub, &hop, websocket).await?;
        if response.status_code() == 201 {
            return forward::send_invitation(&namespace, response)
                .await
                .map(Answer::Worker);
        }
        Ok(Answer::Worker(response))
    }

    /// The rate limits of a request, when the worker counts them and the endpoint is `limited`
    /// (the client's IP is read and keyed only then). A missing limiter binding fails every
    /// request, limited or not.
    fn limits<'s>(
        &self,
        env: &Env,
        req: &Incoming,
        settings: &'s userdo::Settings,
        limited: bool,
    ) -> Result<Option<Limits<'s>>> {
        let Some(binding) = &self.limiter else {
            return Ok(None);
        };
        let namespace = env.durable_object(binding).map_err(|_| {
            Error::Config(format!(
                "the rate-limiter binding {binding} is missing: bind the class of \
                 worker_factory::limiter_object!, or call dangerous_without_rate_limits()"
            ))
        })?;
        if !limited {
            return Ok(None);
        }
        let ip = header(&req.headers, "cf-connecting-ip");
        Ok(Some(Limits::new(namespace, settings, ip.as_deref())))
    }

    /// The endpoint or application route of a method and path: 405 for a known path with
    /// another method, 404 for an unknown one.
    fn lookup<'p>(&self, method: &Method, path: &'p str) -> Result<Matched<'p>> {
        let mut other_method = false;
        match verb(method).map(|verb| routes::lookup(verb, path)) {
            Some(Lookup::Found(endpoint, params)) => return Ok(Matched::Builtin(endpoint, params)),
            Some(Lookup::OtherMethod) => other_method = true,
            Some(Lookup::Missing) => {}
            None => {
                other_method = Endpoint::ALL
                    .iter()
                    .any(|e| routes::matches(e.route().path, path));
            }
        }
        for route in &self.routes {
            if routes::matches(&route.pattern, path) {
                if route.method == *method {
                    return Ok(Matched::App(route.action.clone(), route.pattern.clone()));
                }
                other_method = true;
            }
        }
        Err(if other_method {
            Error::MethodNotAllowed
        } else {
            Error::NotFound("no such endpoint".into())
        })
    }
}

enum Matched<'p> {
    Builtin(Endpoint, Vec<&'p str>),
    /// An application route, with its pattern.
    App(AppAction, String),
}

/// The contract's name of a method (`None` for `HEAD` and the like).
fn verb(method: &Method) -> Option<Verb> {
    Some(match method {
        Method::Get => Verb::Get,
        Method::Post => Verb::Post,
        Method::Put => Verb::Put,
        Method::Patch => Verb::Patch,
        Method::Delete => Verb::Delete,
        _ => return None,
    })
}

fn has_ticket(url: &RequestUrl) -> bool {
    url.query_pairs().any(|(k, _)| k == "ticket")
}

/// Whether the request carries a body at all (`Content-Length` above 0, or a `Content-Type`).
fn has_body(req: &impl ClientRequest) -> bool {
    header(req.headers(), "content-length").is_some_and(|l| l.trim() != "0")
        || req.headers().has("content-type").unwrap_or(false)
}

/// What the worker reads of the client's request: its method and headers.
pub(super) trait ClientRequest {
    fn headers(&self) -> &Headers;
    fn method(&self) -> Method;
}

impl ClientRequest for Request {
    fn headers(&self) -> &Headers {
        Request::headers(self)
    }

    fn method(&self) -> Method {
        Request::method(self)
    }
}

/// The client's request as the runtime gave it, with its method and headers read once
/// ([`UserDoWorker::serve`]).
pub(super) struct Incoming {
    raw: web_sys::Request,
    method: Method,
    headers: Headers,
}

impl ClientRequest for Incoming {
    fn headers(&self) -> &Headers {
        &self.headers
    }

    fn method(&self) -> Method {
        self.method.clone()
    }
}

impl Incoming {
    fn new(raw: web_sys::Request) -> Self {
        Self {
            method: Method::from(raw.method()),
            headers: Headers(raw.headers()),
            raw,
        }
    }

    /// The `worker::Request` of it, for the routes whose handlers take one.
    fn into_request(self) -> Request {
        Request::from(self.raw)
    }

    /// The body, which must be JSON (415) of at most `limit` bytes (413), read as
    /// [`read_body`](crate::http::read_body) reads it.
    async fn json_body(&self, limit: usize) -> Result<Vec<u8>> {
        json_media_type(header(&self.headers, "content-type").as_deref())?;
        match read_declared_body(&self.raw, &self.headers, limit).await? {
            Some(body) => Ok(body),
            // A chunked body: streamed through a `worker::Request` (a rare request).
            None => read_streamed_body(&mut Request::from(Clone::clone(&self.raw)), limit).await,
        }
    }
}
