//! The HTTP contract, written once: every endpoint of API.md with its method, path pattern, what
//! authenticates it, its body limit, its rate-limit bucket, what it does to sessions and cookies,
//! and the type of its answer.
//!
//! The worker's pipeline is driven by this table ([`Endpoint::route`]); the object matches the
//! typed request built from it (`hop::Call`) exhaustively; `client-ts` gets its paths and
//! response types generated from it (`client-ts/schema-gen`). No path literal lives anywhere else,
//! and a new endpoint that nobody handles does not compile.

use schemars::SchemaGenerator;
use serde::Serialize;
use userdo::token::OpaqueKind;

use crate::responses::{
    BatchRequest, DataEntry, DataValue, DevObject, IdentityList, InvitationBody, InvitationList,
    KeyList, KvEntry, MemberBody, MemberList, OkBody, OrgBody, OrgList, Outbox, ProviderList,
    Revoked, RowList, RowsCreated, RpcResult, SessionCheck, SessionList, TableRowBody, Ticket,
    UserBody,
};
use serde_json::Value as Json;
use userdo::api::{
    AuthResponse, ChangePasswordRequest, Credentials, DeleteAccountRequest, RefreshRequest,
    ResetConfirm, ResetRequest, VerificationConfirm,
};
use userdo::org::{AcceptRequest, InviteRequest, NameRequest, RoleRequest};
use userdo::rpc::RpcRequest;

/// An HTTP method of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verb {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Verb {
    /// The method as the runtime names it.
    pub fn method(self) -> worker::Method {
        match self {
            Verb::Get => worker::Method::Get,
            Verb::Post => worker::Method::Post,
            Verb::Put => worker::Method::Put,
            Verb::Patch => worker::Method::Patch,
            Verb::Delete => worker::Method::Delete,
        }
    }
}

/// What authenticates a request, and so which user's object it goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Auth {
    /// An access token (`Authorization: Bearer`, or the `token` cookie with an allowed `Origin`
    /// for state changes), verified in the worker; its session is checked in the object.
    Session,
    /// No session: the object is the one of the (normalised) email in the body.
    Email,
    /// A refresh token, from the body or the `refreshToken` cookie (with an allowed `Origin`).
    Refresh,
    /// As [`Auth::Session`]; without a valid access token, the `refreshToken` cookie (with an
    /// allowed `Origin`) names the session instead (logout after the access token expired).
    SessionOrRefresh,
    /// An opaque token of this kind in the body, which names its user.
    Token(#[serde(skip)] OpaqueKind),
    /// A WebSocket ticket (`?ticket=`), or an access token as for [`Auth::Session`]; a cookie
    /// needs an allowed `Origin` even on this `GET` (cross-site WebSocket hijacking).
    Socket,
    /// Development only: the object of the email in `?email=`.
    DevEmail,
    /// Answered in the worker, for anyone (the sign-in providers' redirects).
    Public,
}

/// What the request body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Body {
    /// No body is read.
    None,
    /// A JSON body of at most this many bytes (415 without `application/json`, 413 above it).
    Json(usize),
    /// As [`Body::Json`] when the request has a body at all (`POST /api/refresh`).
    OptionalJson(usize),
}

/// A rate-limit bucket, counted before the work it guards (per client IP: IPv6 per /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RateBucket {
    /// Signups per IP.
    Signup,
    /// Logins per IP, and failed logins per account: each login is counted as a failure before
    /// the password is checked, and refunded when it was not one.
    Login,
    /// Password-reset requests per IP, and mail per account (as [`RateBucket::Mail`]).
    Reset,
    /// Mail per account and email address (the same count for an email with no account).
    Mail,
    /// A password check behind a session: a failed login of the account, counted as for
    /// [`RateBucket::Login`] (so it hits the same lock).
    Password,
    /// Not limited; a success lifts the account's failed-login lock (a password reset).
    Unlock,
    /// A sign-in through a provider, counted with the logins per IP (once its state is valid,
    /// before the code exchange).
    SignIn,
}

