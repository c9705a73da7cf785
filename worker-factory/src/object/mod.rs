//! The user's Durable Object: opens the core on first use and runs the typed calls the worker
//! sends ([`crate::hop`]). Every call a session authenticates checks that session here, so a
//! revoked session stops working at once.

mod account;
pub(crate) mod data;
mod dispatch;
mod failures;
mod orgs;
mod passwords;
pub(crate) mod sockets;
mod tasks;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use userdo::{Platform, Principal, Store, UserDo, migrate};
use worker::{Env, Request, Response, State};

use crate::app::{AppCtx, UserApp, UserCore, Vars};
use crate::hop::{Call, Finish, HOP_HEADER, Hop};
use crate::http::{error_response, read_body, with_auth_cookies, with_cors};
use crate::routes::{AUTH_BODY_LIMIT, BATCH_BODY_LIMIT, Cookies, Sessions};
use crate::settings::{settings_from_env, shared_settings};
use crate::store::{DoStore, WorkerPlatform};

/// The framework's part of a user's Durable Object, generic over the application.
pub struct UserDoObject<A: UserApp> {
    state: State,
    env: Env,
    vars: Vars,
    app: A,
    /// The application's tables, declared once per object instance.
    tables: userdo::table::Tables,
    /// A random name of this instance of the object: a new one after every eviction
    /// (`GET /api/dev/object`, with `DEV_OUTBOX`, shows it to tests of hibernation).
    instance: String,
    /// Opened on first use; dropped when the account is deleted, so the next use starts afresh.
    core: RefCell<Option<Rc<UserCore>>>,
    /// The due time the alarm was last set to by this instance (`None`: not known).
    alarm_at: Cell<Option<i64>>,
    /// Where the open sockets stand in the change feed, as this instance knows it.
    delivery: crate::realtime::Delivery,
    /// Whether this instance has created the failed-login counter's table ([`failures`]); reset
    /// when the account's storage is deleted.
    failures_ready: Cell<bool>,
}

impl<A: UserApp> std::fmt::Debug for UserDoObject<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserDoObject").finish_non_exhaustive()
    }
}

impl<A: UserApp> UserDoObject<A> {
    /// Wraps the object's state, building the application from the worker's variables
    /// ([`UserApp::new`]). Its table declarations are checked here, once: a mistake in them is
    /// one clear log line at start (and a 500 naming it), not a mystery.
    pub fn new(state: State, env: Env) -> Self {
        crate::realtime::set_auto_response(&state);
        let vars = Vars::from_env(&env);
        let app = A::new(&vars);
        let tables = app.tables();
        if let Err(e) = tables.check() {
            // Opening the core refuses these tables too (a 500 whose log line says why).
            worker::console_error!("userdo: the application's tables are declared wrongly: {e}");
        }
        Self {
            tables,
            instance: format!("{:016x}", (js_sys::Math::random() * 2f64.powi(53)) as u64),
            state,
            env,
            vars,
            app,
            core: RefCell::new(None),
            alarm_at: Cell::new(None),
            delivery: crate::realtime::Delivery::default(),
            failures_ready: Cell::new(false),
        }
    }

    /// The application.
    pub fn app(&self) -> &A {
        &self.app
    }

    /// The core, opened (and migrated) on first use.
    fn core(&self) -> userdo::Result<Rc<UserCore>> {
        if let Some(core) = self.core.borrow().as_ref() {
            return Ok(core.clone());
        }
        let settings = settings_from_env(&self.env)?;
        let store: Box<dyn Store> = Box::new(DoStore::new(self.state.storage()));
        let platform: Box<dyn Platform> = Box::new(WorkerPlatform);
        let core = UserDo::open(store, platform, settings, self.state.id().to_string())?
            .with_tables(self.tables.clone())?;
        migrate::migrate(
            core.store(),
            "app",
            self.app.migrations(),
            userdo::Platform::now_ms(&WorkerPlatform),
        )?;
        let core = Rc::new(core);
        self.delivery.reset();
        *self.core.borrow_mut() = Some(core.clone());
        Ok(core)
    }

