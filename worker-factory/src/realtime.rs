//! The user's WebSockets, inside the user's object: accepted with the hibernation API, each
//! remembering its session and the last `seq` it was sent in its attachment, so delivery survives
//! the object being evicted. Every event reaches every socket once, in `seq` order.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};

use userdo::realtime::{self, SocketState};
use userdo::{Event, Principal, Result};
use wasm_bindgen::{JsCast, JsValue};
use worker::{State, WebSocket, WebSocketPair, WebSocketRequestResponsePair, js_sys};

use crate::app::UserCore;

/// The text a client sends to keep a socket alive, and the answer the runtime gives to it without
/// waking the object.
pub const PING: &str = "ping";
/// The answer to [`PING`].
pub const PONG: &str = "pong";
/// The close code of a socket whose session ended (logout, revocation, password reset).
pub const CLOSE_SESSION_ENDED: u16 = 4001;

/// Answers [`PING`] with [`PONG`] in the runtime, without waking the object.
pub(crate) fn set_auto_response(state: &State) {
    match WebSocketRequestResponsePair::new(PING, PONG) {
        Ok(pair) => state.set_websocket_auto_response(&pair),
        Err(e) => worker::console_error!("userdo: websocket auto-response not set: {e:?}"),
    }
}

/// Accepts a socket for `principal`: replays what it missed after `since` (if given), then
/// delivers every new event. Returns the client end for the 101 response.
pub(crate) fn accept(
    state: &State,
    core: &UserCore,
    delivery: &Delivery,
    principal: &Principal,
    since: Option<i64>,
) -> Result<WebSocket> {
    accept_as(state, core, delivery, &principal.session_id, &[], since)
}

/// [`accept`], for a socket known by `key`: its first tag and the key in its attachment (a
/// session id; in an organization's object, the member's user id), with `more` tags after it.
pub(crate) fn accept_as(
    state: &State,
    core: &UserCore,
    delivery: &Delivery,
    key: &str,
    more: &[&str],
    since: Option<i64>,
) -> Result<WebSocket> {
    let pair = WebSocketPair::new()?;
    // Tagged with its key: delivery finds the sockets of each live key by it.
    let tags: Vec<&str> = std::iter::once(key).chain(more.iter().copied()).collect();
    state.accept_websocket_with_tags(&pair.server, &tags);
    delivery.fresh.set(true);
    let (frames, last_seq) = match since {
        Some(since) => core.replay(since)?,
        None => (Vec::new(), core.last_seq()?),
    };
    for frame in &frames {
        pair.server.send_with_str(frame)?;
    }
    remember(
        &pair.server,
        &SocketState {
            session_id: key.to_owned(),
            last_seq,
        },
    );
    Ok(pair.client)
}

fn remember(ws: &WebSocket, socket: &SocketState) {
    if let Err(e) = ws.serialize_attachment(socket) {
        worker::console_error!("userdo: socket state not kept: {e}");
    }
}

/// The state a socket keeps, if it has any (every socket this module accepted has).
pub(crate) fn socket_state(ws: &WebSocket) -> Option<SocketState> {
    ws.deserialize_attachment::<SocketState>().ok().flatten()
}

/// What this instance of the object knows of delivery, in memory, so that an event costs one send
/// per socket and no attachment read or write: every open socket has been sent every event up
/// to `through`, except sockets accepted since the last delivery (`fresh`), whose attachment says
/// where they start. The same position is recorded in the object's storage at each delivery to
/// sockets ([`UserCore::set_delivered`]), so a new instance (after eviction) starts from it.
#[derive(Debug)]
pub(crate) struct Delivery {
    through: Cell<Option<i64>>,
    fresh: Cell<bool>,
}

impl Default for Delivery {
    fn default() -> Self {
        // A new instance knows nothing yet: its first delivery reads the stored position and
        // every socket's attachment.
        Self {
            through: Cell::new(None),
            fresh: Cell::new(true),
        }
    }
}

impl Delivery {
    /// Forgets what it knew (the core was opened anew: the account was deleted, and with it
    /// every event and socket).
    pub(crate) fn reset(&self) {
        self.through.set(None);
        self.fresh.set(true);
    }
}

/// Sends `events` (this request's, oldest first) to every open socket that has not had them; a
/// socket that missed earlier ones is first sent those from the log, so none is skipped. Each
/// event is serialised once, whatever the number of sockets. A socket whose session has ended
/// (for any reason: the session cap at a login, expiry, ...) is sent nothing and closed with
/// 4001; the live sessions are read once per delivery.
///
/// Sockets are found by their session's tag ([`accept`] tags each with its session id): when no
/// socket was accepted since the last delivery, every socket stands at the same position and
/// nothing but the sends touches them. Otherwise (and for sockets without a tag) each socket's
/// attachment gives its session and where it started.
pub(crate) fn deliver(state: &State, core: &UserCore, delivery: &Delivery, events: &[Event]) {
    deliver_to(
        state,
        core,
        delivery,
        events,
        || core.live_session_ids(),
        (CLOSE_SESSION_ENDED, "session ended"),
    );
}