impl RateBucket {
    /// Whether the bucket's calls touch the account's failed-login counter (counted and
    /// refunded, or lifted), which the account's own object keeps.
    pub(crate) fn concerns_failed_logins(self) -> bool {
        matches!(self, Self::Login | Self::Password | Self::Unlock)
    }
}

/// What a successful request does to the user's sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Sessions {
    /// Leaves them as they are.
    Keep,
    /// May end some: the object closes the sockets of ended sessions afterwards.
    MayEnd,
}

/// What the worker does to the auth cookies of the answer (or the object, which finishes most
/// answers itself, as the hop tells it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Cookies {
    /// Nothing.
    Keep,
    /// Sets `token` and `refreshToken` from a successful answer ([`AuthResponse`]).
    Set,
    /// Clears both on success only: a refused request (a wrong password) keeps them.
    Clear,
    /// Clears both on success and on a 401 (no live session either way): logout.
    End,
}

/// One row of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    /// The method.
    pub verb: Verb,
    /// The path, with `{name}` for a parameter segment.
    pub path: &'static str,
    /// What authenticates it.
    pub auth: Auth,
    /// Its body.
    pub body: Body,
    /// Its rate-limit bucket, if any.
    pub limit: Option<RateBucket>,
    /// What it does to sessions.
    pub sessions: Sessions,
    /// What it does to cookies.
    pub cookies: Cookies,
    /// Whether it exists only with `DEV_OUTBOX`, and for requests to a loopback host (404
    /// otherwise).
    pub dev_only: bool,
}

impl Route {
    /// The parameters of `path` in order (`{key}` -> `key`).
    pub fn params(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }
}

/// Bodies of auth endpoints are limited to this many bytes, checked before parsing.
pub const AUTH_BODY_LIMIT: usize = 64 * 1024;
/// The largest KV or table request body: a 1 MiB value plus room for its key (`POST /data`).
pub const DATA_BODY_LIMIT: usize = 1024 * 1024 + 1024;
/// The largest batch insert body (up to 1000 rows).
pub const BATCH_BODY_LIMIT: usize = 4 * 1024 * 1024;

const AUTH_JSON: Body = Body::Json(AUTH_BODY_LIMIT);
const DATA_JSON: Body = Body::Json(DATA_BODY_LIMIT);

/// Writes the endpoint enum, its table and the schema of each answer from one list.
macro_rules! routes {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident: $verb:ident $path:literal ($request:ty), $auth:expr, $body:expr, $limit:expr,
            $sessions:ident, $cookies:ident, $dev:literal -> $response:ty;
    )*) => {
        /// Every endpoint of the contract (API.md).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub enum Endpoint {
            $( $(#[doc = $doc])* $name, )*
        }

        impl Endpoint {
            /// Every endpoint, in the order of the table.
            pub const ALL: &'static [Endpoint] = &[$(Endpoint::$name),*];

            /// Every endpoint with its method and path, in the order of the table: what
            /// [`lookup`] scans on every request.
            const PATHS: &'static [(Endpoint, Verb, &'static str)] =
                &[$((Endpoint::$name, Verb::$verb, $path)),*];

            /// Its row of the contract.
            pub const fn route(self) -> Route {
                match self {
                    $(Endpoint::$name => Route {
                        verb: Verb::$verb,
                        path: $path,
                        auth: $auth,
                        body: $body,
                        limit: $limit,
                        sessions: Sessions::$sessions,
                        cookies: Cookies::$cookies,
                        dev_only: $dev,
                    },)*
                }
            }

            /// The JSON Schema of its request body (`null` for none), for the generated client.
            pub fn request_schema(self, generator: &mut SchemaGenerator) -> schemars::Schema {
                match self {
                    $(Endpoint::$name => generator.subschema_for::<$request>(),)*
                }
            }

            /// The JSON Schema of its successful answer's body, for the generated client.
            pub fn response_schema(self, generator: &mut SchemaGenerator) -> schemars::Schema {
                match self {
                    $(Endpoint::$name => generator.subschema_for::<$response>(),)*
                }
            }
        }
    };
}

