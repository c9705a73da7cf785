//! The user's Durable Object: opens the core on first use and answers the requests the worker
//! forwards. Every authenticated request re-verifies the access token and checks its session here,
//! so a revoked session stops working at once.

use std::cell::RefCell;
use std::rc::Rc;

use userdo::api::{
    self, ChangePasswordRequest, Credentials, DeleteAccountRequest, RefreshRequest, ResetConfirm,
    ResetRequest, VerificationConfirm,
};
use userdo::{ClientInfo, Error, Principal, Result, UserDo, account, migrate, realtime, rpc};
use worker::{Env, Method, Request, Response, State, WebSocket, WebSocketIncomingMessage};

use crate::app::{ObjectCtx, UserApp, UserCore};
use crate::http::{AUTH_BODY_LIMIT, DATA_BODY_LIMIT, error_response, read_body, respond};
use crate::mail;
use crate::settings::settings_from_env;
use crate::store::{DoStore, WorkerPlatform};

/// Paths under this prefix are the application's ([`UserApp::fetch`]).
pub(crate) const APP_PREFIX: &str = "/app";

/// The framework's part of a user's Durable Object, generic over the application.
pub struct UserDoObject<A: UserApp> {
    state: State,
    env: Env,
    app: A,
    /// The application's tables, declared once per object instance.
    tables: userdo::table::Tables,
    /// A random name of this instance of the object: a new one after every eviction
    /// (`GET /api/dev/object`, with `DEV_OUTBOX`, shows it to tests of hibernation).
    instance: String,
    /// Opened on first use; dropped when the account is deleted, so the next use starts afresh.
    core: RefCell<Option<Rc<UserCore>>>,
}

impl<A: UserApp> std::fmt::Debug for UserDoObject<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserDoObject").finish_non_exhaustive()
    }
}

impl<A: UserApp> UserDoObject<A> {
    /// Wraps the object's state for `app`.
    pub fn new(state: State, env: Env, app: A) -> Self {
        crate::realtime::set_auto_response(&state);
        Self {
            tables: app.tables(),
            instance: format!("{:016x}", (js_sys::Math::random() * 2f64.powi(53)) as u64),
            state,
            env,
            app,
            core: RefCell::new(None),
        }
    }

    /// The application.
    pub fn app(&self) -> &A {
        &self.app
    }

    /// The core, opened (and migrated) on first use.
    pub fn core(&self) -> Result<Rc<UserCore>> {
        if let Some(core) = self.core.borrow().as_ref() {
            return Ok(core.clone());
        }
        let settings = settings_from_env(&self.env)?;
        let store = DoStore::new(self.state.storage());
        let core = UserDo::open(store, WorkerPlatform, settings, self.state.id().to_string())?
            .with_tables(self.tables.clone())?;
        migrate::migrate(
            core.store(),
            "app",
            self.app.migrations(),
            userdo::Platform::now_ms(&WorkerPlatform),
        )?;
        let core = Rc::new(core);
        *self.core.borrow_mut() = Some(core.clone());
        Ok(core)
    }

    /// Answers a request forwarded by the worker. Errors become API error responses here.
    pub async fn fetch(&self, req: Request) -> worker::Result<Response> {
        let path = req.path();
        let result = self.handle(req).await;
        self.after_request(ends_sessions(&path));
        match result {
            Ok(response) => Ok(response),
            Err(error) => error_response(&error),
        }
    }

    /// Delivers the events of the request to the open sockets, and closes the sockets of
    /// sessions it ended.
    fn after_request(&self, sessions_may_have_ended: bool) {
        let Some(core) = self.core.borrow().clone() else {
            if sessions_may_have_ended {
                // The account was deleted: every session ended with it.
                for ws in self.state.get_websockets() {
                    let _ = ws.close(
                        Some(crate::realtime::CLOSE_SESSION_ENDED),
                        Some("session ended"),
                    );
                }
            }
            return;
        };
        let events = core.take_events();
        crate::realtime::deliver(&self.state, &core, &events);
        if sessions_may_have_ended
            && let Err(e) = crate::realtime::close_ended_sessions(&self.state, &core)
        {
            worker::console_error!("userdo: closing the sockets of ended sessions failed: {e}");
        }
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
        Ok(())
    }

