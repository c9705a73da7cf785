//! Parse once: a matched endpoint, its path parameters, query and body become the typed
//! [`Call`] the object runs, and the [`Target`] that says whose object that is. Everything the
//! client sent is checked here; the object never reads the client's bytes.

use serde_json::Value as Json;
use userdo::api::{
    self, ChangePasswordRequest, Credentials, DeleteAccountRequest, RefreshRequest, ResetConfirm,
    ResetRequest, VerificationConfirm,
};
use userdo::error::FieldErrors;
use userdo::rpc::RpcRequest;
use userdo::token::{self, AccessClaims, OpaqueKind};
use userdo::{Error, Result, email, kv};

use super::credentials::Origins;
use crate::hop::{Call, OrgOp, TableCall};
use crate::http::{HeaderSource, REFRESH_COOKIE, RequestUrl, cookie_in};
use crate::routes::Endpoint;
use userdo::org::{AcceptRequest, InviteRequest, NameRequest, Role, RoleRequest};

/// Whose object a call goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// The object of a normalised email (signup, login, reset request, dev outbox).
    Email(String),
    /// The object whose id is this user id (from a verified token or an opaque token's name).
    User(String),
}

/// What the pipeline has read of a request before it builds the call.
pub(super) struct Parts<'a> {
    pub(super) endpoint: Endpoint,
    /// The raw (percent-encoded) path parameters, in the route's order.
    pub(super) params: Vec<&'a str>,
    pub(super) url: &'a RequestUrl,
    /// The request's headers (the runtime's, or a list in host tests).
    pub(super) headers: &'a dyn HeaderSource,
    pub(super) origins: &'a Origins<'a>,
    /// The body, when the route reads one and the request has it.
    pub(super) body: Option<Vec<u8>>,
    /// The verified caller, for routes a session authenticates.
    pub(super) caller: Option<&'a AccessClaims>,
}