use Auth::{DevEmail, Email, Public, Refresh, Session, SessionOrRefresh, Socket, Token};
use Body::None as NoBody;

routes! {
    /// `POST /api/signup`: creates the account and its first session.
    Signup: Post "/api/signup" (Credentials), Email, AUTH_JSON, Some(RateBucket::Signup), Keep, Set, false -> AuthResponse;
    /// `POST /api/login`: beyond the session cap, the least recently used session ends.
    Login: Post "/api/login" (Credentials), Email, AUTH_JSON, Some(RateBucket::Login), MayEnd, Set, false -> AuthResponse;
    /// `POST /api/refresh`: a new pair; the old refresh token is spent.
    Refresh: Post "/api/refresh" (RefreshRequest), Refresh, Body::OptionalJson(AUTH_BODY_LIMIT), None, MayEnd, Set, false -> AuthResponse;
    /// `POST /api/logout`: ends the current session.
    Logout: Post "/api/logout" (()), SessionOrRefresh, NoBody, None, MayEnd, End, false -> OkBody;
    /// `GET /api/me`.
    Me: Get "/api/me" (()), Session, NoBody, None, Keep, Keep, false -> UserBody;
    /// `GET /api/sessions`.
    Sessions: Get "/api/sessions" (()), Session, NoBody, None, Keep, Keep, false -> SessionList;
    /// `GET /api/session`: the user and session of a live session, for other workers (a service binding).
    SessionCheck: Get "/api/session" (()), Session, NoBody, None, Keep, Keep, false -> SessionCheck;
    /// `POST /api/sessions/revoke-others`.
    RevokeOthers: Post "/api/sessions/revoke-others" (()), Session, NoBody, None, MayEnd, Keep, false -> Revoked;
    /// `DELETE /api/sessions/{id}`.
    RevokeSession: Delete "/api/sessions/{id}" (()), Session, NoBody, None, MayEnd, Keep, false -> OkBody;
    /// `POST /api/password/change`: every other session ends.
    ChangePassword: Post "/api/password/change" (ChangePasswordRequest), Session, AUTH_JSON, Some(RateBucket::Password), MayEnd, Keep, false -> OkBody;
    /// `POST /api/password-reset/request`: 202 whether or not the email has an account.
    ResetRequest: Post "/api/password-reset/request" (ResetRequest), Email, AUTH_JSON, Some(RateBucket::Reset), Keep, Keep, false -> OkBody;
    /// `POST /api/password-reset/confirm`: every session ends.
    ResetConfirm: Post "/api/password-reset/confirm" (ResetConfirm), Token(OpaqueKind::PasswordReset), AUTH_JSON, Some(RateBucket::Unlock), MayEnd, Keep, false -> OkBody;
    /// `POST /api/email-verification/request`.
    VerificationRequest: Post "/api/email-verification/request" (()), Session, NoBody, Some(RateBucket::Mail), Keep, Keep, false -> OkBody;
    /// `POST /api/email-verification/confirm`.
    VerificationConfirm: Post "/api/email-verification/confirm" (VerificationConfirm), Token(OpaqueKind::EmailVerification), AUTH_JSON, None, Keep, Keep, false -> UserBody;
    /// `DELETE /api/account`: erases the account and all its data.
    DeleteAccount: Delete "/api/account" (DeleteAccountRequest), Session, AUTH_JSON, Some(RateBucket::Password), MayEnd, Clear, false -> OkBody;
    /// `GET /api/dev/outbox?email=E`: the mail kept in development.
    DevOutbox: Get "/api/dev/outbox" (()), DevEmail, NoBody, None, Keep, Keep, true -> Outbox;
    /// `GET /api/dev/object`: the object's instance name (a new one after each eviction).
    DevObject: Get "/api/dev/object" (()), Session, NoBody, None, Keep, Keep, true -> DevObject;
    /// `POST /api/ws/ticket`: a single-use WebSocket ticket, valid 60 s.
    WsTicket: Post "/api/ws/ticket" (()), Session, NoBody, None, Keep, Keep, false -> Ticket;
    /// `GET /api/ws`: the WebSocket upgrade (`?ticket=`, `?since=`).
    WebSocket: Get "/api/ws" (()), Socket, NoBody, None, Keep, Keep, false -> ();
    /// `POST /api/rpc`: calls an application method.
    Rpc: Post "/api/rpc" (RpcRequest), Session, DATA_JSON, None, Keep, Keep, false -> RpcResult;
    /// `GET /api/kv?prefix=`: the keys.
    KvList: Get "/api/kv" (()), Session, NoBody, None, Keep, Keep, false -> KeyList;
    /// `GET /api/kv/{key}`.
    KvGet: Get "/api/kv/{key}" (()), Session, NoBody, None, Keep, Keep, false -> KvEntry;
    /// `PUT /api/kv/{key}`: any JSON value.
    KvPut: Put "/api/kv/{key}" (Json), Session, DATA_JSON, None, Keep, Keep, false -> KvEntry;
    /// `DELETE /api/kv/{key}`.
    KvDelete: Delete "/api/kv/{key}" (()), Session, NoBody, None, Keep, Keep, false -> OkBody;
    /// `GET /data?key=K` (compatibility with the TypeScript `userdo`).
    DataGet: Get "/data" (()), Session, NoBody, None, Keep, Keep, false -> DataValue;
    /// `POST /data {key, value}` (compatibility).
    DataPost: Post "/data" (KvEntry), Session, DATA_JSON, None, Keep, Keep, false -> DataEntry;
    /// `GET /api/tables/{table}?where=..&orderBy=..&limit=..&offset=..`.
    TableList: Get "/api/tables/{table}" (()), Session, NoBody, None, Keep, Keep, false -> RowList;
    /// `POST /api/tables/{table}`: creates a row.
    TableCreate: Post "/api/tables/{table}" (Json), Session, DATA_JSON, None, Keep, Keep, false -> TableRowBody;
    /// `POST /api/tables/{table}/batch`: creates 1 to 1000 rows in one transaction, or none.
    TableBatch: Post "/api/tables/{table}/batch" (BatchRequest), Session, Body::Json(BATCH_BODY_LIMIT), None, Keep, Keep, false -> RowsCreated;
    /// `GET /api/tables/{table}/{id}`.
    TableGet: Get "/api/tables/{table}/{id}" (()), Session, NoBody, None, Keep, Keep, false -> TableRowBody;
    /// `PATCH /api/tables/{table}/{id}`: a partial update, validated again.
    TableUpdate: Patch "/api/tables/{table}/{id}" (Json), Session, DATA_JSON, None, Keep, Keep, false -> TableRowBody;
    /// `DELETE /api/tables/{table}/{id}`.
    TableDelete: Delete "/api/tables/{table}/{id}" (()), Session, NoBody, None, Keep, Keep, false -> OkBody;
    /// `GET /api/oauth/providers`: the configured sign-in providers.
    OAuthProviders: Get "/api/oauth/providers" (()), Public, NoBody, None, Keep, Keep, false -> ProviderList;
    /// `GET /api/oauth/{provider}/start?returnTo=P[&link=true]`: 302 to the provider.
    OAuthStart: Get "/api/oauth/{provider}/start" (()), Public, NoBody, None, Keep, Keep, false -> ();
    /// `GET /api/oauth/{provider}/callback`: signs in, 302 to `returnTo` (with `oauth_error` on failure).
    OAuthCallback: Get "/api/oauth/{provider}/callback" (()), Public, NoBody, Some(RateBucket::SignIn), Keep, Keep, false -> ();
    /// `GET /api/identities`: the providers' identities linked to the account.
    Identities: Get "/api/identities" (()), Session, NoBody, None, Keep, Keep, false -> IdentityList;
    /// `DELETE /api/identities/{provider}`: unlinks one (409 when it is the last way to sign in).
    IdentityDelete: Delete "/api/identities/{provider}" (()), Session, NoBody, None, Keep, Keep, false -> OkBody;
    /// `POST /api/orgs`: a new organization, the caller its owner.
    OrgCreate: Post "/api/orgs" (NameRequest), Session, AUTH_JSON, None, Keep, Keep, false -> OrgBody;
    /// `GET /api/orgs`: the caller's organizations.
    OrgList: Get "/api/orgs" (()), Session, NoBody, None, Keep, Keep, false -> OrgList;
    /// `GET /api/orgs/{org}` (a member).
    OrgGet: Get "/api/orgs/{org}" (()), Session, NoBody, None, Keep, Keep, false -> OrgBody;
    /// `PATCH /api/orgs/{org}` (an admin).
    OrgRename: Patch "/api/orgs/{org}" (NameRequest), Session, AUTH_JSON, None, Keep, Keep, false -> OrgBody;
    /// `DELETE /api/orgs/{org}` (the owner): its data is gone, every member's access ends.
    OrgDelete: Delete "/api/orgs/{org}" (()), Session, NoBody, None, Keep, Keep, false -> OkBody;
    /// `GET /api/orgs/{org}/members` (a member).
    OrgMembers: Get "/api/orgs/{org}/members" (()), Session, NoBody, None, Keep, Keep, false -> MemberList;
    /// `PATCH /api/orgs/{org}/members/{userId}` (an admin; the owner to give `owner`).
    OrgSetRole: Patch "/api/orgs/{org}/members/{userId}" (RoleRequest), Session, AUTH_JSON, None, Keep, Keep, false -> MemberBody;
    /// `DELETE /api/orgs/{org}/members/{userId}` (an admin, or the member leaving).
    OrgRemoveMember: Delete "/api/orgs/{org}/members/{userId}" (()), Session, NoBody, None, Keep, Keep, false -> OkBody;
    /// `POST /api/orgs/{org}/invitations` (an admin): the token goes by mail only.
    OrgInvite: Post "/api/orgs/{org}/invitations" (InviteRequest), Session, AUTH_JSON, None, Keep, Keep, false -> InvitationBody;
    /// `GET /api/orgs/{org}/invitations` (an admin): the pending ones.
    OrgInvitations: Get "/api/orgs/{org}/invitations" (()), Session, NoBody, None, Keep, Keep, false -> InvitationList;
    /// `DELETE /api/orgs/{org}/invitations/{id}` (an admin).
    OrgRevokeInvitation: Delete "/api/orgs/{org}/invitations/{id}" (()), Session, NoBody, None, Keep, Keep, false -> OkBody;
    /// `POST /api/invitations/accept`: the invited user joins.
    InvitationAccept: Post "/api/invitations/accept" (AcceptRequest), Session, AUTH_JSON, None, Keep, Keep, false -> OrgBody;
    /// `GET /api/orgs/{org}/tables/{table}` (as `/api/tables/{table}`, by the table's roles).
    OrgTableList: Get "/api/orgs/{org}/tables/{table}" (()), Session, NoBody, None, Keep, Keep, false -> RowList;
    /// `POST /api/orgs/{org}/tables/{table}`.
    OrgTableCreate: Post "/api/orgs/{org}/tables/{table}" (Json), Session, DATA_JSON, None, Keep, Keep, false -> TableRowBody;
    /// `POST /api/orgs/{org}/tables/{table}/batch`.
    OrgTableBatch: Post "/api/orgs/{org}/tables/{table}/batch" (BatchRequest), Session, Body::Json(BATCH_BODY_LIMIT), None, Keep, Keep, false -> RowsCreated;
    /// `GET /api/orgs/{org}/tables/{table}/{id}`.
    OrgTableGet: Get "/api/orgs/{org}/tables/{table}/{id}" (()), Session, NoBody, None, Keep, Keep, false -> TableRowBody;
    /// `PATCH /api/orgs/{org}/tables/{table}/{id}`.
    OrgTableUpdate: Patch "/api/orgs/{org}/tables/{table}/{id}" (Json), Session, DATA_JSON, None, Keep, Keep, false -> TableRowBody;
    /// `DELETE /api/orgs/{org}/tables/{table}/{id}`.
    OrgTableDelete: Delete "/api/orgs/{org}/tables/{table}/{id}" (()), Session, NoBody, None, Keep, Keep, false -> OkBody;
    /// `POST /api/orgs/{org}/rpc`: calls an application method in the organization's object (a
    /// member; the method checks roles it needs).
    OrgRpc: Post "/api/orgs/{org}/rpc" (RpcRequest), Session, DATA_JSON, None, Keep, Keep, false -> RpcResult;
    /// `POST /api/orgs/{org}/ws/ticket` (a member): a ticket for the organization's feed.
    OrgWsTicket: Post "/api/orgs/{org}/ws/ticket" (()), Session, NoBody, None, Keep, Keep, false -> Ticket;
    /// `GET /api/orgs/{org}/ws`: the organization's change feed (`?ticket=`, `?since=`).
    OrgWebSocket: Get "/api/orgs/{org}/ws" (()), Socket, NoBody, None, Keep, Keep, false -> ();
}

