//! The worker: routes each request to the right user's object, after checking what can be checked
//! without it (body size and shape, token signature, CSRF origin), and sets the auth cookies.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::Uint8Array;
use serde_json::{Value, json};
use userdo::api::{
    self, Credentials, RefreshRequest, ResetConfirm, ResetRequest, User, VerificationConfirm,
};
use userdo::token::{self, OpaqueKind};
use userdo::{Error, Result, Settings, email};
use worker::{Env, Headers, Method, Request, RequestInit, Response, Stub, Url};

use crate::http::{
    AUTH_BODY_LIMIT, DATA_BODY_LIMIT, REFRESH_COOKIE, TOKEN_COOKIE, cookie, error_response,
    internal, is_local_http, json, origin_of, read_body, require_json, set_cookie,
};
use crate::limiter;
use crate::object::APP_PREFIX;
use crate::settings::{env_value, settings_from_env};

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response>>>>;
type Handler = Rc<dyn Fn(Request, AuthUser) -> BoxFuture>;

/// The built-in endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Signup,
    Login,
    Refresh,
    Logout,
    Me,
    Sessions,
    RevokeSession,
    RevokeOthers,
    ChangePassword,
    ResetRequest,
    ResetConfirm,
    VerificationRequest,
    VerificationConfirm,
    DeleteAccount,
    DevOutbox,
    /// `POST /api/ws/ticket`.
    WsTicket,
    /// `GET /api/ws`: the WebSocket upgrade.
    WebSocket,
    /// `GET /api/dev/object`: the object's instance name (with `DEV_OUTBOX` only).
    DevObject,
    /// KV, table and RPC endpoints: authenticated, forwarded to the user's object with their query and
    /// body, answered there.
    Data,
}

const ROUTES: &[(Method, &str, Endpoint)] = &[
    (Method::Post, "/api/signup", Endpoint::Signup),
    (Method::Post, "/api/login", Endpoint::Login),
    (Method::Post, "/api/refresh", Endpoint::Refresh),
    (Method::Post, "/api/logout", Endpoint::Logout),
    (Method::Get, "/api/me", Endpoint::Me),
    (Method::Get, "/api/sessions", Endpoint::Sessions),
    (
        Method::Post,
        "/api/sessions/revoke-others",
        Endpoint::RevokeOthers,
    ),
    (
        Method::Delete,
        "/api/sessions/{id}",
        Endpoint::RevokeSession,
    ),
    (
        Method::Post,
        "/api/password/change",
        Endpoint::ChangePassword,
    ),
    (
        Method::Post,
        "/api/password-reset/request",
        Endpoint::ResetRequest,
    ),
    (
        Method::Post,
        "/api/password-reset/confirm",
        Endpoint::ResetConfirm,
    ),
    (
        Method::Post,
        "/api/email-verification/request",
        Endpoint::VerificationRequest,
    ),
    (
        Method::Post,
        "/api/email-verification/confirm",
        Endpoint::VerificationConfirm,
    ),
    (Method::Delete, "/api/account", Endpoint::DeleteAccount),
    (Method::Get, "/api/dev/outbox", Endpoint::DevOutbox),
    (Method::Post, "/api/ws/ticket", Endpoint::WsTicket),
    (Method::Get, "/api/ws", Endpoint::WebSocket),
    (Method::Get, "/api/dev/object", Endpoint::DevObject),
    (Method::Post, "/api/rpc", Endpoint::Data),
    (Method::Get, "/api/kv", Endpoint::Data),
    (Method::Get, "/api/kv/{key}", Endpoint::Data),
    (Method::Put, "/api/kv/{key}", Endpoint::Data),
    (Method::Delete, "/api/kv/{key}", Endpoint::Data),
    (Method::Get, "/data", Endpoint::Data),
    (Method::Post, "/data", Endpoint::Data),
    (Method::Get, "/api/tables/{table}", Endpoint::Data),
    (Method::Post, "/api/tables/{table}", Endpoint::Data),
    (Method::Get, "/api/tables/{table}/{id}", Endpoint::Data),
    (Method::Patch, "/api/tables/{table}/{id}", Endpoint::Data),
    (Method::Delete, "/api/tables/{table}/{id}", Endpoint::Data),
];

enum Matched {
    Builtin(Endpoint),
    App(Handler),
}

struct AppRoute {
    method: Method,
    pattern: String,
    handler: Handler,
}