/// Builds the call of `parts.endpoint` and finds its object: one arm per endpoint.
pub(super) fn call(parts: Parts<'_>) -> Result<(Call, Target)> {
    let Parts {
        endpoint,
        params,
        url,
        headers,
        origins,
        body,
        caller,
    } = parts;
    let param = |i: usize| params.get(i).copied().unwrap_or_default().to_owned();
    let bytes = || body.as_deref().unwrap_or_default();
    let query = url.query().unwrap_or_default();
    let call = match endpoint {
        // These name their object themselves: by email, or by the token they carry.
        Endpoint::Signup => {
            return credentials(bytes(), |email, password| Call::Signup { email, password });
        }
        Endpoint::Login => {
            return credentials(bytes(), |email, password| Call::Login { email, password });
        }
        Endpoint::ResetRequest => {
            let r: ResetRequest = api::parse_body(bytes())?;
            let email = email::normalize(r.email.as_deref().unwrap_or_default())?;
            return Ok((
                Call::ResetRequest {
                    email: email.clone(),
                },
                Target::Email(email),
            ));
        }
        Endpoint::DevOutbox => return dev_outbox(query),
        Endpoint::Refresh => return refresh(body.as_deref(), headers, origins),
        Endpoint::ResetConfirm => {
            let r: ResetConfirm = api::parse_body(bytes())?;
            let new_password = r.new_password.unwrap_or_default();
            let token = r.token.unwrap_or_default();
            return opaque(OpaqueKind::PasswordReset, token, |token| {
                Call::ResetConfirm {
                    token,
                    new_password,
                }
            });
        }
        Endpoint::VerificationConfirm => {
            let r: VerificationConfirm = api::parse_body(bytes())?;
            let token = r.token.unwrap_or_default();
            return opaque(OpaqueKind::EmailVerification, token, |token| {
                Call::VerificationConfirm { token }
            });
        }
        Endpoint::OrgWebSocket => {
            let org = org_param(&param(0))?;
            let (Call::OpenSocket { ticket, since }, ticket_user) = socket(query, headers)? else {
                return Err(Error::internal("socket() builds an OpenSocket"));
            };
            let call = Call::Org {
                org,
                action: OrgOp::OpenSocket { ticket, since },
            };
            if let Some(user) = ticket_user {
                return Ok((call, Target::User(user)));
            }
            call
        }
        Endpoint::OAuthProviders | Endpoint::OAuthStart | Endpoint::OAuthCallback => {
            return Err(Error::internal(
                "a sign-in provider endpoint reached the parser",
            ));
        }
        Endpoint::Identities => Call::Identities,
        Endpoint::IdentityDelete => Call::IdentityDelete { provider: param(0) },
        Endpoint::OrgCreate => Call::Org {
            org: String::new(),
            action: OrgOp::Create {
                name: org_name(bytes())?,
            },
        },
        Endpoint::OrgList => Call::Org {
            org: String::new(),
            action: OrgOp::List,
        },
        Endpoint::InvitationAccept => {
            let r: AcceptRequest = api::parse_body(bytes())?;
            Call::Org {
                org: String::new(),
                action: OrgOp::Accept {
                    token: r.token.unwrap_or_default(),
                },
            }
        }
        Endpoint::OrgGet
        | Endpoint::OrgRename
        | Endpoint::OrgDelete
        | Endpoint::OrgMembers
        | Endpoint::OrgSetRole
        | Endpoint::OrgRemoveMember
        | Endpoint::OrgInvite
        | Endpoint::OrgInvitations
        | Endpoint::OrgRevokeInvitation
        | Endpoint::OrgTableList
        | Endpoint::OrgTableCreate
        | Endpoint::OrgTableBatch
        | Endpoint::OrgTableGet
        | Endpoint::OrgTableUpdate
        | Endpoint::OrgTableDelete
        | Endpoint::OrgRpc
        | Endpoint::OrgWsTicket => {
            let org = org_param(&param(0))?;
            let action = match endpoint {
                Endpoint::OrgGet => OrgOp::Get,
                Endpoint::OrgRename => OrgOp::Rename {
                    name: org_name(bytes())?,
                },
                Endpoint::OrgDelete => OrgOp::Delete,
                Endpoint::OrgMembers => OrgOp::Members,
                Endpoint::OrgSetRole => {
                    let r: RoleRequest = api::parse_body(bytes())?;
                    let role = r.role.as_deref().and_then(Role::parse).ok_or_else(|| {
                        Error::field("role", "must be one of owner, admin, member")
                    })?;
                    OrgOp::SetRole {
                        user_id: param(1),
                        role,
                    }
                }
                Endpoint::OrgRemoveMember => OrgOp::Remove { user_id: param(1) },
                Endpoint::OrgInvite => {
                    let (email, role) = invitation(bytes())?;
                    OrgOp::Invite { email, role }
                }
                Endpoint::OrgInvitations => OrgOp::Invitations,
                Endpoint::OrgRevokeInvitation => OrgOp::RevokeInvitation { id: param(1) },
                Endpoint::OrgTableList
                | Endpoint::OrgTableCreate
                | Endpoint::OrgTableBatch
                | Endpoint::OrgTableGet
                | Endpoint::OrgTableUpdate
                | Endpoint::OrgTableDelete => OrgOp::Table(table_call(
                    endpoint,
                    params.get(1..).unwrap_or_default(),
                    query,
                    bytes(),
                )?),
                Endpoint::OrgRpc => {
                    let r: RpcRequest = api::parse_body(bytes())?;
                    OrgOp::Rpc {
                        method: r.method.unwrap_or_default(),
                        params: r.params,
                    }
                }
                _ => OrgOp::WsTicket,
            };
            Call::Org { org, action }
        }
        Endpoint::WebSocket => match socket(query, headers)? {
            (call, Some(ticket_user)) => return Ok((call, Target::User(ticket_user))),
            (call, None) => call,
        },
        // The rest belong to the caller's session.
        Endpoint::Logout => match caller {
            Some(_) => Call::Logout { refresh: None },
            // No valid access token: the refresh cookie (checked for CSRF) names the session.
            None => {
                let token = refresh_cookie(headers)?;
                origins.check(headers)?;
                return opaque(OpaqueKind::Refresh, token, |token| Call::Logout {
                    refresh: Some(token),
                });
            }
        },
        Endpoint::Me => Call::Me,
        Endpoint::Sessions => Call::Sessions,
        Endpoint::SessionCheck => Call::SessionCheck,
        Endpoint::RevokeOthers => Call::RevokeOthers,
        Endpoint::RevokeSession => Call::RevokeSession { id: param(0) },
        Endpoint::ChangePassword => {
            let c: ChangePasswordRequest = api::parse_body(bytes())?;
            Call::ChangePassword {
                current: c.current_password.unwrap_or_default(),
                new: c.new_password.unwrap_or_default(),
            }
        }
        Endpoint::VerificationRequest => Call::VerificationRequest,
        Endpoint::DeleteAccount => {
            let r: DeleteAccountRequest = api::parse_body(bytes())?;
            Call::DeleteAccount {
                password: r.password.unwrap_or_default(),
            }
        }
        Endpoint::DevObject => Call::DevObject,
        Endpoint::WsTicket => Call::WsTicket,
        Endpoint::Rpc => {
            let r: RpcRequest = api::parse_body(bytes())?;
            Call::Rpc {
                method: r.method.unwrap_or_default(),
                params: r.params,
            }
        }
        Endpoint::KvList => Call::KvList {
            prefix: query_param(query, "prefix")?,
            after: query_param(query, "after")?,
            limit: page_limit(query)?,
        },
        Endpoint::KvGet => Call::KvGet {
            key: path_key(&param(0))?,
        },
        Endpoint::KvPut => Call::KvPut {
            key: path_key(&param(0))?,
            value: any_json(bytes())?,
        },
        Endpoint::KvDelete => Call::KvDelete {
            key: path_key(&param(0))?,
        },
        Endpoint::DataGet => Call::DataGet {
            key: query_param(query, "key")?
                .ok_or_else(|| Error::InvalidQuery("the query needs ?key=".into()))?,
        },
        Endpoint::DataPost => {
            let (key, value) = data_entry(any_json(bytes())?)?;
            Call::DataPost { key, value }
        }
        Endpoint::TableList
        | Endpoint::TableCreate
        | Endpoint::TableBatch
        | Endpoint::TableGet
        | Endpoint::TableUpdate
        | Endpoint::TableDelete => Call::Table(table_call(endpoint, &params, query, bytes())?),
    };
    // Every other endpoint belongs to the caller's session.
    let caller = caller.ok_or(Error::Unauthenticated)?;
    Ok((call, Target::User(caller.sub.clone())))
}

