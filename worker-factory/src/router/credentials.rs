//! Who is calling: the access token (bearer header or cookie), the CSRF check on cookie-borne
//! state changes, and the CORS answers for allowed origins.

use std::cell::RefCell;
use std::rc::Rc;

use userdo::token::AccessClaims;
use userdo::{Error, Result, Settings};
use worker::{Headers, Method, Response};

use super::ClientRequest;
use crate::http::{HeaderSource, RequestUrl, TOKEN_COOKIE, cookie_in, origin_of};
use crate::settings::{env_value, once_per_isolate};

/// The origins of `ALLOWED_ORIGINS`, without trailing slashes.
///
/// Read once per isolate, as the settings are ([`settings_from_env`](crate::settings_from_env)):
/// variables do not change within one.
pub(super) fn allowed_origins(env: &worker::Env) -> Rc<[String]> {
    thread_local! {
        static ALLOWED: RefCell<Option<Rc<[String]>>> = const { RefCell::new(None) };
    }
    let read = || Ok(parse_origins(&env_value(env, "ALLOWED_ORIGINS").unwrap_or_default()).into());
    once_per_isolate(&ALLOWED, read).unwrap_or_default()
}

/// A comma list of origins: each trimmed, without trailing slashes, empty ones left out.
pub(super) fn parse_origins(list: &str) -> Vec<String> {
    list.split(',')
        .map(|o| o.trim().trim_end_matches('/').to_owned())
        .filter(|o| !o.is_empty())
        .collect()
}

/// The origin CORS headers are given for: the request's `Origin` only when it is an allowed one
/// (never an arbitrary origin reflected).
pub(super) fn cors_origin(origin: Option<String>, allowed: &[String]) -> Option<String> {
    origin.filter(|o| allowed.iter().any(|a| a == o))
}

/// The request's origin facts, read once per request.
pub(super) struct Origins<'a> {
    pub(super) url: &'a RequestUrl,
    pub(super) allowed: &'a [String],
    /// The request's `Origin` when it is an allowed one: the answer's CORS headers echo it.
    pub(super) cors: Option<&'a str>,
}

impl Origins<'_> {
    /// CSRF: the `Origin` must be this worker's own or an allowed one.
    pub(super) fn check(&self, headers: &dyn HeaderSource) -> Result<()> {
        let origin = headers.header("origin").ok_or(Error::CsrfRejected)?;
        if origin == origin_of(self.url) || self.allowed.contains(&origin) {
            Ok(())
        } else {
            Err(Error::CsrfRejected)
        }
    }
}

/// The bearer token of an `Authorization` header: `Some(Err)` for a header that is not
/// `Bearer <token>`.
pub(crate) fn bearer(headers: &dyn HeaderSource) -> Option<Result<String>> {
    let header = headers.header("authorization")?;
    Some(
        header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or(Error::InvalidToken),
    )
}

/// The access token from `Authorization: Bearer` or the `token` cookie, and whether it came by
/// cookie. A cookie-authenticated state change must come from an allowed origin (CSRF); with
/// `always_check_cookie_origin` (the WebSocket upgrade) so must a cookie-authenticated `GET`.
pub(super) fn access_token(
    headers: &dyn HeaderSource,
    method: &Method,
    origins: &Origins<'_>,
    always_check_cookie_origin: bool,
) -> Result<String> {
    if let Some(token) = bearer(headers) {
        return token;
    }
    let token = cookie_in(headers.header("cookie").as_deref(), TOKEN_COOKIE)
        .ok_or(Error::Unauthenticated)?;
    let safe = matches!(method, Method::Get | Method::Head | Method::Options);
    if always_check_cookie_origin || !safe {
        origins.check(headers)?;
    }
    Ok(token)
}

/// The verified claims of the caller's access token (signature, expiry, kind); its session is
/// checked in the user's object.
pub(super) fn verified_caller(
    req: &impl ClientRequest,
    origins: &Origins<'_>,
    settings: &Settings,
    always_check_cookie_origin: bool,
) -> Result<AccessClaims> {
    let token = access_token(
        req.headers(),
        &req.method(),
        origins,
        always_check_cookie_origin,
    )?;
    settings.keys.verify_access(&token, now_secs())
}

pub(super) fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

pub(super) fn header(headers: &Headers, name: &str) -> Option<String> {
    headers.header(name)
}

/// The answer to a CORS preflight: 204 for an allowed origin, 403 otherwise.
pub(super) fn preflight(origin: Option<&str>) -> Result<Response> {
    if origin.is_none() {
        return Err(Error::Forbidden("origin not allowed".into()));
    }
    let response = Response::empty()?.with_status(204);
    let h = response.headers();
    h.set(
        "access-control-allow-methods",
        "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    )?;
    h.set(
        "access-control-allow-headers",
        "authorization, content-type",
    )?;
    h.set("access-control-max-age", "600")?;
    Ok(response)
}