/// The worker half of userdo: every auth endpoint of the API, for the Durable Object binding the
/// project chose, plus the application's own authenticated routes.
///
/// ```ignore
/// #[event(fetch)]
/// async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
///     UserDoWorker::new("USERDO")
///         .route(Method::Get, "/api/hello", |_req, user| async move {
///             worker_factory::http::json(200, &serde_json::json!({ "hello": user.user.email }))
///                 .map_err(worker_factory::http::internal)
///         })
///         .fetch(req, env)
///         .await
/// }
/// ```
pub struct UserDoWorker {
    binding: String,
    limiter: Option<String>,
    routes: Vec<AppRoute>,
}

impl std::fmt::Debug for UserDoWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserDoWorker")
            .field("binding", &self.binding)
            .finish_non_exhaustive()
    }
}

/// The authenticated caller of an application route: a live session, confirmed by the user's
/// object before the handler runs.
pub struct AuthUser {
    /// The account.
    pub user: User,
    /// The session the request belongs to.
    pub session_id: String,
    token: String,
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
    /// answers it (with the session checked again there). `path` starts with `/`.
    pub async fn object_fetch(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response> {
        let bytes = body.map(|b| b.to_string().into_bytes());
        let req = internal_request(
            method,
            &format!("{APP_PREFIX}{path}"),
            &self.token,
            "",
            bytes,
        )?;
        self.stub.fetch_with_request(req).await.map_err(internal)
    }
}

impl UserDoWorker {
    /// A worker for the Durable Object namespace bound as `binding` (the default worker uses
    /// `"USERDO"`).
    pub fn new(binding: &str) -> Self {
        Self {
            binding: binding.to_owned(),
            limiter: Some("RATE_LIMITER".to_owned()),
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

    /// Runs without the signup, login and reset rate limits: only for setups that limit these
    /// paths in front of the worker (for example with Cloudflare's rate-limiting rules).
    pub fn dangerous_without_rate_limits(mut self) -> Self {
        self.limiter = None;
        self
    }

    /// Adds an application route. The handler runs only for a live session, and receives it.
    /// `path` may hold `{name}` segments, which match any one segment.
    pub fn route<F, Fut>(mut self, method: Method, path: &str, handler: F) -> Self
    where
        F: Fn(Request, AuthUser) -> Fut + 'static,
        Fut: Future<Output = Result<Response>> + 'static,
    {
        let handler: Handler = Rc::new(move |req, user| Box::pin(handler(req, user)));
        self.routes.push(AppRoute {
            method,
            pattern: path.to_owned(),
            handler,
        });
        self
    }

    /// Answers a request. Every error becomes a JSON error response.
    pub async fn fetch(&self, req: Request, env: Env) -> worker::Result<Response> {
        let url = req.url()?;
        let allowed = allowed_origins(&env);
        let origin = req.headers().get("origin").ok().flatten();
        let cors_origin = origin.filter(|o| allowed.iter().any(|a| a == o));
        let result = if req.method() == Method::Options {
            preflight(cors_origin.as_deref())
        } else {
            self.handle(req, &env, &url, &allowed).await
        };
        let response = match result {
            Ok(response) => response,
            Err(error) => error_response(&error)?,
        };
        if response.status_code() == 101 {
            // An accepted WebSocket passes through untouched.
            return Ok(response);
        }
        with_cors(response, cors_origin.as_deref())
    }

    async fn handle(
        &self,
        mut req: Request,
        env: &Env,
        url: &Url,
        allowed: &[String],
    ) -> Result<Response> {
        let settings = settings_from_env(env)?;
        let matched = self.match_route(&req.method(), url.path())?;
        let secure = !is_local_http(url);
        let namespace = env.durable_object(&self.binding).map_err(internal)?;
        let limiter = match &self.limiter {
            Some(binding) => Some(env.durable_object(binding).map_err(|_| {
                Error::Config(format!(
                    "the rate-limiter binding {binding} is missing: bind the class of \
                     worker_factory::limiter_object!, or call dangerous_without_rate_limits()"
                ))
            })?),
            None => None,
        };
        let ip = req
            .headers()
            .get("cf-connecting-ip")
            .ok()
            .flatten()
            .unwrap_or_else(|| "unknown".into());
        let endpoint = match matched {
            Matched::App(handler) => {
                let (token, _) = self.credentials(&req, url, allowed, &settings)?;
                let claims = settings.keys.verify_access(&token, now_secs())?;
                let stub = stub_for_user(&namespace, &claims.sub)?;
                let me = forward(
                    &stub,
                    internal_request(Method::Get, "/api/me", &token, "", None)?,
                )
                .await?;
                let me: Value = read_json(me, 200).await?;
                let user: User = serde_json::from_value(me["user"].clone())
                    .map_err(|e| Error::internal_from("object answered /api/me", e))?;
                return handler(
                    req,
                    AuthUser {
                        user,
                        session_id: claims.sid,
                        token,
                        stub,
                    },
                )
                .await;
            }
            Matched::Builtin(endpoint) => endpoint,
        };
        let user_agent = req
            .headers()
            .get("user-agent")
            .ok()
            .flatten()
            .unwrap_or_default();
        match endpoint {
            Endpoint::Signup | Endpoint::Login => {
                require_json(&req)?;
                let body = read_body(&mut req, AUTH_BODY_LIMIT).await?;
                let c: Credentials = api::parse_body(&body)?;
                let normalized = email::normalize(c.email.as_deref().unwrap_or_default())?;
                let stub = stub_for_email(&namespace, &normalized)?;
                let is_login = endpoint == Endpoint::Login;
                // Failed logins are counted per email, whether or not it has an account, so a
                // 429 does not tell which emails exist.
                let failures = format!("login-failures:{}", email::object_name(&normalized));
                if let Some(limiter) = &limiter {
                    let limits = &settings.limits;
                    if is_login {
                        limiter::check(
                            limiter,
                            &format!("login-ip:{ip}"),
                            limits.login_per_ip,
                            true,
                        )
                        .await?;
                        limiter::check(limiter, &failures, limits.login_failures, false).await?;
                    } else {
                        limiter::check(
                            limiter,
                            &format!("signup-ip:{ip}"),
                            limits.signup_per_ip,
                            true,
                        )
                        .await?;
                    }
                }
                let body = json!({ "email": normalized, "password": c.password });
                let path = if is_login {
                    "/api/login"
                } else {
                    "/api/signup"
                };
                let response =
                    issue_tokens(&stub, path, &body, &user_agent, &settings, secure).await?;
                if let Some(limiter) = limiter
                    .as_ref()
                    .filter(|_| is_login && response.status_code() == 401)
                {
                    // This failure is counted; the next attempt learns whether it went over.
                    let _ =
                        limiter::check(limiter, &failures, settings.limits.login_failures, true)
                            .await;
                }
                Ok(response)
            }
            Endpoint::Refresh => {
                let has_body = req
                    .headers()
                    .get("content-length")
                    .ok()
                    .flatten()
                    .is_some_and(|l| l.trim() != "0")
                    || req.headers().has("content-type").unwrap_or(false);
                let from_body = if has_body {
                    require_json(&req)?;
                    let r: RefreshRequest =
                        api::parse_body(&read_body(&mut req, AUTH_BODY_LIMIT).await?)?;
                    r.refresh_token
                } else {
                    None
                };
                let token = match from_body {
                    Some(token) => token,
                    None => {
                        let token =
                            cookie(req.headers(), REFRESH_COOKIE).ok_or(Error::Unauthenticated)?;
                        check_origin(&req, url, allowed)?;
                        token
                    }
                };
                let user_id = token::opaque_user_id(OpaqueKind::Refresh, &token)
                    .ok_or(Error::InvalidToken)?;
                let stub = stub_for_user(&namespace, user_id)?;
                let body = json!({ "refreshToken": token });
                issue_tokens(&stub, "/api/refresh", &body, &user_agent, &settings, secure).await
            }
            Endpoint::ResetRequest => {
                require_json(&req)?;
                let r: ResetRequest =
                    api::parse_body(&read_body(&mut req, AUTH_BODY_LIMIT).await?)?;
                let normalized = email::normalize(r.email.as_deref().unwrap_or_default())?;
                if let Some(limiter) = &limiter {
                    limiter::check(
                        limiter,
                        &format!("reset-ip:{ip}"),
                        settings.limits.reset_per_ip,
                        true,
                    )
                    .await?;
                }
                let stub = stub_for_email(&namespace, &normalized)?;
                let body = json!({ "email": normalized }).to_string().into_bytes();
                forward(
                    &stub,
                    internal_request(Method::Post, url.path(), "", "", Some(body))?,
                )
                .await
            }
            Endpoint::ResetConfirm | Endpoint::VerificationConfirm => {
                require_json(&req)?;
                let bytes = read_body(&mut req, AUTH_BODY_LIMIT).await?;
                let (kind, token) = if endpoint == Endpoint::ResetConfirm {
                    (
                        OpaqueKind::PasswordReset,
                        api::parse_body::<ResetConfirm>(&bytes)?.token,
                    )
                } else {
                    (
                        OpaqueKind::EmailVerification,
                        api::parse_body::<VerificationConfirm>(&bytes)?.token,
                    )
                };
                let token = token.unwrap_or_default();
                let user_id = token::opaque_user_id(kind, &token).ok_or(Error::InvalidToken)?;
                let stub = stub_for_user(&namespace, user_id)?;
                forward(
                    &stub,
                    internal_request(Method::Post, url.path(), "", "", Some(bytes))?,
                )
                .await
            }
            Endpoint::DevOutbox => {
                if !crate::mail::dev_outbox_enabled(env) {
                    return Err(Error::NotFound("no such endpoint".into()));
                }
                let raw = url
                    .query_pairs()
                    .find(|(k, _)| k == "email")
                    .map(|(_, v)| v.into_owned())
                    .ok_or_else(|| Error::InvalidQuery("the query needs ?email=".into()))?;
                let normalized = email::normalize(&raw)
                    .map_err(|_| Error::InvalidQuery("email is not an email address".into()))?;
                let stub = stub_for_email(&namespace, &normalized)?;
                forward(
                    &stub,
                    internal_request(Method::Get, "/api/dev/outbox", "", "", None)?,
                )
                .await
            }
            Endpoint::WebSocket => {
                // Verified before anything reaches the object: a ticket names its user (and is
                // proven by its hash there); a token is checked for signature and expiry here,
                // and for its session there, before the socket is accepted.
                let param = |name: &str| {
                    url.query_pairs()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.into_owned())
                };
                let mut query = Vec::new();
                let (stub, token) = match param("ticket") {
                    Some(ticket) => {
                        let user_id = token::opaque_user_id(OpaqueKind::WsTicket, &ticket)
                            .ok_or(Error::InvalidToken)?;
                        query.push(("ticket", ticket.clone()));
                        (stub_for_user(&namespace, user_id)?, String::new())
                    }
                    None => {
                        let (token, by_cookie) = self.credentials(&req, url, allowed, &settings)?;
                        if by_cookie {
                            // Cross-site WebSocket hijacking: a page elsewhere cannot ride the cookie.
                            check_origin(&req, url, allowed)?;
                        }
                        let claims = settings.keys.verify_access(&token, now_secs())?;
                        (stub_for_user(&namespace, &claims.sub)?, token)
                    }
                };
                if let Some(since) = param("since") {
                    query.push(("since", since));
                }
                let upgrade = req.headers().get("upgrade").ok().flatten();
                if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
                    return Err(Error::UpgradeRequired);
                }
                let mut path = Url::parse("https://userdo.internal/api/ws")
                    .map_err(|e| Error::internal_from("url", e))?;
                path.query_pairs_mut().extend_pairs(query);
                let internal_req = internal_request(
                    Method::Get,
                    &format!("/api/ws?{}", path.query().unwrap_or_default()),
                    &token,
                    &user_agent,
                    None,
                )?;
                internal_req
                    .headers()
                    .set("upgrade", "websocket")
                    .map_err(internal)?;
                forward(&stub, internal_req).await
            }
            Endpoint::Data => {
                let (token, _) = self.credentials(&req, url, allowed, &settings)?;
                let claims = settings.keys.verify_access(&token, now_secs())?;
                let stub = stub_for_user(&namespace, &claims.sub)?;
                let method = req.method();
                let body = if matches!(method, Method::Post | Method::Put | Method::Patch) {
                    require_json(&req)?;
                    Some(read_body(&mut req, DATA_BODY_LIMIT).await?)
                } else {
                    None
                };
                let path = match url.query() {
                    Some(query) => format!("{}?{query}", url.path()),
                    None => url.path().to_owned(),
                };
                forward(
                    &stub,
                    internal_request(method, &path, &token, &user_agent, body)?,
                )
                .await
            }
            _ => {
                let (token, _) = self.credentials(&req, url, allowed, &settings)?;
                let claims = settings.keys.verify_access(&token, now_secs())?;
                let stub = stub_for_user(&namespace, &claims.sub)?;
                let method = req.method();
                let body = if matches!(endpoint, Endpoint::ChangePassword | Endpoint::DeleteAccount)
                {
                    require_json(&req)?;
                    Some(read_body(&mut req, AUTH_BODY_LIMIT).await?)
                } else {
                    None
                };
                let internal_req = internal_request(method, url.path(), &token, &user_agent, body)?;
                let response = forward(&stub, internal_req).await?;
                if matches!(endpoint, Endpoint::Logout | Endpoint::DeleteAccount) {
                    return clear_auth_cookies(response, secure);
                }
                Ok(response)
            }
        }
    }

