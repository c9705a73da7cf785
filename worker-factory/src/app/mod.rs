//! The seam through which an application extends the user object (composition, not inheritance):
//! [`UserApp`] with its typed [`Methods`] (written by [`methods!`](crate::methods)), the narrow
//! [`AppCtx`] its code receives, and [`Vars`], what it is built from.

mod ctx;
mod methods;
mod tasks;
mod vars;

pub use ctx::{AppCtx, AppSql, AppTable};
pub use methods::{MethodSchema, Methods, camel_case, to_result};
pub use tasks::TaskOutcome;
pub(crate) use tasks::run_due_task;
pub use vars::Vars;

use userdo::api::User;
use userdo::mail::{DefaultTemplates, MailTemplates};
use userdo::migrate::Migration;
use userdo::{Error, Result};
use worker::{Request, Response};

/// The user object's core as the runtime opens it (also what the testing harness opens).
pub type UserCore = userdo::Core;

/// An application's extension of the user object. Only [`new`](Self::new) and the
/// [`Call`](Self::Call) type are required.
///
/// ```ignore
/// struct Notes;
///
/// impl UserApp for Notes {
///     type Call = userdo::rpc::NoMethods;
///
///     fn new(_vars: &Vars) -> Self {
///         Notes
///     }
///
///     fn migrations(&self) -> &'static [Migration] {
///         &[Migration { version: 1, name: "notes", sql: "CREATE TABLE notes (body TEXT)" }]
///     }
///
///     async fn fetch(&self, ctx: &AppCtx<'_>, _req: Request) -> Result<Response> {
///         let rows = ctx.sql().query("SELECT COUNT(*) FROM notes", &[])?;
///         worker_factory::http::respond(200, &serde_json::json!({ "notes": rows[0].int(0)? }))
///     }
/// }
/// ```
// The futures run inside one Durable Object, which is single-threaded: no `Send` bound is wanted.
#[allow(async_fn_in_trait)]
pub trait UserApp: Sized + 'static {
    /// The application's remote methods (`POST /api/rpc`, WebSocket frames), written with
    /// [`methods!`](crate::methods): each has typed parameters, a typed result and a handler of
    /// this type. [`NoMethods`](userdo::rpc::NoMethods) for none.
    type Call: Methods<Self>;

    /// The application's scheduled work ([`AppCtx::schedule`]): any serde type, often an enum;
    /// [`NoTasks`](userdo::tasks::NoTasks) for none. Each due task is given to
    /// [`run_task`](Self::run_task) in the user's object, from the Durable Object alarm.
    type Task: serde::Serialize + serde::de::DeserializeOwned;

    /// Builds the application in each user's object, from the worker's variables.
    fn new(vars: &Vars) -> Self;

    /// Schema migrations of the application's own SQL tables (reached with [`AppCtx::sql`]),
    /// applied in the namespace `"app"` when the object first opens. Append new ones; never edit
    /// an applied one. Typed [`tables`](Self::tables) need none.
    fn migrations(&self) -> &'static [Migration] {
        &[]
    }

    /// The typed tables of the application ([`Tables`](userdo::table::Tables)): created and
    /// evolved in every user's object, reachable over HTTP where declared with client access.
    /// Called once per object instance, and checked then.
    fn tables(&self) -> userdo::table::Tables {
        userdo::table::Tables::default()
    }

    /// The wording of password-reset and verification mail.
    fn mail_templates(&self) -> &dyn MailTemplates {
        &DefaultTemplates
    }

    /// Runs in the user's object when an account is created, inside the signup's transaction:
    /// what it writes (tables, KV) commits with the account, and if it returns an error (or
    /// panics) no account exists and the client gets that error. `ctx.caller()` is `None` here.
    ///
    /// It is `async`, so it can call the application's own async methods, but it must not wait
    /// for I/O (a `fetch`, a timer): nothing may wait inside a transaction. Every `AppCtx`
    /// operation is synchronous, so a hook made of them finishes at its first poll; a hook still
    /// pending then fails the signup with 500 `internal` and no account (the log says why).
    /// Schedule a task (`ctx.schedule`) for work that waits.
    async fn on_signup(&self, _ctx: &AppCtx<'_>, _user: &User) -> Result<()> {
        Ok(())
    }

    /// Runs one due task (`ctx.caller()` is `None`). An error retries it later with backoff
    /// (see [`userdo::tasks`]); a task may run more than once for one due time, if the object
    /// is cut off mid-run, so it should be safe to repeat.
    async fn run_task(&self, _ctx: &AppCtx<'_>, _task: Self::Task) -> Result<()> {
        Ok(())
    }

    /// Answers the worker's [`object_route`](crate::UserDoWorker::object_route)s (and requests a
    /// worker route sends with [`AuthUser::object_fetch`](crate::AuthUser::object_fetch)), with
    /// the client's method, path (`req.path()`, as the client sent it), query and JSON body.
    /// `ctx.caller()` is a live session of this object's account.
    async fn fetch(&self, _ctx: &AppCtx<'_>, _req: Request) -> Result<Response> {
        Err(Error::NotFound("no such endpoint".into()))
    }
}