/// The organization of a path: an id of the right shape, or 404 (as for one that does not
/// exist: nothing is revealed either way).
fn org_param(raw: &str) -> Result<String> {
    if userdo::org::is_org_id(raw) {
        Ok(raw.to_owned())
    } else {
        Err(Error::NotFound("no such organization".into()))
    }
}

/// The `{name}` of a new or renamed organization, checked and trimmed.
fn org_name(bytes: &[u8]) -> Result<String> {
    let r: NameRequest = api::parse_body(bytes)?;
    userdo::org::check_name(r.name.as_deref())
}

/// The `{email, role}` of an invitation: the email normalised, the role `admin` or `member`;
/// every failing field named at once.
fn invitation(bytes: &[u8]) -> Result<(String, Role)> {
    let r: InviteRequest = api::parse_body(bytes)?;
    let mut errors = FieldErrors::new();
    let email = match email::normalize(r.email.as_deref().unwrap_or_default()) {
        Ok(email) => Some(email),
        Err(Error::Validation(fields)) => {
            errors.extend(fields);
            None
        }
        Err(e) => return Err(e),
    };
    let role = match r.role.as_deref().and_then(Role::parse) {
        Some(role @ (Role::Admin | Role::Member)) => Some(role),
        _ => {
            errors.insert("role".into(), vec!["must be admin or member".into()]);
            None
        }
    };
    match (email, role) {
        (Some(email), Some(role)) if errors.is_empty() => Ok((email, role)),
        _ => Err(Error::Validation(errors)),
    }
}

/// Signup or login: the credentials, with the email normalised (it names the object).
fn credentials(bytes: &[u8], call: fn(String, String) -> Call) -> Result<(Call, Target)> {
    let c: Credentials = api::parse_body(bytes)?;
    let email = email::normalize(c.email.as_deref().unwrap_or_default())?;
    let target = Target::Email(email.clone());
    Ok((call(email, c.password.unwrap_or_default()), target))
}

/// `GET /api/dev/outbox?email=E`.
fn dev_outbox(query: &str) -> Result<(Call, Target)> {
    let raw = query_param(query, "email")?
        .ok_or_else(|| Error::InvalidQuery("the query needs ?email=".into()))?;
    let email = email::normalize(&raw)
        .map_err(|_| Error::InvalidQuery("email is not an email address".into()))?;
    Ok((Call::DevOutbox, Target::Email(email)))
}