    /// The access token from `Authorization: Bearer` or the `token` cookie. A cookie-authenticated
    /// state change must come from an allowed origin (CSRF); a bearer token needs no such check.
    fn credentials(
        &self,
        req: &Request,
        url: &Url,
        allowed: &[String],
        settings: &Settings,
    ) -> Result<(String, bool)> {
        let _ = settings;
        if let Some(header) = req.headers().get("authorization").ok().flatten() {
            let token = header
                .strip_prefix("Bearer ")
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .ok_or(Error::InvalidToken)?;
            return Ok((token.to_owned(), false));
        }
        let token = cookie(req.headers(), TOKEN_COOKIE).ok_or(Error::Unauthenticated)?;
        if !matches!(req.method(), Method::Get | Method::Head | Method::Options) {
            check_origin(req, url, allowed)?;
        }
        Ok((token, true))
    }

    fn match_route(&self, method: &Method, path: &str) -> Result<Matched> {
        let mut path_exists = false;
        for (m, pattern, endpoint) in ROUTES {
            if matches_pattern(pattern, path) {
                if m == method {
                    return Ok(Matched::Builtin(*endpoint));
                }
                path_exists = true;
            }
        }
        for route in &self.routes {
            if matches_pattern(&route.pattern, path) {
                if route.method == *method {
                    return Ok(Matched::App(route.handler.clone()));
                }
                path_exists = true;
            }
        }
        Err(if path_exists {
            Error::MethodNotAllowed
        } else {
            Error::NotFound("no such endpoint".into())
        })
    }
}

fn matches_pattern(pattern: &str, path: &str) -> bool {
    let mut p = pattern.split('/');
    let mut s = path.split('/');
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) => {
                let is_param = want.starts_with('{') && want.ends_with('}');
                if (is_param && got.is_empty()) || (!is_param && want != got) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn allowed_origins(env: &Env) -> Vec<String> {
    env_value(env, "ALLOWED_ORIGINS")
        .unwrap_or_default()
        .split(',')
        .map(|o| o.trim().trim_end_matches('/').to_owned())
        .filter(|o| !o.is_empty())
        .collect()
}

/// CSRF: the `Origin` must be this worker's own or an allowed one.
fn check_origin(req: &Request, url: &Url, allowed: &[String]) -> Result<()> {
    let origin = req
        .headers()
        .get("origin")
        .ok()
        .flatten()
        .ok_or(Error::CsrfRejected)?;
    if origin == origin_of(url) || allowed.contains(&origin) {
        Ok(())
    } else {
        Err(Error::CsrfRejected)
    }
}

fn preflight(origin: Option<&str>) -> Result<Response> {
    let Some(origin) = origin else {
        return Err(Error::Forbidden("origin not allowed".into()));
    };
    let response = Response::empty().map_err(internal)?.with_status(204);
    let h = response.headers();
    let set = |k: &str, v: &str| h.set(k, v).map_err(internal);
    set(
        "access-control-allow-methods",
        "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    )?;
    set(
        "access-control-allow-headers",
        "authorization, content-type",
    )?;
    set("access-control-max-age", "600")?;
    let _ = origin;
    Ok(response)
}

fn with_cors(response: Response, origin: Option<&str>) -> worker::Result<Response> {
    let response = mutable(response)?;
    let h = response.headers();
    h.append("vary", "Origin")?;
    if let Some(origin) = origin {
        h.set("access-control-allow-origin", origin)?;
        h.set("access-control-allow-credentials", "true")?;
        h.set("access-control-expose-headers", "retry-after")?;
    }
    Ok(response)
}

/// A response whose headers can be changed (those from a stub are immutable).
fn mutable(response: Response) -> worker::Result<Response> {
    let headers = Headers::new();
    for (k, v) in response.headers().entries() {
        headers.append(&k, &v)?;
    }
    let status = response.status_code();
    Ok(response.with_headers(headers).with_status(status))
}

fn stub_for_email(namespace: &worker::ObjectNamespace, normalized_email: &str) -> Result<Stub> {
    namespace
        .id_from_name(&email::object_name(normalized_email))
        .and_then(|id| id.get_stub())
        .map_err(internal)
}

fn stub_for_user(namespace: &worker::ObjectNamespace, user_id: &str) -> Result<Stub> {
    if !token::is_user_id(user_id) {
        return Err(Error::InvalidToken);
    }
    namespace
        .id_from_string(user_id)
        .and_then(|id| id.get_stub())
        .map_err(|_| Error::InvalidToken)
}

/// A request to an object: only what the object needs, rebuilt from scratch, so no header of the
/// client's (spoofed or not) reaches it.
fn internal_request(
    method: Method,
    path: &str,
    token: &str,
    user_agent: &str,
    body: Option<Vec<u8>>,
) -> Result<Request> {
    let headers = Headers::new();
    let set = |k: &str, v: &str| headers.set(k, v).map_err(internal);
    if !token.is_empty() {
        set("authorization", &format!("Bearer {token}"))?;
    }
    if !user_agent.is_empty() {
        set("user-agent", user_agent)?;
    }
    let mut init = RequestInit::new();
    init.with_method(method);
    if let Some(body) = body {
        set("content-type", "application/json")?;
        init.with_body(Some(Uint8Array::from(body.as_slice()).into()));
    }
    init.with_headers(headers);
    Request::new_with_init(&format!("https://userdo.internal{path}"), &init).map_err(internal)
}

async fn forward(stub: &Stub, req: Request) -> Result<Response> {
    stub.fetch_with_request(req).await.map_err(internal)
}

async fn read_json(mut response: Response, expect: u16) -> Result<Value> {
    let status = response.status_code();
    let body: Value = response.json().await.map_err(internal)?;
    if status == expect {
        return Ok(body);
    }
    // Pass the object's API error through unchanged.
    Err(match body["error"]["code"].as_str() {
        Some("session_revoked") => Error::SessionRevoked,
        Some("invalid_token") => Error::InvalidToken,
        Some("unauthenticated") => Error::Unauthenticated,
        _ => Error::internal(format!("object answered {status}")),
    })
}

/// Sends a signup, login or refresh to the user's object and sets the cookies of its answer.
async fn issue_tokens(
    stub: &Stub,
    path: &str,
    body: &Value,
    user_agent: &str,
    settings: &Settings,
    secure: bool,
) -> Result<Response> {
    let bytes = Some(body.to_string().into_bytes());
    let response = forward(
        stub,
        internal_request(Method::Post, path, "", user_agent, bytes)?,
    )
    .await?;
    with_auth_cookies(response, settings, secure).await
}

/// Sets the `token` and `refreshToken` cookies on a successful signup, login or refresh.
async fn with_auth_cookies(
    response: Response,
    settings: &Settings,
    secure: bool,
) -> Result<Response> {
    let status = response.status_code();
    if !(200..300).contains(&status) {
        return mutable(response).map_err(internal);
    }
    let mut response = response;
    let body: Value = response.json().await.map_err(internal)?;
    let (Some(token), Some(refresh)) = (body["token"].as_str(), body["refreshToken"].as_str())
    else {
        return Err(Error::internal("auth response without tokens"));
    };
    let out = json(status, &body).map_err(internal)?;
    let h = out.headers();
    h.append(
        "set-cookie",
        &set_cookie(TOKEN_COOKIE, token, settings.access_ttl_secs, secure),
    )
    .map_err(internal)?;
    h.append(
        "set-cookie",
        &set_cookie(REFRESH_COOKIE, refresh, settings.refresh_ttl_secs, secure),
    )
    .map_err(internal)?;
    Ok(out)
}

fn clear_auth_cookies(response: Response, secure: bool) -> Result<Response> {
    let response = mutable(response).map_err(internal)?;
    if response.status_code() == 200 || response.status_code() == 401 {
        let h = response.headers();
        for name in [TOKEN_COOKIE, REFRESH_COOKIE] {
            h.append("set-cookie", &set_cookie(name, "", 0, secure))
                .map_err(internal)?;
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::matches_pattern;

    #[test]
    fn patterns_match_whole_segments() {
        assert!(matches_pattern("/api/sessions/{id}", "/api/sessions/abc"));
        assert!(!matches_pattern("/api/sessions/{id}", "/api/sessions/"));
        assert!(!matches_pattern("/api/sessions/{id}", "/api/sessions/a/b"));
        assert!(matches_pattern("/api/me", "/api/me"));
        assert!(!matches_pattern("/api/me", "/api/me/"));
        assert!(!matches_pattern("/api/me", "/api/mex"));
    }
}
