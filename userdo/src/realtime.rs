//! What the realtime layer needs from the core: single-use WebSocket tickets, the state each socket
//! keeps across hibernation, which sessions are still live, and the frames of the protocol.
//! The sockets themselves belong to the runtime.

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::UserDo;
use crate::error::{Error, Result};
use crate::events::{Event, Since};
use crate::platform::Platform;
use crate::principal::Principal;
use crate::store::{Store, Value};
use crate::token::{self, OpaqueKind};

/// How long a WebSocket ticket lives.
pub const TICKET_TTL_MS: i64 = 60_000;
/// The most events one replay (`?since=`) sends; beyond that the client is told to resync.
pub const MAX_REPLAY: usize = 1000;

/// What a socket remembers across hibernation (its serialized attachment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocketState {
    /// The session the socket was opened by; when it ends, the socket is closed.
    pub session_id: String,
    /// The last `seq` this socket was sent.
    pub last_seq: i64,
}

impl<S: Store, P: Platform> UserDo<S, P> {
    /// A ticket for opening one WebSocket as this session: single use, valid for
    /// [`TICKET_TTL_MS`]. Only its hash is stored.
    pub fn issue_ws_ticket(&self, principal: &Principal) -> Result<String> {
        self.issue_scoped_ws_ticket(principal, "")
    }

    /// A ticket for the feed of the organization `org` (`""`: the user's own feed), as
    /// [`issue_ws_ticket`](Self::issue_ws_ticket): one scope's ticket opens no other.
    pub fn issue_scoped_ws_ticket(&self, principal: &Principal, scope: &str) -> Result<String> {
        let ticket = token::new_opaque(&self.platform, OpaqueKind::WsTicket, &self.user_id)?;
        let now = self.platform.now_ms();
        self.store.execute(
            "DELETE FROM _userdo_ws_tickets WHERE expires_at <= ?",
            &[Value::Integer(now)],
        )?;
        self.store.execute(
            "INSERT INTO _userdo_ws_tickets (token_hash, session_id, expires_at, scope) VALUES (?, ?, ?, ?)",
            &[
                token::hash_token(&ticket).into(),
                principal.session_id.as_str().into(),
                Value::Integer(now + TICKET_TTL_MS),
                scope.into(),
            ],
        )?;
        Ok(ticket)
    }

    /// Spends a ticket: the session it was issued to, if the ticket is unspent and unexpired and
    /// the session still live; otherwise 401 `invalid_token` (or `session_revoked`).
    pub fn redeem_ws_ticket(&self, ticket: &str) -> Result<Principal> {
        self.redeem_scoped_ws_ticket(ticket, "")
    }

    /// Spends a ticket of the scope `scope`, as [`redeem_ws_ticket`](Self::redeem_ws_ticket); a
    /// ticket of another scope is `invalid_token` (and stays unspent).
    pub fn redeem_scoped_ws_ticket(&self, ticket: &str, scope: &str) -> Result<Principal> {
        if token::opaque_user_id(OpaqueKind::WsTicket, ticket) != Some(self.user_id.as_str()) {
            return Err(Error::InvalidToken);
        }
        let rows = self.store.query(
            "DELETE FROM _userdo_ws_tickets WHERE token_hash = ? AND expires_at > ? AND scope = ? RETURNING session_id",
            &[
                token::hash_token(ticket).into(),
                Value::Integer(self.platform.now_ms()),
                scope.into(),
            ],
        )?;
        let session_id = rows.first().ok_or(Error::InvalidToken)?.text(0)?.to_owned();
        if !self.session_is_live(&session_id)? {
            return Err(Error::SessionRevoked);
        }
        Ok(Principal {
            user_id: self.user_id.clone(),
            session_id,
        })
    }

    /// Whether the session `id` is live now.
    pub fn session_is_live(&self, id: &str) -> Result<bool> {
        let rows = self.store.query(
            "SELECT 1 FROM _userdo_sessions WHERE id = ? AND expires_at > ?",
            &[id.into(), Value::Integer(self.platform.now_ms())],
        )?;
        Ok(!rows.is_empty())
    }

    /// The newest `seq` every open socket was sent, as [`set_delivered`](Self::set_delivered)
    /// recorded it (0 before any).
    pub fn delivered(&self) -> Result<i64> {
        let rows = self
            .store
            .query("SELECT delivered FROM _userdo_seq WHERE id = 1", &[])?;
        Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0))
    }

    /// Records that every open socket has been sent every event up to `seq`.
    pub fn set_delivered(&self, seq: i64) -> Result<()> {
        self.store.execute(
            "UPDATE _userdo_seq SET delivered = ? WHERE id = 1",
            &[Value::Integer(seq)],
        )?;
        Ok(())
    }

    /// The ids of the sessions that are live now.
    pub fn live_session_ids(&self) -> Result<Vec<String>> {
        self.store
            .query(
                "SELECT id FROM _userdo_sessions WHERE expires_at > ?",
                &[Value::Integer(self.platform.now_ms())],
            )?
            .iter()
            .map(|r| Ok(r.text(0)?.to_owned()))
            .collect()
    }

    /// The frames a socket that asks to resume after `since` is sent first, and the `seq` it has
    /// then seen: the missed events in order, or a single `resync` frame when they are no longer
    /// all held (or too many).
    pub fn replay(&self, since: i64) -> Result<(Vec<String>, i64)> {
        match self.events_since(since, MAX_REPLAY + 1)? {
            Since::Events(events) if events.len() <= MAX_REPLAY => {
                let last = events.last().map_or(since, |e| e.seq);
                Ok((events.iter().map(event_frame).collect(), last))
            }
            _ => {
                let seq = self.last_seq()?;
                Ok((
                    vec![json!({ "event": "resync", "seq": seq }).to_string()],
                    seq,
                ))
            }
        }
    }
}

/// An event as a WebSocket message: `{seq, event, data, ts}`.
pub fn event_frame(event: &Event) -> String {
    serde_json::to_string(event).unwrap_or_default()
}

/// A client frame: `{id, method, params}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ClientFrame {
    /// Echoed in the answer, so the client can match it (any JSON value).
    #[serde(default)]
    pub id: Json,
    /// The application's method.
    pub method: String,
    /// Its parameters.
    #[serde(default)]
    pub params: Json,
}

/// The answer to a client frame: `{id, result}`.
pub fn result_frame(id: &Json, result: &Json) -> String {
    json!({ "id": id, "result": result }).to_string()
}

/// An error answer: `{id, error: {code, message, details?}}` (`id` is null when the frame had
/// none that could be read).
pub fn error_frame(id: &Json, error: &Error) -> String {
    let mut body = error.to_body();
    let inner = body
        .as_object_mut()
        .and_then(|o| o.remove("error"))
        .unwrap_or(Json::Null);
    json!({ "id": id, "error": inner }).to_string()
}