    async fn socket_call(
        &self,
        ws: &WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<Option<String>, (serde_json::Value, Error)> {
        let null = serde_json::Value::Null;
        let core = self.core().map_err(|e| (null.clone(), e))?;
        let Some(socket) = crate::realtime::socket_state(ws) else {
            return Err((null, Error::Unauthenticated));
        };
        if !crate::realtime::session_is_live(&core, &socket).map_err(|e| (null.clone(), e))? {
            let _ = ws.close(
                Some(crate::realtime::CLOSE_SESSION_ENDED),
                Some("session ended"),
            );
            return Ok(None);
        }
        let WebSocketIncomingMessage::String(text) = message else {
            return Err((null, Error::InvalidJson("frames are JSON text".into())));
        };
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
            (
                null.clone(),
                Error::InvalidJson("the frame is not JSON".into()),
            )
        })?;
        let id = value.get("id").cloned().unwrap_or_default();
        let frame: realtime::ClientFrame = serde_json::from_value(value).map_err(|_| {
            (
                id.clone(),
                Error::field("method", "a frame is {id, method, params}"),
            )
        })?;
        let principal = Principal {
            user_id: core.user_id().to_owned(),
            session_id: socket.session_id,
        };
        let call =
            rpc::parse_call::<A::Call>(&frame.method, frame.params).map_err(|e| (id.clone(), e))?;
        let result = self
            .app
            .call(&self.ctx(&core), &principal, call)
            .await
            .map_err(|e| (id.clone(), e))?;
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
        let _ = ws.close(Some(1000), Some("closed"));
        Ok(())
    }

    /// A socket failed: nothing to keep; it is gone from the object's sockets.
    pub async fn websocket_error(
        &self,
        _ws: WebSocket,
        error: worker::Error,
    ) -> worker::Result<()> {
        worker::console_log!("userdo: websocket error: {error}");
        Ok(())
    }

    async fn handle(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let method = req.method();
        if method == Method::Post && self.core.borrow().is_none() {
            // An object never signed up to answers these without creating any storage.
            let store = DoStore::new(self.state.storage());
            if !account::has_account_schema(&store)? {
                match path.as_str() {
                    "/api/login" => {
                        let c: Credentials = parse(&mut req).await?;
                        let settings = settings_from_env(&self.env)?;
                        let (email, password) =
                            (c.email.unwrap_or_default(), c.password.unwrap_or_default());
                        return Err(account::login_without_account(&settings, &email, &password));
                    }
                    "/api/password-reset/request" => return respond(202, &ok()),
                    _ => {}
                }
            }
        }
        if method == Method::Get && path == "/api/dev/outbox" {
            if !mail::dev_outbox_enabled(&self.env) {
                return Err(Error::NotFound("no such endpoint".into()));
            }
            return respond(200, &mail::outbox(&DoStore::new(self.state.storage()))?);
        }
        let core = self.core()?;
        let core = core.as_ref();
        let client = ClientInfo {
            user_agent: req
                .headers()
                .get("user-agent")
                .ok()
                .flatten()
                .unwrap_or_default(),
        };
        let now = userdo::Platform::now_ms(core.platform());
        match (&method, path.as_str()) {
            (Method::Post, "/api/signup") => {
                let c: Credentials = parse(&mut req).await?;
                let auth = core.signup(
                    &c.email.unwrap_or_default(),
                    &c.password.unwrap_or_default(),
                    &client,
                )?;
                self.app.on_signup(&self.ctx(core), &auth.user)?;
                return respond(201, &auth);
            }
            (Method::Post, "/api/login") => {
                let c: Credentials = parse(&mut req).await?;
                let auth = core.login(
                    &c.email.unwrap_or_default(),
                    &c.password.unwrap_or_default(),
                    &client,
                )?;
                return respond(200, &auth);
            }
            (Method::Post, "/api/refresh") => {
                let r: RefreshRequest = parse(&mut req).await?;
                let token = r.refresh_token.ok_or(Error::Unauthenticated)?;
                return respond(200, &core.refresh(&token)?);
            }
            (Method::Post, "/api/password-reset/request") => {
                let r: ResetRequest = parse(&mut req).await?;
                if let Some(message) = core.request_password_reset(
                    &r.email.unwrap_or_default(),
                    self.app.mail_templates(),
                )? {
                    // The answer is the same whether or not mail went out; a failure is logged.
                    if let Err(e) = mail::deliver(&self.env, core.store(), now, &message).await {
                        worker::console_error!("userdo: password-reset mail not sent: {e}");
                    }
                }
                return respond(202, &ok());
            }
            (Method::Post, "/api/password-reset/confirm") => {
                let r: ResetConfirm = parse(&mut req).await?;
                core.confirm_password_reset(
                    &r.token.unwrap_or_default(),
                    &r.new_password.unwrap_or_default(),
                )?;
                return respond(200, &ok());
            }
            (Method::Post, "/api/email-verification/confirm") => {
                let r: VerificationConfirm = parse(&mut req).await?;
                let user = core.confirm_email_verification(&r.token.unwrap_or_default())?;
                return respond(200, &serde_json::json!({ "user": user }));
            }
            _ => {}
        }
        if path == "/api/ws" {
            return self.open_socket(core, &req);
        }
        if method == Method::Get && path == "/api/dev/object" {
            if !mail::dev_outbox_enabled(&self.env) {
                return Err(Error::NotFound("no such endpoint".into()));
            }
            authenticate(core, &req)?;
            return respond(200, &serde_json::json!({ "instance": self.instance }));
        }
        let principal = authenticate(core, &req)?;
        if method == Method::Post && path == "/api/ws/ticket" {
            return respond(
                200,
                &serde_json::json!({ "ticket": core.issue_ws_ticket(&principal)? }),
            );
        }
        if method == Method::Post && path == "/api/rpc" {
            let r: rpc::RpcRequest = api::parse_body(&read_body(&mut req, DATA_BODY_LIMIT).await?)?;
            let call = rpc::parse_call::<A::Call>(&r.method.unwrap_or_default(), r.params)?;
            let result = self.app.call(&self.ctx(core), &principal, call).await?;
            return respond(200, &serde_json::json!({ "result": result }));
        }
        if path
            .strip_prefix(APP_PREFIX)
            .is_some_and(|p| p.is_empty() || p.starts_with('/'))
        {
            return self.app.fetch(&self.ctx(core), &principal, req).await;
        }
        if path.starts_with("/api/kv") || path == "/data" {
            return crate::kv_http::handle(core, &mut req).await;
        }
        if path.starts_with("/api/tables/") {
            return crate::tables_http::handle(core, &mut req).await;
        }
        match (&method, path.as_str()) {
            (Method::Get, "/api/me") => respond(200, &serde_json::json!({ "user": core.me()? })),
            (Method::Post, "/api/logout") => {
                core.logout(&principal)?;
                respond(200, &ok())
            }
            (Method::Get, "/api/sessions") => respond(
                200,
                &serde_json::json!({ "sessions": core.sessions(&principal)? }),
            ),
            (Method::Post, "/api/sessions/revoke-others") => respond(
                200,
                &serde_json::json!({ "revoked": core.revoke_other_sessions(&principal)? }),
            ),
            (Method::Delete, p) if p.starts_with("/api/sessions/") => {
                core.revoke_session(&principal, &p["/api/sessions/".len()..])?;
                respond(200, &ok())
            }
            (Method::Post, "/api/password/change") => {
                let c: ChangePasswordRequest = parse(&mut req).await?;
                core.change_password(
                    &principal,
                    &c.current_password.unwrap_or_default(),
                    &c.new_password.unwrap_or_default(),
                )?;
                respond(200, &ok())
            }
            (Method::Post, "/api/email-verification/request") => {
                let message =
                    core.request_email_verification(&principal, self.app.mail_templates())?;
                mail::deliver(&self.env, core.store(), now, &message).await?;
                respond(202, &ok())
            }
            (Method::Delete, "/api/account") => {
                let r: DeleteAccountRequest = parse(&mut req).await?;
                core.authorize_deletion(&principal, &r.password.unwrap_or_default())?;
                core.erase()?;
                // Everything else of the user's: the application's tables, the outbox, any KV.
                self.state
                    .storage()
                    .delete_all()
                    .await
                    .map_err(crate::http::internal)?;
                *self.core.borrow_mut() = None;
                respond(200, &ok())
            }
            _ => Err(Error::NotFound("no such endpoint".into())),
        }
    }

    /// `GET /api/ws`: a ticket (`?ticket=`) or the bearer token the worker verified, checked with
    /// its session here before the socket is accepted; `?since=S` replays what was missed.
    fn open_socket(&self, core: &UserCore, req: &Request) -> Result<Response> {
        let upgrade = req.headers().get("upgrade").ok().flatten();
        if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
            return Err(Error::UpgradeRequired);
        }
        let url = req.url().map_err(crate::http::internal)?;
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let principal = match param("ticket") {
            Some(ticket) => core.redeem_ws_ticket(&ticket)?,
            None => authenticate(core, req)?,
        };
        let since = param("since")
            .map(|s| {
                s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                    Error::InvalidQuery("since must be a seq (a whole number)".into())
                })
            })
            .transpose()?;
        let client = crate::realtime::accept(&self.state, core, &principal, since)?;
        Response::from_websocket(client).map_err(crate::http::internal)
    }

    fn ctx<'a>(&'a self, core: &'a UserCore) -> ObjectCtx<'a> {
        ObjectCtx {
            core,
            state: &self.state,
            env: &self.env,
        }
    }
}

/// Whether a request to `path` can end sessions (and so must close their sockets).
fn ends_sessions(path: &str) -> bool {
    [
        "/api/logout",
        "/api/refresh",
        "/api/sessions",
        "/api/password",
        "/api/account",
    ]
    .iter()
    .any(|p| path.starts_with(p))
}

/// Verifies the bearer token the worker forwarded and checks its session in this object.
fn authenticate(core: &UserDo<DoStore, WorkerPlatform>, req: &Request) -> Result<Principal> {
    let header = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .ok_or(Error::Unauthenticated)?;
    let token = header
        .strip_prefix("Bearer ")
        .ok_or(Error::Unauthenticated)?;
    let claims = core
        .settings()
        .keys
        .verify_access(token, userdo::Platform::now_secs(core.platform()))?;
    core.authenticate(&claims)
}

async fn parse<T: serde::de::DeserializeOwned + api::Validate>(req: &mut Request) -> Result<T> {
    api::parse_body(&read_body(req, AUTH_BODY_LIMIT).await?)
}

fn ok() -> serde_json::Value {
    serde_json::json!({ "ok": true })
}