/// Writes the `#[durable_object]` struct that holds a [`UserDoObject`](crate::UserDoObject) for an
/// application type (which implements [`UserApp`]; the object builds it with [`UserApp::new`]).
///
/// The hand-written form it stands for:
///
/// ```ignore
/// #[worker::durable_object]
/// pub struct UserObject {
///     inner: worker_factory::UserDoObject<MyApp>,
/// }
///
/// impl worker::DurableObject for UserObject {
///     fn new(state: worker::State, env: worker::Env) -> Self {
///         Self { inner: worker_factory::UserDoObject::new(state, env) }
///     }
///
///     async fn fetch(&self, req: worker::Request) -> worker::Result<worker::Response> {
///         self.inner.fetch(req).await
///     }
///
///     // The same one-line delegation for websocket_message, websocket_close and
///     // websocket_error (the hibernation API calls these).
///     async fn websocket_message(
///         &self,
///         ws: worker::WebSocket,
///         message: worker::WebSocketIncomingMessage,
///     ) -> worker::Result<()> {
///         self.inner.websocket_message(ws, message).await
///     }
/// }
/// ```
///
/// With the macro: `worker_factory::user_object!(UserObject, MyApp);`
#[macro_export]
macro_rules! user_object {
    ($name:ident, $app:ty) => {
        $crate::__durable_object!(
            __userdo_object,
            "The per-user Durable Object.",
            $name,
            $crate::UserDoObject<$app>,
            alarm
        );
    };
}

/// The `#[durable_object]` struct `$name` in module `$module` that holds `$inner` and hands it
/// every event of the runtime (and the alarm, when `alarm` is given): what [`user_object!`] and
/// [`org_object!`](crate::org_object) write.
#[doc(hidden)]
#[macro_export]
macro_rules! __durable_object {
    ($module:ident, $doc:literal, $name:ident, $inner:ty $(, $alarm:ident)?) => {
        // The attribute generates undocumented glue; keep its lints out of the user's crate.
        #[allow(missing_docs, unreachable_pub)]
        mod $module {
            use super::*;

            #[doc = $doc]
            #[::worker::durable_object]
            pub struct $name {
                inner: $inner,
            }

            impl ::worker::DurableObject for $name {
                fn new(state: ::worker::State, env: ::worker::Env) -> Self {
                    Self {
                        inner: <$inner>::new(state, env),
                    }
                }

                async fn fetch(
                    &self,
                    req: ::worker::Request,
                ) -> ::worker::Result<::worker::Response> {
                    self.inner.fetch(req).await
                }

                async fn websocket_message(
                    &self,
                    ws: ::worker::WebSocket,
                    message: ::worker::WebSocketIncomingMessage,
                ) -> ::worker::Result<()> {
                    self.inner.websocket_message(ws, message).await
                }

                async fn websocket_close(
                    &self,
                    ws: ::worker::WebSocket,
                    code: usize,
                    reason: ::std::string::String,
                    was_clean: bool,
                ) -> ::worker::Result<()> {
                    self.inner
                        .websocket_close(ws, code, reason, was_clean)
                        .await
                }

                async fn websocket_error(
                    &self,
                    ws: ::worker::WebSocket,
                    error: ::worker::Error,
                ) -> ::worker::Result<()> {
                    self.inner.websocket_error(ws, error).await
                }

                $(
                    async fn $alarm(&self) -> ::worker::Result<::worker::Response> {
                        self.inner.$alarm().await
                    }
                )?
            }
        }
        pub use $module::$name;
    };
}

/// Runs `future` to its end without waiting: polled once, as the synchronous parts of the
/// object (a transaction) need; a future that is still pending is an error naming `what`.
pub(crate) fn without_waiting<T>(
    what: &str,
    future: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => Err(Error::internal(format!(
            "{what} waited for I/O inside the signup's transaction, where nothing may wait; \
             schedule a task for that work instead"
        ))),
    }
}
