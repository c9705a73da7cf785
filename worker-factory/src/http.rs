//! Small HTTP helpers shared by the worker and the object: JSON responses, errors, bodies,
//! cookies and origins.

use crate::routes::Cookies;
use futures::StreamExt;
use serde::Serialize;
use userdo::{Error, Settings};
use worker::{Headers, Method, Request, Response};

pub use crate::request_url::RequestUrl;

/// The access-token cookie.
pub const TOKEN_COOKIE: &str = "token";
/// The refresh-token cookie.
pub const REFRESH_COOKIE: &str = "refreshToken";

/// A JSON response with a status, never cached.
///
/// Only the serialization is generic: the response is built once, in `json_text`, rather than
/// in each of the dozen instances of this function (issue 14). The same response as
/// `Response::from_json` and the two headers, and the same error if the body does not serialize.
pub fn json<T: Serialize>(status: u16, body: &T) -> worker::Result<Response> {
    let text = serde_json::to_string(body)
        .map_err(|_| worker::Error::Json(("Failed to encode data to json".into(), 500)))?;
    json_text(status, text)
}

/// The response for an error: the API's JSON shape, with internals only in the log.
pub fn error_response(error: &Error) -> worker::Result<Response> {
    if let Some(detail) = error.log_detail() {
        worker::console_error!("userdo: {detail}");
    }
    let ErrorParts {
        status,
        body,
        retry_after,
    } = error_parts(error);
    let response = json(status, &body)?;
    if let Some(retry_after) = retry_after {
        response.headers().set("retry-after", &retry_after)?;
    }
    Ok(response)
}

/// What the response for an error is made of.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ErrorParts {
    /// The status.
    pub(crate) status: u16,
    /// The body: `{"error": {"code", "message", "details"?}}`.
    pub(crate) body: serde_json::Value,
    /// The `Retry-After` header, in seconds (429 only).
    pub(crate) retry_after: Option<String>,
}

/// The status, body and `Retry-After` of [`error_response`], without the runtime's types.
pub(crate) fn error_parts(error: &Error) -> ErrorParts {
    ErrorParts {
        status: error.status(),
        body: error.to_body(),
        retry_after: match error {
            Error::RateLimited { retry_after_secs } => Some(retry_after_secs.to_string()),
            _ => None,
        },
    }
}

/// Request headers by (lower-case) name: the runtime's [`Headers`], or a plain list in host tests,
/// so that the code reading them runs on the host too.
pub(crate) trait HeaderSource {
    /// The value of the header `name`, if the request has it.
    fn header(&self, name: &str) -> Option<String>;
}

impl HeaderSource for Headers {
    fn header(&self, name: &str) -> Option<String> {
        self.get(name).ok().flatten()
    }
}

/// Requires `Content-Type: application/json` (parameters allowed).
pub fn require_json(req: &Request) -> Result<(), Error> {
    json_media_type(req.headers().header("content-type").as_deref())
}

/// [`require_json`] on the value of `Content-Type`: its essence (before any `;`, trimmed, in any
/// case) must be `application/json`, else 415.
pub(crate) fn json_media_type(content_type: Option<&str>) -> Result<(), Error> {
    let essence = content_type
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" {
        Ok(())
    } else {
        Err(Error::UnsupportedMediaType)
    }
}

/// Reads the body, failing with 413 as soon as it exceeds `limit` bytes (by `Content-Length`
/// or while streaming), so an oversized body is never buffered whole nor parsed. A body of a
/// declared length is read in one piece; one without (chunked) is streamed.
pub async fn read_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, Error> {
    match read_declared_body(req.inner(), req.headers(), limit).await? {
        Some(body) => Ok(body),
        None => read_streamed_body(req, limit).await,
    }
}