/// The refresh token, from the body if there is one, else from the cookie (which, being
/// cookie-borne, needs an allowed `Origin`).
fn refresh(
    body: Option<&[u8]>,
    headers: &dyn HeaderSource,
    origins: &Origins<'_>,
) -> Result<(Call, Target)> {
    let from_body = match body {
        None => None,
        Some(bytes) => api::parse_body::<RefreshRequest>(bytes)?.refresh_token,
    };
    let token = match from_body {
        Some(token) => token,
        None => {
            let token = refresh_cookie(headers)?;
            origins.check(headers)?;
            token
        }
    };
    opaque(OpaqueKind::Refresh, token, |token| Call::Refresh { token })
}

/// The `refreshToken` cookie: 401 without it.
fn refresh_cookie(headers: &dyn HeaderSource) -> Result<String> {
    cookie_in(headers.header("cookie").as_deref(), REFRESH_COOKIE).ok_or(Error::Unauthenticated)
}

/// The WebSocket upgrade: `?ticket=` (which names its user, proven by its hash in the object)
/// and `?since=`. Returns the ticket's user, if a ticket authenticates it.
fn socket(query: &str, headers: &dyn HeaderSource) -> Result<(Call, Option<String>)> {
    let ticket = query_param(query, "ticket")?;
    let ticket_user = match &ticket {
        Some(t) => Some(
            token::opaque_user_id(OpaqueKind::WsTicket, t)
                .ok_or(Error::InvalidToken)?
                .to_owned(),
        ),
        None => None,
    };
    let upgrade = headers.header("upgrade");
    if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return Err(Error::UpgradeRequired);
    }
    let since = query_param(query, "since")?
        .map(|s| {
            s.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| Error::InvalidQuery("since must be a seq (a whole number)".into()))
        })
        .transpose()?;
    Ok((Call::OpenSocket { ticket, since }, ticket_user))
}

/// A call to the object an opaque token names (its user id is the token's middle part).
fn opaque(
    kind: OpaqueKind,
    token: String,
    call: impl FnOnce(String) -> Call,
) -> Result<(Call, Target)> {
    let user = token::opaque_user_id(kind, &token)
        .ok_or(Error::InvalidToken)?
        .to_owned();
    Ok((call(token), Target::User(user)))
}

/// `?limit=N` of `GET /api/kv`: 1 to 1000, 1000 when absent; anything else `invalid_query`.
fn page_limit(query: &str) -> Result<usize> {
    match query_param(query, "limit")? {
        None => Ok(kv::MAX_KEYS_PER_PAGE),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=kv::MAX_KEYS_PER_PAGE).contains(n))
            .ok_or_else(|| {
                Error::InvalidQuery(format!(
                    "limit must be a whole number from 1 to {}",
                    kv::MAX_KEYS_PER_PAGE
                ))
            }),
    }
}

/// Any JSON value: 400 `invalid_json` when the body does not parse.
/// The call of a table endpoint, a user's or an organization's: `params` are the path
/// parameters from the table's name on (then the row's id).
fn table_call(endpoint: Endpoint, params: &[&str], query: &str, body: &[u8]) -> Result<TableCall> {
    let param = |i: usize| params.get(i).copied().unwrap_or_default().to_owned();
    let table = param(0);
    Ok(match endpoint {
        Endpoint::TableList | Endpoint::OrgTableList => TableCall::List {
            table,
            query: query_pairs(query)?,
        },
        Endpoint::TableCreate | Endpoint::OrgTableCreate => TableCall::Create {
            table,
            row: any_json(body)?,
        },
        Endpoint::TableBatch | Endpoint::OrgTableBatch => TableCall::Batch {
            table,
            rows: batch_rows(any_json(body)?)?,
        },
        Endpoint::TableGet | Endpoint::OrgTableGet => TableCall::Get {
            table,
            id: param(1),
        },
        Endpoint::TableUpdate | Endpoint::OrgTableUpdate => TableCall::Update {
            table,
            id: param(1),
            patch: any_json(body)?,
        },
        Endpoint::TableDelete | Endpoint::OrgTableDelete => TableCall::Delete {
            table,
            id: param(1),
        },
        _ => return Err(Error::internal("not a table endpoint")),
    })
}

pub(super) fn any_json(bytes: &[u8]) -> Result<Json> {
    serde_json::from_slice(bytes)
        .map_err(|_| Error::InvalidJson("request body is not valid JSON".into()))
}

