//! The typed hop from the worker to a user's object: the worker parses and validates a request
//! once, into a [`Hop`]; the object matches its [`Call`] exhaustively and never reads the client's
//! bytes again. Only the worker can reach the object (a Durable Object has no address of its
//! own), so the object trusts the claims the worker verified and checks their session.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use userdo::token::AccessClaims;

use crate::http::new_raw_request;
use crate::routes::Endpoint;
use js_sys::futures::JsFuture;
use userdo::{Error, Result};
use wasm_bindgen::JsCast;
use worker::{Headers, Method, Request, Response, Stub, web_sys};

/// Sends the serialized hop `text` to the object of `stub`. The request is built from scratch,
/// so no header of the client's (spoofed or not) reaches the object. A WebSocket upgrade, and
/// any hop that fits a header ([`fits_header`]), carries the hop in a header of a `GET`: the
/// object reads it at once, with no body stream to make here and none to wait for there. A larger
/// hop is the body of a `POST`.
pub(crate) async fn send_text(stub: &Stub, text: &str, websocket: bool) -> Result<Response> {
    let req = hop_request(text, websocket)?;
    Ok(stub.fetch_with_request(Request::from(req)).await?)
}

/// [`send_text`], answered with the runtime's own response: nothing of it is read back into
/// wasm, for an answer that goes to the client as it is ([`Hop::finish`]).
pub(crate) async fn send_text_raw(
    stub: Stub,
    text: &str,
    websocket: bool,
) -> Result<web_sys::Response> {
    let req = hop_request(text, websocket)?;
    let object: worker::worker_sys::DurableObject = stub.into_rpc();
    let promise = object
        .fetch_with_request(&req)
        .map_err(worker::Error::from)?;
    let answer = JsFuture::from(promise).await.map_err(worker::Error::from)?;
    Ok(answer.unchecked_into())
}

/// The request that carries the hop `text` ([`send_text`]).
fn hop_request(text: &str, websocket: bool) -> Result<web_sys::Request> {
    let headers = Headers::new();
    let req = if websocket || fits_header(text) {
        if websocket {
            headers.set("upgrade", "websocket")?;
        }
        headers.set(HOP_HEADER, text)?;
        new_raw_request(HOP_URL, Method::Get, &headers, None)?
    } else {
        headers.set("content-type", "application/json")?;
        new_raw_request(HOP_URL, Method::Post, &headers, Some(text))?
    };
    Ok(req)
}

/// Serializes and sends a hop (a [`Hop`] or an [`OrgHop`]).
pub(crate) async fn send<T: Serialize>(stub: &Stub, hop: &T, websocket: bool) -> Result<Response> {
    send_text(stub, &to_text(hop)?, websocket).await
}

/// Serializes and sends a hop whose answer goes back to the client as it is ([`send_text_raw`]).
pub(crate) async fn send_raw(stub: Stub, hop: &Hop, websocket: bool) -> Result<web_sys::Response> {
    send_text_raw(stub, &to_text(hop)?, websocket).await
}

fn to_text<T: Serialize>(hop: &T) -> Result<String> {
    serde_json::to_string(hop).map_err(|e| Error::internal_from("hop", e))
}

/// The header that carries a hop sent as a `GET` (a WebSocket upgrade's, and every small one).
pub(crate) const HOP_HEADER: &str = "x-userdo-hop";

/// The longest hop sent in a header: well under the runtime's limits on a request's headers,
/// and above nearly every call but a batch insert or a large row or value.
pub(crate) const HOP_HEADER_MAX: usize = 8 * 1024;

/// Whether the hop `text` can travel as a header value unchanged: at most [`HOP_HEADER_MAX`]
/// bytes of printable ASCII. JSON escapes every control character, and its text starts with `{`
/// or `"` and ends with `}` or `"`, so the value has no whitespace at either end to be trimmed;
/// a hop with any other byte (a value with non-ASCII text, say) goes as a body, whose bytes
/// arrive exactly.
pub(crate) fn fits_header(text: &str) -> bool {
    text.len() <= HOP_HEADER_MAX && text.bytes().all(|b| (0x20..0x7f).contains(&b))
}
/// The URL every hop is sent to; the object reads the hop, not the path.
pub(crate) const HOP_URL: &str = "https://userdo.internal/hop";

