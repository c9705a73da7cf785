//! Host tests of an application: its methods, hooks and table code run in one user's object on
//! the host, over real SQLite (in memory) with a clock the test moves, with no workerd.
//! Enable the `testing` feature in `[dev-dependencies]`.
//!
//! ```ignore
//! let user = TestUser::<MyApp>::signed_up(Vars::none())?;
//! let note = user.app().rename_note(&user.ctx(), RenameNote { .. }).await?;  // typed
//! let answer = user.call("renameNote", json!({ .. })).await?;               // as over the wire
//! user.clock().advance(60_000);
//! ```

use userdo::platform::ManualClock;
use userdo::store::sqlite::SqliteStore;
use userdo::{
    ClientInfo, Error, Event, Platform, Principal, Result, Settings, Store, UserDo, migrate, rpc,
};

use crate::app::{AppCtx, Methods, TaskOutcome, UserApp, UserCore, Vars, run_due_task};

/// Where a [`TestUser`]'s clock starts: 2027-01-15, in milliseconds since the Unix epoch.
pub const START_MS: i64 = 1_800_000_000_000;

/// One signed-up user's object running application `A` on the host.
pub struct TestUser<A: UserApp> {
    app: A,
    core: UserCore,
    vars: Vars,
    clock: ManualClock,
    caller: Principal,
}

impl<A: UserApp> std::fmt::Debug for TestUser<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestUser")
            .field("caller", &self.caller)
            .finish_non_exhaustive()
    }
}

impl<A: UserApp> TestUser<A> {
    /// Builds the application from `vars` (as the object does), opens a fresh object with its
    /// tables and migrations, and signs up `test@example.com` (running `on_signup`), whose
    /// session is then the caller of every call.
    pub fn signed_up(vars: Vars) -> Result<Self> {
        let app = A::new(&vars);
        let clock = ManualClock::at(START_MS);
        let settings = test_settings(&vars)?;
        let store: Box<dyn Store> = Box::new(SqliteStore::in_memory()?);
        let platform: Box<dyn Platform> = Box::new(clock.clone());
        let user_id = "0".repeat(64);
        let core = UserDo::open(store, platform, settings, user_id)?.with_tables(app.tables())?;
        migrate::migrate(core.store(), "app", app.migrations(), clock.now_ms())?;
        let auth = {
            let ctx = AppCtx::new(&core, None, &vars);
            let client = ClientInfo::default();
            core.signup_with(
                "test@example.com",
                "correct horse battery",
                &client,
                &mut |user| {
                    crate::app::without_waiting("UserApp::on_signup", app.on_signup(&ctx, user))
                },
            )?
        };
        let claims = core
            .settings()
            .keys
            .verify_access(&auth.token, clock.now_secs())?;
        let caller = core.authenticate(&claims)?;
        Ok(Self {
            app,
            core,
            vars,
            clock,
            caller,
        })
    }

    /// The application.
    pub fn app(&self) -> &A {
        &self.app
    }

    /// The context the signed-in user's calls get.
    pub fn ctx(&self) -> AppCtx<'_> {
        AppCtx::new(&self.core, Some(&self.caller), &self.vars)
    }

    /// The clock of the object: move it to test expiry and scheduled work.
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// Calls a method as `POST /api/rpc` would, from its wire name and JSON parameters: the
    /// same parsing (404 for an unknown method, 400 with every bad field) and the JSON result.
    pub async fn call(&self, method: &str, params: serde_json::Value) -> Result<serde_json::Value> {
        let call = rpc::parse_call::<A::Call>(method, params)?;
        call.run(&self.app, &self.ctx()).await
    }

    /// Runs every task that is due by the clock, as the alarm would, and says what became of
    /// each (move the clock first: `user.clock().advance(ms)`).
    pub async fn run_due_tasks(&self) -> Result<Vec<TaskOutcome>> {
        let mut outcomes = Vec::new();
        for task in self.core.due_tasks(i64::MAX)? {
            let ctx = AppCtx::new(&self.core, None, &self.vars);
            outcomes.push(run_due_task(&self.app, &ctx, &self.core, task).await?);
        }
        Ok(outcomes)
    }

    /// The events appended since the last take (what the user's sockets would receive).
    pub fn take_events(&self) -> Vec<Event> {
        self.core.take_events()
    }

    /// The whole core, for assertions a test cannot make through the context.
    pub fn dangerous_core(&self) -> &UserCore {
        &self.core
    }
}