/// A KV key from its path segment: decoded strictly (a `/` inside it comes as `%2F`), then
/// checked (1 to 512 bytes, not reserved).
fn path_key(encoded: &str) -> Result<String> {
    let key = percent_decode(encoded, false)
        .ok_or_else(|| Error::field("key", "is not valid percent-encoded UTF-8"))?;
    kv::check_key(&key)?;
    Ok(key)
}

/// The `{key, value}` of `POST /data`; `null` is a value like any other, only a missing `value`
/// is an error.
fn data_entry(body: Json) -> Result<(String, Json)> {
    let Json::Object(mut body) = body else {
        return Err(Error::InvalidJson(
            "request body must be a JSON object".into(),
        ));
    };
    let mut errors = FieldErrors::new();
    let key = match body.remove("key") {
        Some(Json::String(key)) => Some(key),
        Some(_) => {
            errors.insert("key".into(), vec!["must be a string".into()]);
            None
        }
        None => {
            errors.insert("key".into(), vec!["is required".into()]);
            None
        }
    };
    let value = body.remove("value");
    if value.is_none() {
        errors.insert("value".into(), vec!["is required".into()]);
    }
    match (key, value) {
        (Some(key), Some(value)) => Ok((key, value)),
        _ => Err(Error::Validation(errors)),
    }
}

/// The first value of `name` in a query string (`a=1&b=2`, `+` for space), decoded strictly:
/// a malformed escape or bytes that are not UTF-8 are `invalid_query`.
pub(super) fn query_param(query: &str, name: &str) -> Result<Option<String>> {
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

/// Every `name=value` pair of a query string in order (empty ones, as in `a=1&&b=2`, skipped),
/// decoded as [`query_param`] decodes: a malformed escape or bytes that are not UTF-8 are
/// `invalid_query`, as for the other endpoints' parameters.
pub(super) fn query_pairs(query: &str) -> Result<Vec<(String, String)>> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match (percent_decode(k, true), percent_decode(v, true)) {
                (Some(k), Some(v)) => Ok((k, v)),
                _ => Err(Error::InvalidQuery(
                    "the query is not valid percent-encoded UTF-8".into(),
                )),
            }
        })
        .collect()
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`, as in a query string). `None`
/// for a `%` not followed by two hex digits, or a result that is not UTF-8.
pub(super) fn percent_decode(s: &str, plus_is_space: bool) -> Option<String> {
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

/// The rows of a batch body `{rows: [...]}`; their count and contents are checked in the object.
fn batch_rows(body: Json) -> Result<Vec<Json>> {
    match body {
        Json::Object(mut map) => match map.remove("rows") {
            Some(Json::Array(rows)) => Ok(rows),
            _ => Err(Error::Validation(
                [(
                    "rows".to_owned(),
                    vec!["must be an array of rows".to_owned()],
                )]
                .into(),
            )),
        },
        _ => Err(Error::InvalidJson("the body must be a JSON object".into())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{data_entry, percent_decode, query_pairs, query_param};

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

    #[test]
    fn table_query_pairs_decode_strictly() {
        assert_eq!(
            query_pairs("where=title:eq:a+b%2Fc&&orderBy=rank:desc&limit").unwrap(),
            [
                ("where".to_owned(), "title:eq:a b/c".to_owned()),
                ("orderBy".to_owned(), "rank:desc".to_owned()),
                ("limit".to_owned(), String::new()),
            ]
        );
        assert!(query_pairs("").unwrap().is_empty());
        for bad in [
            "where=title:eq:%FF",
            "where=title:eq:%",
            "w%G1=x",
            "where=%C3",
        ] {
            assert_eq!(
                query_pairs(bad).unwrap_err().code(),
                "invalid_query",
                "{bad}"
            );
        }
    }

    #[test]
    fn data_entries_list_every_missing_or_mistyped_field() {
        let (key, value) = data_entry(serde_json::json!({"key": "k", "value": null})).unwrap();
        assert_eq!((key.as_str(), value), ("k", serde_json::Value::Null));
        let body = data_entry(serde_json::json!({"key": 5}))
            .unwrap_err()
            .to_body();
        assert_eq!(body["error"]["details"]["key"][0], "must be a string");
        assert_eq!(body["error"]["details"]["value"][0], "is required");
        let e = data_entry(serde_json::json!([1])).unwrap_err();
        assert_eq!(e.code(), "invalid_json");
    }
}
