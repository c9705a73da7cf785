//! The user's Durable Object: opens the core on first use and answers the requests the worker
//! forwards. Every authenticated request re-verifies the access token and checks its session here,
//! so a revoked session stops working at once.

use std::cell::OnceCell;

use userdo::api::{self, ChangePasswordRequest, Credentials, RefreshRequest};
use userdo::{ClientInfo, Error, Principal, Result, UserDo, account, migrate};
use worker::{Env, Method, Request, Response, State};

use crate::app::{ObjectCtx, UserApp, UserCore};
use crate::http::{AUTH_BODY_LIMIT, error_response, json, read_body};
use crate::settings::settings_from_env;
use crate::store::{DoStore, WorkerPlatform};

/// Paths under this prefix are the application's ([`UserApp::fetch`]).
pub(crate) const APP_PREFIX: &str = "/app";

/// The framework's part of a user's Durable Object, generic over the application.
pub struct UserDoObject<A: UserApp> {
    state: State,
    env: Env,
    app: A,
    core: OnceCell<UserCore>,
}

impl<A: UserApp> std::fmt::Debug for UserDoObject<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserDoObject").finish_non_exhaustive()
    }
}

impl<A: UserApp> UserDoObject<A> {
    /// Wraps the object's state for `app`.
    pub fn new(state: State, env: Env, app: A) -> Self {
        Self {
            state,
            env,
            app,
            core: OnceCell::new(),
        }
    }

    /// The application.
    pub fn app(&self) -> &A {
        &self.app
    }

    /// The core, opened (and migrated) on first use.
    pub fn core(&self) -> Result<&UserCore> {
        if let Some(core) = self.core.get() {
            return Ok(core);
        }
        let settings = settings_from_env(&self.env)?;
        let store = DoStore::new(self.state.storage());
        let core = UserDo::open(store, WorkerPlatform, settings, self.state.id().to_string())?;
        migrate::migrate(
            core.store(),
            "app",
            self.app.migrations(),
            userdo::Platform::now_ms(&WorkerPlatform),
        )?;
        Ok(self.core.get_or_init(|| core))
    }

    /// Answers a request forwarded by the worker. Errors become API error responses here.
    pub async fn fetch(&self, req: Request) -> worker::Result<Response> {
        match self.handle(req).await {
            Ok(response) => Ok(response),
            Err(error) => error_response(&error),
        }
    }

    async fn handle(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let method = req.method();
        if self.core.get().is_none() && method == Method::Post && path == "/api/login" {
            // Never signed up to: answer like a wrong password without creating any storage.
            let store = DoStore::new(self.state.storage());
            if !account::has_account_schema(&store)? {
                let c: Credentials = api::parse_body(&read_body(&mut req, AUTH_BODY_LIMIT).await?)?;
                let settings = settings_from_env(&self.env)?;
                let (email, password) =
                    (c.email.unwrap_or_default(), c.password.unwrap_or_default());
                return Err(account::login_without_account(&settings, &email, &password));
            }
        }
        let core = self.core()?;
        let client = ClientInfo {
            user_agent: req
                .headers()
                .get("user-agent")
                .ok()
                .flatten()
                .unwrap_or_default(),
        };
        match (&method, path.as_str()) {
            (Method::Post, "/api/signup") => {
                let c: Credentials = api::parse_body(&read_body(&mut req, AUTH_BODY_LIMIT).await?)?;
                let auth = core.signup(
                    &c.email.unwrap_or_default(),
                    &c.password.unwrap_or_default(),
                    &client,
                )?;
                self.app.on_signup(&self.ctx(core), &auth.user)?;
                return respond(201, &auth);
            }
            (Method::Post, "/api/login") => {
                let c: Credentials = api::parse_body(&read_body(&mut req, AUTH_BODY_LIMIT).await?)?;
                let auth = core.login(
                    &c.email.unwrap_or_default(),
                    &c.password.unwrap_or_default(),
                    &client,
                )?;
                return respond(200, &auth);
            }
            (Method::Post, "/api/refresh") => {
                let r: RefreshRequest =
                    api::parse_body(&read_body(&mut req, AUTH_BODY_LIMIT).await?)?;
                let token = r.refresh_token.ok_or(Error::Unauthenticated)?;
                return respond(200, &core.refresh(&token)?);
            }
            _ => {}
        }
        let principal = authenticate(core, &req)?;
        if let Some(app_path) = path
            .strip_prefix(APP_PREFIX)
            .filter(|p| p.is_empty() || p.starts_with('/'))
        {
            let _ = app_path;
            return self.app.fetch(&self.ctx(core), &principal, req).await;
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
                let c: ChangePasswordRequest =
                    api::parse_body(&read_body(&mut req, AUTH_BODY_LIMIT).await?)?;
                core.change_password(
                    &principal,
                    &c.current_password.unwrap_or_default(),
                    &c.new_password.unwrap_or_default(),
                )?;
                respond(200, &ok())
            }
            _ => Err(Error::NotFound("no such endpoint".into())),
        }
    }

    fn ctx<'a>(&'a self, core: &'a UserCore) -> ObjectCtx<'a> {
        ObjectCtx {
            core,
            state: &self.state,
            env: &self.env,
        }
    }
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

fn ok() -> serde_json::Value {
    serde_json::json!({ "ok": true })
}

fn respond<T: serde::Serialize>(status: u16, body: &T) -> Result<Response> {
    json(status, body).map_err(crate::http::internal)
}
