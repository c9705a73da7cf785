//! The KV endpoints inside the user's object: `/api/kv`, `/api/kv/{key}`, and the `/data` pair
//! kept for compatibility with the TypeScript `userdo`. The worker has already authenticated the
//! request, checked CSRF and the content type, and bounded the body.
//!
//! The key in a path arrives percent-encoded (so it may hold `/`, spaces or any Unicode) and is
//! decoded strictly: a malformed escape or bytes that are not UTF-8 are a 400 on `key`, never
//! guessed at.

use serde_json::{Value, json};
use userdo::error::FieldErrors;
use userdo::{Error, Result, kv};
use worker::{Method, Request, Response};

use crate::app::UserCore;
use crate::http::{DATA_BODY_LIMIT, internal, read_json_body, respond};

/// Answers `/api/kv`, `/api/kv/{key}` and `/data`.
pub(crate) async fn handle(core: &UserCore, req: &mut Request) -> Result<Response> {
    let path = req.path();
    let method = req.method();
    if path == "/data" {
        return data(core, req, method).await;
    }
    let rest = path
        .strip_prefix("/api/kv")
        .ok_or_else(|| Error::NotFound("no such endpoint".into()))?;
    if rest.is_empty() {
        if method != Method::Get {
            return Err(Error::MethodNotAllowed);
        }
        let url = req.url().map_err(internal)?;
        let prefix = query_param(url.query().unwrap_or(""), "prefix")?;
        return respond(200, &json!({ "keys": core.kv_keys(prefix.as_deref())? }));
    }
    // A key is one path segment; a `/` inside it must come encoded as %2F.
    let encoded = rest
        .strip_prefix('/')
        .filter(|segment| !segment.contains('/'))
        .ok_or_else(|| Error::NotFound("no such endpoint".into()))?;
    let key = percent_decode(encoded, false)
        .ok_or_else(|| Error::field("key", "is not valid percent-encoded UTF-8"))?;
    kv::check_key(&key)?;
    match method {
        Method::Get => {
            let value = core.kv_get(&key)?.ok_or_else(no_such_key)?;
            respond(200, &json!({ "key": key, "value": value }))
        }
        Method::Put => {
            let value = read_json(req).await?;
            core.kv_put(&key, &value)?;
            respond(200, &json!({ "key": key, "value": value }))
        }
        Method::Delete => {
            core.kv_delete(&key)?;
            respond(200, &json!({ "ok": true }))
        }
        _ => Err(Error::MethodNotAllowed),
    }
}

/// `GET /data?key=K` and `POST /data {key, value}`.
async fn data(core: &UserCore, req: &mut Request, method: Method) -> Result<Response> {
    match method {
        Method::Get => {
            let url = req.url().map_err(internal)?;
            let key = query_param(url.query().unwrap_or(""), "key")?
                .ok_or_else(|| Error::InvalidQuery("the query needs ?key=".into()))?;
            let value = core.kv_get(&key)?.ok_or_else(no_such_key)?;
            respond(200, &json!({ "ok": true, "data": value }))
        }
        Method::Post => {
            let Value::Object(mut body) = read_json(req).await? else {
                return Err(Error::InvalidJson(
                    "request body must be a JSON object".into(),
                ));
            };
            let mut errors = FieldErrors::new();
            let key = match body.remove("key") {
                Some(Value::String(key)) => Some(key),
                Some(_) => {
                    errors.insert("key".into(), vec!["must be a string".into()]);
                    None
                }
                None => {
                    errors.insert("key".into(), vec!["is required".into()]);
                    None
                }
            };
            // `null` is a value like any other; only a missing `value` is an error.
            let value = body.remove("value");
            if value.is_none() {
                errors.insert("value".into(), vec!["is required".into()]);
            }
            let (Some(key), Some(value)) = (key, value) else {
                return Err(Error::Validation(errors));
            };
            core.kv_put(&key, &value)?;
            respond(
                200,
                &json!({ "ok": true, "data": { "key": key, "value": value } }),
            )
        }
        _ => Err(Error::MethodNotAllowed),
    }
}

fn no_such_key() -> Error {
    Error::NotFound("no such key".into())
}

/// The body as any JSON value. The worker has bounded it to [`DATA_BODY_LIMIT`] already; the
/// object bounds it again rather than trust that.
async fn read_json(req: &mut Request) -> Result<Value> {
    read_json_body(req, DATA_BODY_LIMIT).await
}

/// The first value of `name` in a query string (`a=1&b=2`, `+` for space), decoded strictly:
/// a malformed escape or bytes that are not UTF-8 are `invalid_query`.
fn query_param(query: &str, name: &str) -> Result<Option<String>> {
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        // A parameter whose name does not decode cannot be the one asked for.
        if percent_decode(k, true).as_deref() != Some(name) {
            continue;
        }
        return percent_decode(v, true).map(Some).ok_or_else(|| {
            Error::InvalidQuery(format!("{name} is not valid percent-encoded UTF-8"))
        });
    }
    Ok(None)
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`, as in a query string). `None`
/// for a `%` not followed by two hex digits, or a result that is not UTF-8.
fn percent_decode(s: &str, plus_is_space: bool) -> Option<String> {
    fn hex(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let high = bytes.next().and_then(hex)?;
                let low = bytes.next().and_then(hex)?;
                out.push(high << 4 | low);
            }
            b'+' if plus_is_space => out.push(b' '),
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{percent_decode, query_param};

    #[test]
    fn path_keys_decode_strictly() {
        assert_eq!(percent_decode("a%2Fb%20c", false).unwrap(), "a/b c");
        assert_eq!(
            percent_decode("%C3%A9t%c3%a9", false).unwrap(),
            "\u{e9}t\u{e9}"
        );
        assert_eq!(percent_decode("a+b", false).unwrap(), "a+b");
        assert_eq!(percent_decode("100%25", false).unwrap(), "100%");
        assert_eq!(percent_decode("%00", false).unwrap(), "\u{0}");
        assert_eq!(percent_decode("", false).unwrap(), "");
        for bad in [
            "%",
            "%2",
            "a%zz",
            "%+f",
            "%-1",
            "%C3",
            "%FF",
            "%ED%A0%80",
            "%C3%28",
        ] {
            assert_eq!(percent_decode(bad, false), None, "{bad}");
        }
    }

    #[test]
    fn query_parameters_take_the_first_match_and_reject_bad_encoding() {
        assert_eq!(
            query_param("prefix=a+b%2Fc&x=1", "prefix")
                .unwrap()
                .unwrap(),
            "a b/c"
        );
        assert_eq!(query_param("key=1&key=2", "key").unwrap().unwrap(), "1");
        assert_eq!(query_param("k%65y=v", "key").unwrap().unwrap(), "v");
        assert_eq!(query_param("key", "key").unwrap().unwrap(), "");
        assert_eq!(query_param("keys=1&%zz=2", "key").unwrap(), None);
        assert_eq!(query_param("", "key").unwrap(), None);
        let e = query_param("key=%FF", "key").unwrap_err();
        assert_eq!(e.code(), "invalid_query");
    }
}