/// [`deliver`], for sockets whose attachment names a key (a session id in a user's object, a
/// member's user id in an organization's) that `live` lists while the socket may have events; a
/// socket whose key is no longer live is closed with `close`.
pub(crate) fn deliver_to(
    state: &State,
    core: &UserCore,
    delivery: &Delivery,
    events: &[Event],
    live: impl FnOnce() -> Result<Vec<String>>,
    close: (u16, &str),
) {
    let (Some(first), Some(newest)) = (events.first().map(|e| e.seq), events.last().map(|e| e.seq))
    else {
        return;
    };
    let sockets = state.get_websockets();
    if sockets.is_empty() {
        // A socket accepted later starts after these events.
        delivery.through.set(Some(newest));
        return;
    }
    let through = match delivery.through.get() {
        Some(through) => through,
        None => match core.delivered() {
            Ok(stored) => stored,
            Err(e) => {
                worker::console_error!("userdo: reading the delivery position failed: {e}");
                return;
            }
        },
    };
    let live: HashSet<String> = match live() {
        Ok(ids) => ids.into_iter().collect(),
        Err(e) => {
            // Fail closed: no event goes out without knowing whose sessions are live. The
            // position stays, so the next delivery sends these events too.
            worker::console_error!("userdo: reading the live sessions failed: {e}");
            return;
        }
    };
    // Each frame becomes a JavaScript string once, and every socket is sent that same string
    // (not a copy of the frame's UTF-8 per socket).
    let frames: Vec<(i64, JsValue)> = events
        .iter()
        .map(|e| (e.seq, JsValue::from_str(&realtime::event_frame(e))))
        .collect();
    let Some(sender) = Sender::of(&sockets[0]) else {
        worker::console_error!("userdo: a WebSocket without send()");
        return;
    };
    let mut replays: HashMap<i64, Option<Vec<String>>> = HashMap::new();
    let mut send = |ws: &WebSocket, from: i64| {
        if from >= newest {
            return;
        }
        if from >= first - 1 {
            for (_, frame) in frames.iter().filter(|(seq, _)| *seq > from) {
                // A socket that is closing cannot be sent to; its close handler tidies up.
                if !sender.send(ws, frame) {
                    return;
                }
            }
            return;
        }
        let replayed = replays
            .entry(from)
            .or_insert_with(|| match core.replay(from) {
                Ok((frames, _)) => Some(frames),
                Err(e) => {
                    worker::console_error!("userdo: replay for a socket failed: {e}");
                    None
                }
            });
        for frame in replayed.iter().flatten() {
            if ws.send_with_str(frame).is_err() {
                return;
            }
        }
    };
    let mut reached = 0;
    if !delivery.fresh.get() {
        for session in &live {
            for ws in state.get_websockets_with_tag(session) {
                send(&ws, through);
                reached += 1;
            }
        }
    }
    if reached != sockets.len() {
        // Sockets that are new, untagged or of ended sessions: each by its attachment.
        for ws in &sockets {
            let Some(socket) = socket_state(ws) else {
                continue;
            };
            if !live.contains(&socket.session_id) {
                let _ = ws.close(Some(close.0), Some(close.1));
                continue;
            }
            let tagged = state.get_tags(ws).contains(&socket.session_id);
            if delivery.fresh.get() || !tagged {
                send(ws, socket.last_seq.max(through));
            }
        }
    }
    delivery.through.set(Some(newest));
    delivery.fresh.set(false);
    if let Err(e) = core.set_delivered(newest) {
        worker::console_error!("userdo: recording the delivery position failed: {e}");
    }
}

/// `WebSocket.prototype.send`, called with a frame that is already a JavaScript string.
struct Sender(js_sys::Function);

impl Sender {
    fn of(ws: &WebSocket) -> Option<Self> {
        let raw: &JsValue = ws.as_ref().as_ref();
        js_sys::Reflect::get(raw, &JsValue::from_str("send"))
            .ok()?
            .dyn_into()
            .ok()
            .map(Self)
    }

    /// Sends `frame`; false when the socket refused it (it is closing).
    fn send(&self, ws: &WebSocket, frame: &JsValue) -> bool {
        let raw: &JsValue = ws.as_ref().as_ref();
        self.0.call1(raw, frame).is_ok()
    }
}

/// Closes the sockets whose session is no longer live.
pub(crate) fn close_ended_sessions(state: &State, core: &UserCore) -> Result<()> {
    let sockets = state.get_websockets();
    if sockets.is_empty() {
        return Ok(());
    }
    let live = core.live_session_ids()?;
    for ws in sockets {
        let ended = socket_state(&ws).is_none_or(|s| !live.contains(&s.session_id));
        if ended {
            let _ = ws.close(Some(CLOSE_SESSION_ENDED), Some("session ended"));
        }
    }
    Ok(())
}

/// Closes the sockets tagged `key` with `code` (a member removed from an organization).
pub(crate) fn close_tagged(state: &State, key: &str, code: u16, reason: &str) {
    for ws in state.get_websockets_with_tag(key) {
        let _ = ws.close(Some(code), Some(reason));
    }
}

/// Closes every socket with `code`.
pub(crate) fn close_all_with(state: &State, code: u16, reason: &str) {
    for ws in state.get_websockets() {
        let _ = ws.close(Some(code), Some(reason));
    }
}

/// The close code of an organization's socket whose member was removed (or left), or whose
/// organization was deleted.
pub const CLOSE_NO_ACCESS: u16 = 4003;

/// Closes every socket: the account is gone, and every session with it.
pub(crate) fn close_all(state: &State) {
    for ws in state.get_websockets() {
        let _ = ws.close(Some(CLOSE_SESSION_ENDED), Some("session ended"));
    }
}
