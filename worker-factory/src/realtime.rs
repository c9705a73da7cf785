//! The user's WebSockets, inside the user's object: accepted with the hibernation API, each
//! remembering its session and the last `seq` it was sent in its attachment, so delivery survives
//! the object being evicted. Every event reaches every socket once, in `seq` order.

use std::collections::HashSet;

use userdo::realtime::{self, SocketState};
use userdo::{Event, Principal, Result};
use worker::{State, WebSocket, WebSocketPair, WebSocketRequestResponsePair};

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
    principal: &Principal,
    since: Option<i64>,
) -> Result<WebSocket> {
    let pair = WebSocketPair::new()?;
    state.accept_web_socket(&pair.server);
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
            session_id: principal.session_id.clone(),
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

/// Sends `events` (this request's, oldest first) to every open socket that has not had them; a
/// socket that missed earlier ones is first sent those from the log, so none is skipped. Each
/// event is serialised once, whatever the number of sockets. A socket whose session has ended
/// (for any reason: the session cap at a login, expiry, ...) is sent nothing and closed with
/// 4001; the live sessions are read once per delivery.
pub(crate) fn deliver(state: &State, core: &UserCore, events: &[Event]) {
    let (Some(first), Some(newest)) = (events.first().map(|e| e.seq), events.last().map(|e| e.seq))
    else {
        return;
    };
    let sockets = state.get_websockets();
    if sockets.is_empty() {
        return;
    }
    let live: HashSet<String> = match core.live_session_ids() {
        Ok(ids) => ids.into_iter().collect(),
        Err(e) => {
            // Fail closed: no event goes out without knowing whose sessions are live.
            worker::console_error!("userdo: reading the live sessions failed: {e}");
            return;
        }
    };
    let frames: Vec<(i64, String)> = events
        .iter()
        .map(|e| (e.seq, realtime::event_frame(e)))
        .collect();
    for ws in sockets {
        let Some(mut socket) = socket_state(&ws) else {
            continue;
        };
        if !live.contains(&socket.session_id) {
            let _ = ws.close(Some(CLOSE_SESSION_ENDED), Some("session ended"));
            continue;
        }
        if socket.last_seq >= newest {
            continue;
        }
        let sent = if socket.last_seq >= first - 1 {
            frames
                .iter()
                .filter(|(seq, _)| *seq > socket.last_seq)
                .all(|(_, frame)| ws.send_with_str(frame).is_ok())
        } else {
            match core.replay(socket.last_seq) {
                Ok((replayed, _)) => replayed.iter().all(|f| ws.send_with_str(f).is_ok()),
                Err(e) => {
                    worker::console_error!("userdo: replay for a socket failed: {e}");
                    continue;
                }
            }
        };
        // A socket that is closing cannot be sent to; its close handler tidies up.
        if sent {
            socket.last_seq = newest;
            remember(&ws, &socket);
        }
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

/// Closes every socket: the account is gone, and every session with it.
pub(crate) fn close_all(state: &State) {
    for ws in state.get_websockets() {
        let _ = ws.close(Some(CLOSE_SESSION_ENDED), Some("session ended"));
    }
}
