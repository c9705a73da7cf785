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
        let ticket = token::new_opaque(&self.platform, OpaqueKind::WsTicket, &self.user_id)?;
        let now = self.platform.now_ms();
        self.store.execute(
            "DELETE FROM _userdo_ws_tickets WHERE expires_at <= ?",
            &[Value::Integer(now)],
        )?;
        self.store.execute(
            "INSERT INTO _userdo_ws_tickets (token_hash, session_id, expires_at) VALUES (?, ?, ?)",
            &[
                token::hash_token(&ticket).into(),
                principal.session_id.as_str().into(),
                Value::Integer(now + TICKET_TTL_MS),
            ],
        )?;
        Ok(ticket)
    }

    /// Spends a ticket: the session it was issued to, if the ticket is unspent and unexpired and
    /// the session still live; otherwise 401 `invalid_token` (or `session_revoked`).
    pub fn redeem_ws_ticket(&self, ticket: &str) -> Result<Principal> {
        if token::opaque_user_id(OpaqueKind::WsTicket, ticket) != Some(self.user_id.as_str()) {
            return Err(Error::InvalidToken);
        }
        let rows = self.store.query(
            "DELETE FROM _userdo_ws_tickets WHERE token_hash = ? AND expires_at > ? RETURNING session_id",
            &[
                token::hash_token(ticket).into(),
                Value::Integer(self.platform.now_ms()),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::platform::Platform;
    use crate::principal::ClientInfo;
    use crate::test_support::{TestObject, advance, object};

    const USER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn signed_up() -> (TestObject, Principal) {
        let o = object(USER);
        let auth = o
            .signup("a@b.co", "correct horse battery", &ClientInfo::default())
            .unwrap();
        let claims = o
            .settings()
            .keys
            .verify_access(&auth.token, o.platform().now_secs())
            .unwrap();
        let p = o.authenticate(&claims).unwrap();
        (o, p)
    }

    #[test]
    fn a_ticket_opens_one_socket_for_its_session_and_only_once() {
        let (o, p) = signed_up();
        let ticket = o.issue_ws_ticket(&p).unwrap();
        assert!(ticket.starts_with(&format!("uwt.{USER}.")));
        let stored = o
            .store()
            .query("SELECT token_hash FROM _userdo_ws_tickets", &[])
            .unwrap();
        assert_eq!(stored[0].text(0).unwrap(), token::hash_token(&ticket));
        assert_eq!(o.redeem_ws_ticket(&ticket).unwrap(), p);
        assert!(matches!(
            o.redeem_ws_ticket(&ticket),
            Err(Error::InvalidToken)
        ));
    }

    #[test]
    fn a_ticket_expires_after_sixty_seconds_and_dies_with_its_session() {
        let (o, p) = signed_up();
        let late = o.issue_ws_ticket(&p).unwrap();
        advance(&o, TICKET_TTL_MS);
        assert!(matches!(
            o.redeem_ws_ticket(&late),
            Err(Error::InvalidToken)
        ));
        let orphan = o.issue_ws_ticket(&p).unwrap();
        o.logout(&p).unwrap();
        assert!(matches!(
            o.redeem_ws_ticket(&orphan),
            Err(Error::SessionRevoked)
        ));
        assert!(o.live_session_ids().unwrap().is_empty());
    }

    #[test]
    fn other_token_kinds_and_other_users_tickets_are_not_tickets() {
        let (o, p) = signed_up();
        let ticket = o.issue_ws_ticket(&p).unwrap();
        let as_refresh = ticket.replacen("uwt.", "urt.", 1);
        assert!(matches!(
            o.redeem_ws_ticket(&as_refresh),
            Err(Error::InvalidToken)
        ));
        let other_user = ticket.replacen(USER, &"f".repeat(64), 1);
        assert!(matches!(
            o.redeem_ws_ticket(&other_user),
            Err(Error::InvalidToken)
        ));
        assert!(matches!(
            o.redeem_ws_ticket("uwt.x.y"),
            Err(Error::InvalidToken)
        ));
        // The real one still works: failed attempts did not spend it.
        assert!(o.redeem_ws_ticket(&ticket).is_ok());
    }

    #[test]
    fn replay_sends_missed_events_in_order_or_asks_for_resync() {
        let (o, _) = signed_up();
        for n in 0..3 {
            o.kv_put(&format!("k{n}"), &json!(n)).unwrap();
        }
        let (frames, last) = o.replay(1).unwrap();
        assert_eq!(last, 3);
        let seqs: Vec<i64> = frames
            .iter()
            .map(|f| {
                serde_json::from_str::<Json>(f).unwrap()["seq"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(seqs, [2, 3]);
        assert_eq!(o.replay(3).unwrap(), (vec![], 3));
        let (frames, last) = o.replay(7).unwrap();
        assert_eq!(last, 3);
        assert_eq!(
            serde_json::from_str::<Json>(&frames[0]).unwrap(),
            json!({ "event": "resync", "seq": 3 })
        );
    }

    #[test]
    fn error_frames_carry_the_id_and_the_api_error_shape() {
        let frame = error_frame(&json!(7), &Error::NotFound("no method \"x\"".into()));
        let v: Json = serde_json::from_str(&frame).unwrap();
        assert_eq!(v["id"], json!(7));
        assert_eq!(v["error"]["code"], json!("not_found"));
        let internal = error_frame(&Json::Null, &Error::internal("SELECT secret"));
        assert!(!internal.contains("SELECT"));
    }
}