/// Whether `path` fits `pattern`: the same number of segments, literal segments equal, a
/// `{param}` segment any non-empty one.
pub fn matches(pattern: &str, path: &str) -> bool {
    captures(pattern, path).is_some()
}

/// The raw (still percent-encoded) values of the `{param}` segments of `pattern` in `path`, in
/// order, or `None` when the path does not fit.
pub fn captures<'p>(pattern: &str, path: &'p str) -> Option<Vec<&'p str>> {
    // Every path that fits begins with the pattern's text before its first parameter: one
    // comparison turns nearly every other endpoint away before any split.
    let literal = pattern.find('{').map_or(pattern, |i| &pattern[..i]);
    if !path.starts_with(literal) {
        return None;
    }
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    let mut params = Vec::new();
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) => {
                if w.starts_with('{') && w.ends_with('}') {
                    if g.is_empty() {
                        return None;
                    }
                    params.push(g);
                } else if w != g {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// What a path and method are: an endpoint with its raw parameters, or a path the contract has
/// with another method (405), or nothing (404).
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<'p> {
    /// The endpoint and its parameters.
    Found(Endpoint, Vec<&'p str>),
    /// The path exists with another method.
    OtherMethod,
    /// No endpoint has this path.
    Missing,
}

/// Finds the endpoint of `verb` and `path`.
pub fn lookup(verb: Verb, path: &str) -> Lookup<'_> {
    let mut other_method = false;
    for &(endpoint, endpoint_verb, pattern) in Endpoint::PATHS {
        if let Some(params) = captures(pattern, path) {
            if endpoint_verb == verb {
                return Lookup::Found(endpoint, params);
            }
            other_method = true;
        }
    }
    if other_method {
        Lookup::OtherMethod
    } else {
        Lookup::Missing
    }
}

/// The contract as data, for the generated client: `{name, method, path, params}` per endpoint.
pub fn describe() -> Vec<serde_json::Value> {
    Endpoint::ALL
        .iter()
        .map(|e| {
            let route = e.route();
            serde_json::json!({
                "name": e,
                "method": route.verb,
                "path": route.path,
                "params": route.params().collect::<Vec<_>>(),
                "auth": route.auth,
                "devOnly": route.dev_only,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
