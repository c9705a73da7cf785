//! The user's WebSockets, object side: tickets, the upgrade, and the frames the hibernation API
//! hands back. Delivery of the change feed is [`crate::realtime`].

use serde_json::Value as Json;
use userdo::{Error, Principal, Result, realtime, rpc};
use worker::{Response, WebSocket, WebSocketIncomingMessage};

use super::UserDoObject;
use crate::app::{Methods, UserApp, UserCore};
use crate::http::respond;
use crate::realtime::CLOSE_SESSION_ENDED;
use crate::responses::Ticket;

/// The largest frame a client may send (1 MiB); a larger one is answered `payload_too_large`.
pub(crate) const MAX_FRAME_BYTES: usize = 1024 * 1024;

impl<A: UserApp> UserDoObject<A> {
    pub(super) fn ws_ticket(&self, core: &UserCore, who: &Principal) -> Result<Response> {
        let ticket = core.issue_ws_ticket(who)?;
        respond(200, &Ticket { ticket })
    }

    /// Accepts a socket for a live session (the worker checked the upgrade); `since` replays
    /// what was missed.
    pub(super) fn open_socket(
        &self,
        core: &UserCore,
        who: &Principal,
        since: Option<i64>,
    ) -> Result<Response> {
        let client = crate::realtime::accept(&self.state, core, &self.delivery, who, since)?;
        Ok(Response::from_websocket(client)?)
    }

    /// A message on one of the user's sockets: `{id, method, params}` calls the application,
    /// answered with `{id, result}` or `{id, error}`; anything else gets `{error}` and the socket
    /// stays open. A socket whose session has ended is closed instead.
    pub async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        let reply = match self.socket_call(&ws, message).await {
            Ok(Some(reply)) => reply,
            Ok(None) => return Ok(()),
            Err((id, error)) => {
                if let Some(detail) = error.log_detail() {
                    worker::console_error!("userdo: websocket call failed: {detail}");
                }
                realtime::error_frame(&id, &error)
            }
        };
        let _ = ws.send_with_str(reply);
        self.after_request(false);
        if self
            .core
            .borrow()
            .as_ref()
            .is_some_and(|c| c.take_tasks_changed())
        {
            self.sync_alarm().await;
        }
        Ok(())
    }

    async fn socket_call(
        &self,
        ws: &WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<Option<String>, (Json, Error)> {
        let no_id = |e| (Json::Null, e);
        let core = self.core().map_err(no_id)?;
        let Some(socket) = crate::realtime::socket_state(ws) else {
            return Err(no_id(Error::Unauthenticated));
        };
        if !core.session_is_live(&socket.session_id).map_err(no_id)? {
            let _ = ws.close(Some(CLOSE_SESSION_ENDED), Some("session ended"));
            return Ok(None);
        }
        let (id, frame) = read_frame(message)?;
        let with_id = |e| (id.clone(), e);
        let principal = Principal {
            user_id: core.user_id().to_owned(),
            session_id: socket.session_id,
        };
        let call = rpc::parse_call::<A::Call>(&frame.method, frame.params).map_err(with_id)?;
        let ctx = self.ctx(&core, Some(&principal));
        let result = call.run(&self.app, &ctx).await.map_err(with_id)?;
        Ok(Some(realtime::result_frame(&id, &result)))
    }

    /// A socket closed: complete the closing handshake.
    pub async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> worker::Result<()> {
        complete_close(&ws);
        Ok(())
    }

    /// A socket failed: nothing to keep; it is gone from the object's sockets.
    pub async fn websocket_error(
        &self,
        _ws: WebSocket,
        error: worker::Error,
    ) -> worker::Result<()> {
        log_error("user", &error);
        Ok(())
    }
}

/// Completes a closing handshake the client started (users' and organizations' sockets).
pub(crate) fn complete_close(ws: &WebSocket) {
    let _ = ws.close(Some(1000), Some("closed"));
}

/// Logs a socket's failure; there is nothing to keep, as the socket is gone from the object.
pub(crate) fn log_error(whose: &str, error: &worker::Error) {
    worker::console_log!("userdo: {whose} websocket error: {error}");
}

/// Reads a client frame: refused before it is parsed when over [`MAX_FRAME_BYTES`]
/// (`payload_too_large`), then JSON text of the shape `{id, method, params}`. The error comes
/// with the frame's `id` when one could be read (`null` otherwise), as the answer echoes it.
pub(crate) fn read_frame(
    message: WebSocketIncomingMessage,
) -> Result<(Json, realtime::ClientFrame), (Json, Error)> {
    let no_id = |e| (Json::Null, e);
    // Refused before it is parsed: a frame over the limit costs no parsing.
    let size = match &message {
        WebSocketIncomingMessage::String(text) => text.len(),
        WebSocketIncomingMessage::Binary(bytes) => bytes.len(),
    };
    if size > MAX_FRAME_BYTES {
        return Err(no_id(Error::PayloadTooLarge {
            limit: MAX_FRAME_BYTES,
        }));
    }
    let WebSocketIncomingMessage::String(text) = message else {
        return Err(no_id(Error::InvalidJson("frames are JSON text".into())));
    };
    let value: Json = serde_json::from_str(&text)
        .map_err(|_| no_id(Error::InvalidJson("the frame is not JSON".into())))?;
    let id = value.get("id").cloned().unwrap_or_default();
    let frame: realtime::ClientFrame = serde_json::from_value(value).map_err(|_| {
        (
            id.clone(),
            Error::field("method", "a frame is {id, method, params}"),
        )
    })?;
    Ok((id, frame))
}