/// The worker's settings from `vars`, with a test key and few PBKDF2 rounds unless set.
fn test_settings(vars: &Vars) -> Result<Settings> {
    Settings::from_vars(|name| {
        vars.get(name).or_else(|| match name {
            "JWT_SECRET" => Some("a test key that is at least 32 bytes long".to_owned()),
            "PBKDF2_ITERATIONS" => Some("1000".to_owned()),
            _ => None,
        })
    })
    .map_err(|e| match e {
        Error::Config(message) => Error::Config(format!("test settings: {message}")),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    //! The seam itself, through a small application that uses each part of its context.
    #![allow(clippy::unwrap_used)]

    use futures::executor::block_on;
    use serde::{Deserialize, Serialize};
    use serde_json::json;
    use userdo::migrate::Migration;

    use super::TestUser;
    use crate::app::{AppCtx, UserApp, Vars};

    struct Notes {
        greeting: String,
    }

    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    struct AddNote {
        body: String,
    }

    #[derive(Debug, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
    struct Count {
        notes: i64,
    }

    crate::methods! {
        enum Call for Notes {
            /// Adds a note; answers how many there are, and tells the sockets.
            AddNote(AddNote) -> Count => add_note,
        }
    }

    impl Notes {
        async fn add_note(&self, ctx: &AppCtx<'_>, p: AddNote) -> userdo::Result<Count> {
            let sql = ctx.sql();
            sql.execute("INSERT INTO notes (body) VALUES (?)", &[p.body.into()])?;
            let notes = sql.query("SELECT COUNT(*) FROM notes", &[])?[0].int(0)?;
            ctx.publish("noted", &Count { notes })?;
            Ok(Count { notes })
        }
    }

    impl UserApp for Notes {
        type Call = Call;
        type Task = userdo::tasks::NoTasks;

        fn new(vars: &Vars) -> Self {
            Notes {
                greeting: vars.get("GREETING").unwrap_or_default(),
            }
        }

        fn migrations(&self) -> &'static [Migration] {
            &[Migration {
                version: 1,
                name: "notes",
                sql: "CREATE TABLE notes (body TEXT NOT NULL)",
            }]
        }

        async fn on_signup(
            &self,
            ctx: &AppCtx<'_>,
            _user: &userdo::api::User,
        ) -> userdo::Result<()> {
            assert!(ctx.caller().is_none());
            ctx.kv_put("greeting", &json!(self.greeting))
        }
    }

    fn user() -> TestUser<Notes> {
        TestUser::signed_up(Vars::from_pairs([("GREETING", "hello")])).unwrap()
    }

    #[test]
    fn the_app_is_built_from_its_vars_and_its_signup_hook_ran() {
        let user = user();
        assert_eq!(user.app().greeting, "hello");
        assert_eq!(user.ctx().kv_get("greeting").unwrap(), Some(json!("hello")));
        assert!(user.ctx().caller().is_some());
    }

    #[test]
    fn a_method_runs_typed_and_its_own_event_joins_the_feed() {
        let user = user();
        user.take_events();
        let answer = block_on(user.call("addNote", json!({ "body": "hi" }))).unwrap();
        assert_eq!(answer, json!({ "notes": 1 }));
        let events = user.take_events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, "app:noted");
        assert_eq!(events[0].data, json!({ "notes": 1 }));
        let typed = block_on(user.app().add_note(
            &user.ctx(),
            AddNote {
                body: "again".into(),
            },
        ));
        assert_eq!(typed.unwrap(), Count { notes: 2 });
    }

    #[test]
    fn application_sql_cannot_reach_the_framework_tables() {
        let user = user();
        let e = user
            .ctx()
            .sql()
            .query("SELECT password_hash FROM _userdo_account", &[])
            .unwrap_err();
        assert_eq!(e.status(), 403);
        assert!(user.ctx().publish("bad name!", &json!({})).is_err());
    }

    #[test]
    fn the_clock_is_the_tests() {
        let user = user();
        let before = user.ctx().now_ms();
        user.clock().advance(60_000);
        assert_eq!(user.ctx().now_ms(), before + 60_000);
    }

    /// A signup hook that is `async`: it may await the application's own async code, which
    /// finishes at once; one that waits for I/O fails the signup.
    #[derive(Debug)]
    struct Hooked {
        wait: bool,
    }

    impl Hooked {
        async fn welcome(&self, ctx: &AppCtx<'_>) -> userdo::Result<()> {
            ctx.kv_put("welcome", &json!(true))
        }
    }

    impl UserApp for Hooked {
        type Call = userdo::rpc::NoMethods;
        type Task = userdo::tasks::NoTasks;

        fn new(vars: &Vars) -> Self {
            Hooked {
                wait: vars.get("WAIT").is_some(),
            }
        }

        async fn on_signup(
            &self,
            ctx: &AppCtx<'_>,
            _user: &userdo::api::User,
        ) -> userdo::Result<()> {
            self.welcome(ctx).await?;
            if self.wait {
                std::future::pending::<()>().await;
            }
            Ok(())
        }
    }

    #[test]
    fn an_async_signup_hook_runs_in_the_signup() {
        let user = TestUser::<Hooked>::signed_up(Vars::none()).unwrap();
        assert_eq!(user.ctx().kv_get("welcome").unwrap(), Some(json!(true)));
    }

    #[test]
    fn a_signup_hook_that_waits_for_io_fails_the_signup() {
        let e = TestUser::<Hooked>::signed_up(Vars::from_pairs([("WAIT", "1")])).unwrap_err();
        assert_eq!(e.status(), 500);
        assert!(e.to_string().contains("UserApp::on_signup waited"), "{e}");
    }
}