/// One request for a user's object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Hop {
    /// The binding of the organizations' Durable Objects, for calls that reach them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) orgs: Option<String>,
    /// The verified access token's claims, for endpoints a session authenticates; the object
    /// checks that the session is live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) caller: Option<AccessClaims>,
    /// The client's `User-Agent`, kept with a new session.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) user_agent: String,
    /// The limit of the account's failed logins, sent with the calls it concerns when the
    /// worker runs with rate limits: the object counts a password check against it ([`RateBucket::Login`] and
    /// [`RateBucket::Password`]) and lifts it after a reset ([`RateBucket::Unlock`]).
    ///
    /// [`RateBucket::Login`]: crate::routes::RateBucket::Login
    /// [`RateBucket::Password`]: crate::routes::RateBucket::Password
    /// [`RateBucket::Unlock`]: crate::routes::RateBucket::Unlock
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) failures: Option<userdo::ratelimit::Limit>,
    /// How the object finishes its answer (CORS headers, auth cookies), for a call whose
    /// answer the worker passes back to the client untouched (`None`: the worker finishes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) finish: Option<Finish>,
    /// What to do.
    pub(crate) call: Call,
}

/// What the object adds to an answer it finishes itself ([`Hop::finish`]), as the worker would:
/// the auth cookies of the call's route ([`crate::http::with_auth_cookies`]), then `Vary: Origin`
/// and the allowed origin's CORS headers ([`crate::http::with_cors`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Finish {
    /// The request's `Origin`, when `ALLOWED_ORIGINS` lists it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) origin: Option<String>,
    /// Whether the cookies are `Secure`: all but those of plain `http://` on this machine.
    pub(crate) secure: bool,
}

/// What the object is asked to do: one variant per endpoint of the route table (and one for the
/// application's object routes), with everything already parsed and validated.
///
/// Externally tagged on the wire (`{"signup":{...}}`, `"me"`), as [`OrgOp`] is: an internally
/// tagged enum (`tag = "op"`) is deserialized by buffering the whole object into serde's
/// `Content` and reading every variant from that, code which cost 18 KiB of the gzipped
/// worker (issue 14). The hop is internal (only the worker reaches an object, with the same build).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Call {
    /// Signup with a normalised email and a password of valid length.
    Signup {
        email: String,
        password: String,
    },
    /// Login, likewise.
    Login {
        email: String,
        password: String,
    },
    /// Exchange this refresh token.
    Refresh {
        token: String,
    },
    /// Logout: of the caller's session, else of the session this refresh token belongs to.
    Logout {
        refresh: Option<String>,
    },
    Me,
    Sessions,
    /// The caller's session and user (`GET /api/session`).
    SessionCheck,
    RevokeOthers,
    RevokeSession {
        id: String,
    },
    ChangePassword {
        current: String,
        new: String,
    },
    /// A reset for this (normalised) email.
    ResetRequest {
        email: String,
    },
    ResetConfirm {
        token: String,
        new_password: String,
    },
    VerificationRequest,
    VerificationConfirm {
        token: String,
    },
    DeleteAccount {
        password: String,
    },
    DevOutbox,
    DevObject,
    WsTicket,
    /// The WebSocket upgrade: by ticket, or by the caller's session.
    OpenSocket {
        ticket: Option<String>,
        since: Option<i64>,
    },
    Rpc {
        method: String,
        params: Json,
    },
    /// A page of keys: those after `after`, at most `limit` (1 to 1000).
    KvList {
        prefix: Option<String>,
        after: Option<String>,
        limit: usize,
    },
    KvGet {
        key: String,
    },
    KvPut {
        key: String,
        value: Json,
    },
    KvDelete {
        key: String,
    },
    DataGet {
        key: String,
    },
    DataPost {
        key: String,
        value: Json,
    },
    /// An operation on one of the user's tables.
    Table(TableCall),
    /// A call to an organization, made through the caller's own object: it confirms the
    /// session (or spends the socket ticket), then sends the call to the organization's object,
    /// the authority on membership. `org` is empty where the call names none (create, list,
    /// accept).
    Org {
        org: String,
        action: OrgOp,
    },
    Identities,
    IdentityDelete {
        provider: String,
    },
    /// Internal: sign in with a provider's identity (see `userdo::oauth`); with `check_only`,
    /// only whether the identity is linked to this account.
    OAuthSignIn {
        identity: userdo::oauth::ExternalIdentity,
        by_email: bool,
        check_only: bool,
    },
    /// Internal: link the identity to this account, for the live session `session_id`.
    OAuthLink {
        session_id: String,
        identity: userdo::oauth::ExternalIdentity,
    },
    /// Internal, in an identity's index object: the account it is linked to (`set`: record it).
    IdentityIndex {
        set: Option<String>,
    },
    /// Internal (no endpoint): deliver this mail from the recipient's own object (the dev
    /// outbox there in development, otherwise the mail webhook).
    Mail {
        mail: userdo::mail::Mail,
    },
    /// An application route answered by [`UserApp::fetch`](crate::UserApp::fetch).
    App {
        method: String,
        path: String,
        query: String,
        body: Option<Json>,
    },
}