/// The body of the runtime's request `raw` (with `headers`, its headers) in one piece, when its
/// length is declared; `None` when it is not (then [`read_streamed_body`]). 413 for a declared
/// length above `limit` or not a number.
pub(crate) async fn read_declared_body(
    raw: &worker::web_sys::Request,
    headers: &Headers,
    limit: usize,
) -> Result<Option<Vec<u8>>, Error> {
    let declared = headers.header("content-length");
    declared_length(declared.as_deref(), limit)?;
    if declared.is_none() {
        return Ok(None);
    }
    // The runtime delivers exactly the declared length, which is within the limit: one read of
    // the whole body, rather than a JavaScript stream read per chunk.
    let promise = raw.array_buffer().map_err(worker::Error::from)?;
    let buffer = worker::wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(worker::Error::from)?;
    let body = js_sys::Uint8Array::new(&buffer).to_vec();
    if body.len() > limit {
        return Err(Error::PayloadTooLarge { limit });
    }
    Ok(Some(body))
}

/// A body without a declared length, chunk by chunk, failing with 413 past `limit` bytes.
pub(crate) async fn read_streamed_body(req: &mut Request, limit: usize) -> Result<Vec<u8>, Error> {
    let mut body = Vec::new();
    let Ok(mut stream) = req.stream() else {
        return Ok(body);
    };
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > limit {
            return Err(Error::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The `Content-Length` check of [`read_body`]: a declared length that is not a whole number,
/// or is above `limit`, is 413 before anything is read.
pub(crate) fn declared_length(length: Option<&str>, limit: usize) -> Result<(), Error> {
    match length {
        Some(length) if length.trim().parse::<usize>().map_or(true, |n| n > limit) => {
            Err(Error::PayloadTooLarge { limit })
        }
        _ => Ok(()),
    }
}

/// The value of a request cookie.
pub fn cookie(headers: &Headers, name: &str) -> Option<String> {
    cookie_in(headers.header("cookie").as_deref(), name)
}

/// The value of the cookie `name` in a `Cookie` header (the first one of that name; an empty
/// value counts as none).
///
/// Read as the `cookie` crate's `Cookie::split_parse` reads it (the tests hold the two equal):
/// pairs separated by `;`, each split at its first `=`, name and value trimmed of whitespace,
/// a pair without `=` or with an empty name skipped; the value is taken as it is (quotes
/// included, nothing percent-decoded). Hand-written because the crate links `time` (18 KiB
/// of the gzipped worker, issue 14) for the `Expires` dates this never reads.
pub(crate) fn cookie_in(header: Option<&str>, name: &str) -> Option<String> {
    header?
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .map(|(n, v)| (n.trim(), v.trim()))
        .find(|(n, _)| !n.is_empty() && *n == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Lax; Path=/`, `Secure` unless served on http://localhost.
///
/// The attributes in the order the `cookie` crate writes them (the tests hold the two equal);
/// names and values are ours (the two auth cookies, tokens in base64url), so nothing needs
/// quoting.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; HttpOnly; SameSite=Lax{secure}; Path=/; Max-Age={max_age_secs}")
}

/// The body of a response from a stub or `fetch`, as text, by one `Response.text()` in the
/// runtime: `worker::Response::text` reads the stream chunk by chunk, each read a JavaScript
/// promise and a trip through the wasm executor (in `bench/profile.mjs login`, its `read` and
/// `releaseLock` were 1.7% and 2.1% of the isolate's samples).
pub(crate) async fn body_text(response: Response) -> worker::Result<String> {
    let response: worker::web_sys::Response = response.into();
    let text = worker::wasm_bindgen_futures::JsFuture::from(response.text()?).await?;
    text.as_string()
        .ok_or_else(|| worker::Error::RustError("a response body that is not text".into()))
}

/// The JSON body of a response from one of the worker's own objects ([`body_text`]); a body
/// that does not parse is a 500 naming `what`.
pub(crate) async fn body_json<T: serde::de::DeserializeOwned>(
    response: Response,
    what: &'static str,
) -> Result<T, Error> {
    serde_json::from_str(&body_text(response).await?).map_err(|e| Error::internal_from(what, e))
}

/// A request built on web_sys's `RequestInit`, for the worker's own requests (hops, the rate
/// limiter, the mail webhook, application routes, the sign-in providers' endpoints): worker's `Request::new_with_init` also
/// converts its `cf` properties into a JavaScript object, code (11 KiB of wasm, issue 14) for a
/// property these requests never set. The same request otherwise: method, headers, a text body,
/// redirects followed (the default).
pub(crate) fn new_request(
    url: &str,
    method: Method,
    headers: &Headers,
    body: Option<&str>,
) -> worker::Result<Request> {
    new_raw_request(url, method, headers, body).map(Request::from)
}

/// [`new_request`], as the runtime's own request (a `worker::Request` reads its method, URL,
/// headers and `cf` back from JavaScript).
pub(crate) fn new_raw_request(
    url: &str,
    method: Method,
    headers: &Headers,
    body: Option<&str>,
) -> worker::Result<worker::web_sys::Request> {
    let init = worker::web_sys::RequestInit::new();
    init.set_method(method.as_ref());
    init.set_headers(headers.as_ref());
    if let Some(body) = body {
        init.set_body(&wasm_bindgen::JsValue::from_str(body));
    }
    worker::web_sys::Request::new_with_str_and_init(url, &init).map_err(|e| {
        worker::Error::JsError(
            e.as_string()
                .unwrap_or_else(|| "invalid URL or options for Request".to_owned()),
        )
    })
}

/// `scheme://host[:port]` of a URL.
pub fn origin_of(url: &RequestUrl) -> String {
    url.origin()
}

/// Whether the request is served over plain HTTP on the local machine (no `Secure` cookies then).
pub fn is_local_http(url: &RequestUrl) -> bool {
    url.scheme() == "http" && is_loopback_host(url.host_str())
}

/// Whether a URL's host is this machine (`localhost`, `127.0.0.1`, `[::1]`): the only hosts the
/// development routes answer for.
pub fn is_loopback_host(host: Option<&str>) -> bool {
    matches!(host, Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// A JSON response as the core's `Result`: what handlers return.
pub fn respond<T: Serialize>(status: u16, body: &T) -> Result<Response, Error> {
    Ok(json(status, body)?)
}

/// A JSON response from text that already is JSON (an object's answer passed on).
pub(crate) fn json_text(status: u16, text: String) -> worker::Result<Response> {
    let response = Response::ok(text)?.with_status(status);
    let headers = response.headers();
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", "no-store")?;
    headers.set("x-content-type-options", "nosniff")?;
    Ok(response)
}

/// A response whose headers can be changed (those from a stub are immutable): a copy of its
/// headers, made by the runtime in one call rather than one entry at a time.
pub(crate) fn mutable(response: Response) -> worker::Result<Response> {
    let headers = worker::web_sys::Headers::new_with_headers(&response.headers().0)
        .map_err(worker::Error::from)?;
    let status = response.status_code();
    Ok(response.with_headers(Headers(headers)).with_status(status))
}

/// Adds the CORS headers for an allowed `origin` (and `Vary: Origin` always), in place or on a
/// copy ([`with_headers`]).
pub(crate) fn with_cors(response: Response, origin: Option<&str>) -> worker::Result<Response> {
    let add = |h: &Headers| -> worker::Result<()> {
        h.append("vary", "Origin")?;
        if let Some(origin) = origin {
            h.set("access-control-allow-origin", origin)?;
            h.set("access-control-allow-credentials", "true")?;
            h.set("access-control-expose-headers", "retry-after")?;
        }
        Ok(())
    };
    with_headers(response, add)
}

/// Writes headers with `add`: in place when the answer's headers can change (one built here),
/// else on a copy (the runtime made a fetched answer's immutable, and the first write fails).
fn with_headers(
    response: Response,
    add: impl Fn(&Headers) -> worker::Result<()>,
) -> worker::Result<Response> {
    if add(response.headers()).is_ok() {
        return Ok(response);
    }
    let response = mutable(response)?;
    add(response.headers())?;
    Ok(response)
}

/// The tokens of a signup, login or refresh answer.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tokens {
    token: String,
    refresh_token: String,
}

/// The auth cookies of a route on its answer, as `cookies` says: `token` and `refreshToken` set
/// from a successful signup, login or refresh (read from the answer's own JSON, which goes on
/// unchanged); both cleared on a success when the session is gone (`Clear`), and on a 401 too
/// (`End`, logout: no live session either way). Any other answer keeps them.
pub(crate) fn with_auth_cookies(
    response: Response,
    cookies: Cookies,
    settings: &Settings,
    secure: bool,
) -> userdo::Result<Response> {
    let status = response.status_code();
    let ok = (200..300).contains(&status);
    let values = match cookies {
        Cookies::Set if ok => {
            let tokens: Tokens = match response.body() {
                worker::ResponseBody::Body(bytes) => serde_json::from_slice(bytes)
                    .map_err(|e| Error::internal_from("auth answer without tokens", e))?,
                _ => return Err(Error::internal("auth answer without a body")),
            };
            [
                set_cookie(
                    TOKEN_COOKIE,
                    &tokens.token,
                    settings.access_ttl_secs,
                    secure,
                ),
                set_cookie(
                    REFRESH_COOKIE,
                    &tokens.refresh_token,
                    settings.refresh_ttl_secs,
                    secure,
                ),
            ]
        }
        Cookies::Clear if ok => cleared(secure),
        Cookies::End if ok || status == 401 => cleared(secure),
        _ => return Ok(response),
    };
    let add = |h: &Headers| -> worker::Result<()> {
        for value in &values {
            h.append("set-cookie", value)?;
        }
        Ok(())
    };
    Ok(with_headers(response, add)?)
}

/// Both auth cookies, cleared.
fn cleared(secure: bool) -> [String; 2] {
    [TOKEN_COOKIE, REFRESH_COOKIE].map(|name| set_cookie(name, "", 0, secure))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use proptest::prelude::*;

    /// The `cookie` crate's reading, which [`cookie_in`] replaced: the oracle.
    fn crate_cookie_in(header: Option<&str>, name: &str) -> Option<String> {
        cookie::Cookie::split_parse(header?)
            .filter_map(Result::ok)
            .find(|c| c.name() == name)
            .map(|c| c.value().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The `cookie` crate's `Set-Cookie`, which [`set_cookie`] replaced: the oracle.
    fn crate_set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
        cookie::Cookie::build((name, value))
            .http_only(true)
            .same_site(cookie::SameSite::Lax)
            .path("/")
            .max_age(cookie::time::Duration::seconds(max_age_secs))
            .secure(secure)
            .build()
            .to_string()
    }

    #[test]
    fn reads_cookie_headers_as_the_cookie_crate_did() {
        let headers = [
            "",
            ";;",
            "token=abc",
            "token=abc; refreshToken=urt.x.y",
            "  token = spaced  ;",
            "token=\"quoted\"; x=y",
            "token=\"half",
            "token=; token=second",
            "a=1;token=x;token=y",
            "token",
            "token;token=after",
            "=v; token=w",
            "token==; x=1",
            "token=a=b=c",
            "Token=upper; token=lower",
            "tok en=x; token=y",
            "\u{a0}token\u{a0}=\u{3000}v\u{3000}",
            "token=\tv\t; x",
            "token=%20x",
            "token=é; é=token",
            " ;   a=1 ;  ; =v ; ;;token===  ",
            "x=1,token=2",
        ];
        for header in headers {
            for name in ["token", "refreshToken", "x", "", "é", "tok en", "="] {
                assert_eq!(
                    cookie_in(Some(header), name),
                    crate_cookie_in(Some(header), name),
                    "{header:?} {name:?}"
                );
            }
        }
        assert_eq!(cookie_in(None, "token"), None);
        assert_eq!(
            cookie_in(Some("token=\"q\""), "token").as_deref(),
            Some("\"q\"")
        );
        assert_eq!(
            cookie_in(Some(" token = v ;"), "token").as_deref(),
            Some("v")
        );
        assert_eq!(cookie_in(Some("token=; token=w"), "token"), None);
    }

    #[test]
    fn writes_set_cookie_as_the_cookie_crate_did() {
        for (name, value, max_age, secure) in [
            (
                TOKEN_COOKIE,
                "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.e30.sig",
                900,
                true,
            ),
            (REFRESH_COOKIE, "urt.abc.def", 2_592_000, false),
            (TOKEN_COOKIE, "", 0, true),
            (REFRESH_COOKIE, "", 0, false),
        ] {
            assert_eq!(
                set_cookie(name, value, max_age, secure),
                crate_set_cookie(name, value, max_age, secure)
            );
        }
        assert_eq!(
            set_cookie("token", "v", 900, true),
            "token=v; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=900"
        );
        assert_eq!(
            set_cookie("token", "", 0, false),
            "token=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0"
        );
    }

    proptest! {
        /// Any header, any name: the same value as the `cookie` crate, or none as it.
        #[test]
        fn fuzz_cookie_in_agrees_with_the_cookie_crate(
            header in "[ \t;=a-zA-Z\"%,\u{a0}\u{3000}é]{0,40}",
            name in prop_oneof![Just("token".to_owned()), Just("a".to_owned()), "[ =a-z\"é]{0,3}"],
        ) {
            prop_assert_eq!(cookie_in(Some(&header), &name), crate_cookie_in(Some(&header), &name));
        }

        /// Pairs of our own cookies' alphabets, separators of any whitespace: the same as the crate.
        #[test]
        fn fuzz_cookie_pairs_agree_with_the_cookie_crate(
            pairs in proptest::collection::vec(
                (prop_oneof![Just("token".to_owned()), Just("refreshToken".to_owned()), "[a-zA-Z]{1,3}"],
                 "[A-Za-z0-9._~=\"-]{0,20}", "[ \t]{0,2}"),
                0..6,
            ),
        ) {
            let header: String = pairs.iter().map(|(n, v, ws)| format!("{ws}{n}{ws}={ws}{v}{ws};")).collect();
            for name in ["token", "refreshToken"] {
                prop_assert_eq!(cookie_in(Some(&header), name), crate_cookie_in(Some(&header), name));
            }
        }

        /// Any token-alphabet value, any lifetime, either scheme: the same `Set-Cookie` as the crate.
        #[test]
        fn fuzz_set_cookie_agrees_with_the_cookie_crate(
            value in "[A-Za-z0-9._~-]{0,60}",
            max_age in 0i64..=100_000_000,
            secure in any::<bool>(),
            refresh in any::<bool>(),
        ) {
            let name = if refresh { REFRESH_COOKIE } else { TOKEN_COOKIE };
            prop_assert_eq!(set_cookie(name, &value, max_age, secure), crate_set_cookie(name, &value, max_age, secure));
        }
    }

    #[test]
    fn only_this_machine_is_a_loopback_host() {
        let host = |u: &str| worker::Url::parse(u).unwrap().host_str().map(str::to_owned);
        for local in [
            "http://127.0.0.1:8787/x",
            "http://localhost/",
            "http://[::1]:1/",
        ] {
            assert!(is_loopback_host(host(local).as_deref()), "{local}");
        }
        for remote in [
            "https://app.example.com/api/dev/outbox",
            "http://127.0.0.1.example.com/",
            "http://localhost.evil.example/",
            "http://10.0.0.1/",
            "http://[::2]/",
        ] {
            assert!(!is_loopback_host(host(remote).as_deref()), "{remote}");
        }
        assert!(!is_loopback_host(None));
    }
}
