//! The bodies of successful answers, one type each, named by the route table
//! ([`crate::routes`]) and generated into the browser client's types. Error bodies are
//! [`userdo::error::ErrorBody`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use userdo::api::{LiveSession, SessionInfo, User};

/// `{ok: true}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OkBody {
    /// Always `true`.
    pub ok: bool,
}

/// The `{ok: true}` answer.
pub const OK: OkBody = OkBody { ok: true };

/// `{user}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserBody {
    /// The account.
    pub user: User,
}

/// `{sessions}`: most recently used first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SessionList {
    /// The live sessions.
    pub sessions: Vec<SessionInfo>,
}

/// `{user, session}` (`GET /api/session`): who a live session belongs to, for another worker
/// that asks on a request's behalf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SessionCheck {
    /// The account.
    pub user: User,
    /// The session of the request's access token.
    pub session: LiveSession,
}

/// `{revoked}`: how many sessions ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Revoked {
    /// The number of sessions revoked.
    pub revoked: u64,
}

/// `{ticket}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Ticket {
    /// A single-use WebSocket ticket, valid 60 seconds.
    pub ticket: String,
}

/// `{instance}` (development only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DevObject {
    /// A random name of this instance of the object: a new one after every eviction.
    pub instance: String,
}

/// One message of the dev outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    /// The recipient.
    pub to: String,
    /// The subject.
    pub subject: String,
    /// The text.
    pub text: String,
    /// The token the mail carries.
    pub token: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// `{messages}`: newest last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Outbox {
    /// The messages.
    pub messages: Vec<OutboxMessage>,
}

/// `{result}` of a remote call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RpcResult {
    /// What the method answered.
    pub result: Json,
}

/// `{keys}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KeyList {
    /// The keys, in UTF-8 byte order: at most `?limit` (default and at most 1000).
    pub keys: Vec<String>,
    /// The `after` of the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `{key, value}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KvEntry {
    /// The key.
    pub key: String,
    /// Its value.
    pub value: Json,
}

/// `{ok: true, data: value}` (`GET /data`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DataValue {
    /// Always `true`.
    pub ok: bool,
    /// The value.
    pub data: Json,
}

/// `{ok: true, data: {key, value}}` (`POST /data`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DataEntry {
    /// Always `true`.
    pub ok: bool,
    /// What was stored.
    pub data: KvEntry,
}

/// `{rows, count}`, and `countCapped: true` when more than 10,000 rows match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RowList {
    /// The page of rows.
    pub rows: Vec<Json>,
    /// How many rows match, over every page, counted up to 10,000.
    pub count: i64,
    /// Present (and `true`) when more rows match than `count` says: it stopped at 10,000.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub count_capped: bool,
}

/// The body of `POST /api/tables/{table}/batch`: `{rows}`, 1 to 1000 of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BatchRequest {
    /// The rows to create, each as `POST /api/tables/{table}` takes it.
    pub rows: Vec<Json>,
}

/// `{rows}`: the rows a batch created, in the order given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RowsCreated {
    /// Each with `id`, `createdAt` and `updatedAt`.
    pub rows: Vec<Json>,
}

/// `{row}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TableRowBody {
    /// The row, with `id`, `createdAt` and `updatedAt`.
    pub row: Json,
}

/// `{org}`: the organization as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrgBody {
    /// `{id, name, createdAt, role}`.
    pub org: userdo::org::OrgView,
}

/// `{orgs}`: the organizations the caller belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrgList {
    /// Oldest membership first.
    pub orgs: Vec<userdo::org::OrgView>,
}

/// `{members}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MemberList {
    /// In the order they joined.
    pub members: Vec<userdo::org::Member>,
}

/// `{member}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MemberBody {
    /// The member as changed.
    pub member: userdo::org::Member,
}

/// `{invitation}` (its token goes by mail only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InvitationBody {
    /// `{id, email, role, createdAt, expiresAt}`.
    pub invitation: userdo::org::Invitation,
}

/// `{invitations}`: the pending ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InvitationList {
    /// Newest first.
    pub invitations: Vec<userdo::org::Invitation>,
}