impl Call {
    /// The endpoint this call answers (`None` for application routes).
    pub(crate) fn endpoint(&self) -> Option<Endpoint> {
        Some(match self {
            Call::Signup { .. } => Endpoint::Signup,
            Call::Login { .. } => Endpoint::Login,
            Call::Refresh { .. } => Endpoint::Refresh,
            Call::Logout { .. } => Endpoint::Logout,
            Call::Me => Endpoint::Me,
            Call::Sessions => Endpoint::Sessions,
            Call::SessionCheck => Endpoint::SessionCheck,
            Call::RevokeOthers => Endpoint::RevokeOthers,
            Call::RevokeSession { .. } => Endpoint::RevokeSession,
            Call::ChangePassword { .. } => Endpoint::ChangePassword,
            Call::ResetRequest { .. } => Endpoint::ResetRequest,
            Call::ResetConfirm { .. } => Endpoint::ResetConfirm,
            Call::VerificationRequest => Endpoint::VerificationRequest,
            Call::VerificationConfirm { .. } => Endpoint::VerificationConfirm,
            Call::DeleteAccount { .. } => Endpoint::DeleteAccount,
            Call::DevOutbox => Endpoint::DevOutbox,
            Call::DevObject => Endpoint::DevObject,
            Call::WsTicket => Endpoint::WsTicket,
            Call::OpenSocket { .. } => Endpoint::WebSocket,
            Call::Rpc { .. } => Endpoint::Rpc,
            Call::KvList { .. } => Endpoint::KvList,
            Call::KvGet { .. } => Endpoint::KvGet,
            Call::KvPut { .. } => Endpoint::KvPut,
            Call::KvDelete { .. } => Endpoint::KvDelete,
            Call::DataGet { .. } => Endpoint::DataGet,
            Call::DataPost { .. } => Endpoint::DataPost,
            Call::Table(table) => table.endpoint(false),
            Call::Org { action, .. } => return action.endpoint(),
            Call::Identities => Endpoint::Identities,
            Call::IdentityDelete { .. } => Endpoint::IdentityDelete,
            Call::OAuthSignIn { .. }
            | Call::OAuthLink { .. }
            | Call::IdentityIndex { .. }
            | Call::Mail { .. }
            | Call::App { .. } => return None,
        })
    }
}

/// An operation on a table, the same for a user's tables ([`Call::Table`]) and an
/// organization's ([`OrgOp::Table`]): one deserializer and one dispatch
/// ([`run_table_call`](crate::object::data::run_table_call)) serve both; who may use which
/// table is the caller's to decide.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum TableCall {
    /// A table query: the raw query pairs, parsed against the table's schema in the object.
    List {
        table: String,
        query: Vec<(String, String)>,
    },
    Create {
        table: String,
        row: Json,
    },
    Batch {
        table: String,
        rows: Vec<Json>,
    },
    Get {
        table: String,
        id: String,
    },
    Update {
        table: String,
        id: String,
        patch: Json,
    },
    Delete {
        table: String,
        id: String,
    },
}

/// What a table call does to its table, which decides who may make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TableAction {
    Read,
    Write,
    Delete,
}

impl TableCall {
    /// The table it names.
    pub(crate) fn table(&self) -> &str {
        match self {
            TableCall::List { table, .. }
            | TableCall::Create { table, .. }
            | TableCall::Batch { table, .. }
            | TableCall::Get { table, .. }
            | TableCall::Update { table, .. }
            | TableCall::Delete { table, .. } => table,
        }
    }

    /// What it does to the table.
    pub(crate) fn action(&self) -> TableAction {
        match self {
            TableCall::List { .. } | TableCall::Get { .. } => TableAction::Read,
            TableCall::Create { .. } | TableCall::Batch { .. } | TableCall::Update { .. } => {
                TableAction::Write
            }
            TableCall::Delete { .. } => TableAction::Delete,
        }
    }

    /// The endpoint it answers: a user's table, or an organization's (`org`).
    fn endpoint(&self, org: bool) -> Endpoint {
        match (self, org) {
            (TableCall::List { .. }, false) => Endpoint::TableList,
            (TableCall::Create { .. }, false) => Endpoint::TableCreate,
            (TableCall::Batch { .. }, false) => Endpoint::TableBatch,
            (TableCall::Get { .. }, false) => Endpoint::TableGet,
            (TableCall::Update { .. }, false) => Endpoint::TableUpdate,
            (TableCall::Delete { .. }, false) => Endpoint::TableDelete,
            (TableCall::List { .. }, true) => Endpoint::OrgTableList,
            (TableCall::Create { .. }, true) => Endpoint::OrgTableCreate,
            (TableCall::Batch { .. }, true) => Endpoint::OrgTableBatch,
            (TableCall::Get { .. }, true) => Endpoint::OrgTableGet,
            (TableCall::Update { .. }, true) => Endpoint::OrgTableUpdate,
            (TableCall::Delete { .. }, true) => Endpoint::OrgTableDelete,
        }
    }
}

