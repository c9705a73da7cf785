//! The seam through which an application extends the user object (composition, not inheritance).

use userdo::api::User;
use userdo::mail::{DefaultTemplates, MailTemplates};
use userdo::migrate::Migration;
use userdo::{Error, Principal, Result, UserDo};
use worker::{Env, Request, Response, State};

use crate::store::{DoStore, WorkerPlatform};

/// The user object's core as the runtime opens it.
pub type UserCore = UserDo<DoStore, WorkerPlatform>;

/// What an application hook can reach inside the user's object.
#[derive(Debug)]
pub struct ObjectCtx<'a> {
    /// The account, sessions and storage of this user.
    pub core: &'a UserCore,
    /// The Durable Object's state (storage, WebSockets, alarms).
    pub state: &'a State,
    /// The worker's bindings and variables.
    pub env: &'a Env,
}

/// An application's extension of the user object. Every method has a default, so
/// `impl UserApp for MyApp { type Call = NoMethods; }` is a complete (if plain) application.
///
/// ```ignore
/// #[derive(Default)]
/// struct Notes;
///
/// impl UserApp for Notes {
///     type Call = userdo::rpc::NoMethods;
///
///     fn migrations(&self) -> &'static [Migration] {
///         &[Migration { version: 1, name: "notes", sql: "CREATE TABLE notes (body TEXT)" }]
///     }
///     async fn fetch(&self, ctx: &ObjectCtx<'_>, _who: &Principal, _req: Request) -> Result<Response> {
///         let rows = ctx.core.store().query("SELECT COUNT(*) FROM notes", &[])?;
///         worker_factory::http::respond(200, &serde_json::json!({ "notes": rows[0].int(0)? }))
///     }
/// }
/// ```
// The futures run inside one Durable Object, which is single-threaded: no `Send` bound is wanted.
#[allow(async_fn_in_trait)]
pub trait UserApp: 'static {
    /// The application's remote methods, as one serde enum tagged by method name
    /// (`#[serde(tag = "method", content = "params")]`); [`NoMethods`](userdo::rpc::NoMethods)
    /// for none. They are called by `POST /api/rpc` and by WebSocket frames, and answered by
    /// [`call`](Self::call), which matches the enum exhaustively.
    type Call: serde::de::DeserializeOwned;

    /// Runs one remote call for `principal` (a live session of this object's account). The
    /// result is sent as `{result}`; an error as the API's error.
    async fn call(
        &self,
        _ctx: &ObjectCtx<'_>,
        _principal: &Principal,
        _call: Self::Call,
    ) -> Result<serde_json::Value> {
        Err(Error::NotFound("no such method".into()))
    }

    /// Schema migrations of the application's own tables, applied in the namespace `"app"` when
    /// the object first opens. Append new ones; never edit an applied one.
    fn migrations(&self) -> &'static [Migration] {
        &[]
    }

    /// The typed tables of the application ([`Tables`](userdo::table::Tables)): created and
    /// evolved in every user's object, reachable over HTTP where declared with client access.
    /// Called once per object instance.
    fn tables(&self) -> userdo::table::Tables {
        userdo::table::Tables::default()
    }

    /// The wording of password-reset and verification mail.
    fn mail_templates(&self) -> &dyn MailTemplates {
        &DefaultTemplates
    }

    /// Runs in the user's object when an account is created, inside the signup's transaction:
    /// what it writes (tables, KV) commits with the account, and if it returns an error (or
    /// panics) no account exists and the client gets that error.
    fn on_signup(&self, _ctx: &ObjectCtx<'_>, _user: &User) -> Result<()> {
        Ok(())
    }

    /// Answers the worker's [`object_route`](crate::UserDoWorker::object_route)s (and requests a
    /// worker route sends with [`AuthUser::object_fetch`](crate::AuthUser::object_fetch)), with
    /// the client's method, path (`req.path()`, as the client sent it), query and JSON body.
    /// `principal` is a live session of this object's account.
    async fn fetch(
        &self,
        _ctx: &ObjectCtx<'_>,
        _principal: &Principal,
        _req: Request,
    ) -> Result<Response> {
        Err(Error::NotFound("no such endpoint".into()))
    }
}

/// Writes the `#[durable_object]` struct that holds a [`UserDoObject`](crate::UserDoObject) for an
/// application type (which must implement [`UserApp`] and `Default`).
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
///         Self { inner: worker_factory::UserDoObject::new(state, env, MyApp::default()) }
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
        // The attribute generates undocumented glue; keep its lints out of the user's crate.
        #[allow(missing_docs, unreachable_pub)]
        mod __userdo_object {
            use super::*;

            /// The per-user Durable Object.
            #[::worker::durable_object]
            pub struct $name {
                inner: $crate::UserDoObject<$app>,
            }

            impl ::worker::DurableObject for $name {
                fn new(state: ::worker::State, env: ::worker::Env) -> Self {
                    let app = <$app as ::core::default::Default>::default();
                    Self {
                        inner: $crate::UserDoObject::new(state, env, app),
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
            }
        }
        pub use __userdo_object::$name;
    };
}