    /// Runs a call the worker sent. Errors become API error responses here.
    pub async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let mut finish = None;
        let (result, may_end_sessions) = match read_hop(&mut req).await {
            Ok(mut hop) => {
                let cookies = hop
                    .call
                    .endpoint()
                    .map_or(Cookies::Keep, |e| e.route().cookies);
                finish = hop.finish.take().map(|f| (f, cookies));
                let may_end = hop
                    .call
                    .endpoint()
                    .is_some_and(|e| e.route().sessions == Sessions::MayEnd);
                let orgs = hop.orgs.clone();
                // Only application code schedules tasks.
                let may_schedule = matches!(
                    hop.call,
                    Call::Rpc { .. } | Call::App { .. } | Call::Signup { .. }
                );
                // The sessions the user's organizations may have to hear have ended.
                let live_before = if may_end {
                    self.live_sessions_in_orgs()
                } else {
                    None
                };
                // The account's failed-login counter, before the call's first wait.
                let result = match self.count_failure(&hop.call, hop.failures) {
                    Ok(check) => {
                        let result = self.dispatch(hop).await;
                        let status = match &result {
                            Ok(response) => response.status_code(),
                            Err(e) => e.status(),
                        };
                        self.after_failure_check(check, status);
                        result
                    }
                    Err(e) => Err(e),
                };
                // The alarm follows the tasks: read again only when the call changed them.
                let changed = self
                    .core
                    .borrow()
                    .as_ref()
                    .is_some_and(|c| c.take_tasks_changed());
                if may_schedule && changed {
                    self.sync_alarm().await;
                }
                if let Some(live_before) = live_before {
                    self.org_sessions_changed(orgs.as_deref(), &live_before)
                        .await;
                }
                (result, may_end)
            }
            Err(e) => (Err(e), false),
        };
        self.after_request(may_end_sessions);
        let response = match result {
            Ok(response) => response,
            Err(error) => error_response(&error)?,
        };
        // The worker passes this answer on as it is: its auth cookies and CORS headers are
        // added here. An accepted WebSocket has none, as in the worker.
        match finish {
            Some((finish, cookies)) if response.status_code() != 101 => {
                self.finish(response, &finish, cookies)
            }
            _ => Ok(response),
        }
    }

    /// Adds what the worker would have added to `response` ([`crate::hop::Finish`]): the
    /// `cookies` of the call's route, then the CORS headers.
    fn finish(
        &self,
        response: Response,
        finish: &Finish,
        cookies: Cookies,
    ) -> worker::Result<Response> {
        let added = shared_settings(&self.env)
            .and_then(|settings| with_auth_cookies(response, cookies, &settings, finish.secure));
        let response = match added {
            Ok(response) => response,
            Err(error) => error_response(&error)?,
        };
        with_cors(response, finish.origin.as_deref())
    }

    /// Delivers the events of the request to the open sockets, and closes the sockets of
    /// sessions it ended.
    fn after_request(&self, sessions_may_have_ended: bool) {
        let Some(core) = self.core.borrow().clone() else {
            if sessions_may_have_ended {
                // The account was deleted: every session ended with it.
                crate::realtime::close_all(&self.state);
            }
            return;
        };
        let events = core.take_events();
        crate::realtime::deliver(&self.state, &core, &self.delivery, &events);
        if sessions_may_have_ended
            && let Err(e) = crate::realtime::close_ended_sessions(&self.state, &core)
        {
            worker::console_error!("userdo: closing the sockets of ended sessions failed: {e}");
        }
    }

    /// The application's context for a call by `caller`.
    fn ctx<'a>(&'a self, core: &'a UserCore, caller: Option<&'a Principal>) -> AppCtx<'a> {
        AppCtx::new(core, caller, &self.vars)
    }
}

/// The hop of a request: in its header for a WebSocket upgrade, else its body (bounded like the
/// largest request the worker accepts, a batch insert, plus room for the envelope).
async fn read_hop(req: &mut Request) -> userdo::Result<Hop> {
    let from_header = req.headers().get(HOP_HEADER)?;
    let text = match from_header {
        Some(text) => text.into_bytes(),
        None => read_body(req, BATCH_BODY_LIMIT + AUTH_BODY_LIMIT).await?,
    };
    serde_json::from_slice(&text)
        .map_err(|e| userdo::Error::internal_from("a hop that does not parse", e))
}