/// What an organization is asked to do (the organization endpoints of the route table, and two
/// internal steps of account deletion). Externally tagged, as [`Call`] is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum OrgOp {
    /// Create the organization, the caller its owner.
    Create {
        name: String,
    },
    /// The caller's organizations (answered by the caller's object, from each organization).
    List,
    Get,
    Rename {
        name: String,
    },
    Delete,
    Members,
    SetRole {
        user_id: String,
        role: userdo::org::Role,
    },
    Remove {
        user_id: String,
    },
    Invite {
        email: String,
        role: userdo::org::Role,
    },
    Invitations,
    RevokeInvitation {
        id: String,
    },
    Accept {
        token: String,
    },
    /// An operation on one of the organization's tables.
    Table(TableCall),
    WsTicket,
    /// An application method of the organization's.
    Rpc {
        method: String,
        params: Json,
    },
    /// The upgrade: by a ticket of this organization's scope, or by the caller's session.
    OpenSocket {
        ticket: Option<String>,
        since: Option<i64>,
    },
    /// Internal: the caller's sessions changed; their sockets of sessions not in `live` close.
    SessionsEnded {
        live: Vec<String>,
    },
    /// Internal: what deleting the caller's account would do here (`apply` false), or does.
    Depart {
        apply: bool,
    },
}

impl OrgOp {
    /// The endpoint this call answers (`None` for internal steps).
    pub(crate) fn endpoint(&self) -> Option<Endpoint> {
        Some(match self {
            OrgOp::Create { .. } => Endpoint::OrgCreate,
            OrgOp::List => Endpoint::OrgList,
            OrgOp::Get => Endpoint::OrgGet,
            OrgOp::Rename { .. } => Endpoint::OrgRename,
            OrgOp::Delete => Endpoint::OrgDelete,
            OrgOp::Members => Endpoint::OrgMembers,
            OrgOp::SetRole { .. } => Endpoint::OrgSetRole,
            OrgOp::Remove { .. } => Endpoint::OrgRemoveMember,
            OrgOp::Invite { .. } => Endpoint::OrgInvite,
            OrgOp::Invitations => Endpoint::OrgInvitations,
            OrgOp::RevokeInvitation { .. } => Endpoint::OrgRevokeInvitation,
            OrgOp::Accept { .. } => Endpoint::InvitationAccept,
            OrgOp::Table(table) => table.endpoint(true),
            OrgOp::WsTicket => Endpoint::OrgWsTicket,
            OrgOp::Rpc { .. } => Endpoint::OrgRpc,
            OrgOp::OpenSocket { .. } => Endpoint::OrgWebSocket,
            OrgOp::Depart { .. } | OrgOp::SessionsEnded { .. } => return None,
        })
    }
}

/// One request for an organization's object, sent by the caller's own object after it
/// confirmed the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OrgHop {
    /// The organization's id (its object's name).
    pub(crate) org: String,
    /// Who calls.
    pub(crate) caller: userdo::org::Caller,
    /// What to do.
    pub(crate) op: OrgOp,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn small_ascii_hops_fit_a_header_and_others_go_as_a_body() {
        let hop = Hop {
            orgs: None,
            caller: None,
            user_agent: "curl/8".into(),
            failures: None,
            finish: None,
            call: Call::Me,
        };
        let text = serde_json::to_string(&hop).unwrap();
        assert!(fits_header(&text), "{text}");
        // JSON escapes control characters, so a value with a newline still fits.
        let escaped = serde_json::to_string(&serde_json::json!({"v": "a\nb\r\u{0}\t"})).unwrap();
        assert!(fits_header(&escaped), "{escaped}");
        // Text a header would change or refuse goes as a body.
        let unicode = serde_json::to_string(&serde_json::json!({"v": "café"})).unwrap();
        assert!(!fits_header(&unicode));
        assert!(!fits_header("{\"v\":\"\u{7f}\"}"));
        let long = format!("\"{}\"", "a".repeat(HOP_HEADER_MAX - 2));
        assert!(fits_header(&long));
        let longer = format!("\"{}\"", "a".repeat(HOP_HEADER_MAX - 1));
        assert!(!fits_header(&longer));
    }
}
