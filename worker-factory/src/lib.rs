//! The Cloudflare Workers side of userdo-rs: the worker's router for a Durable Object binding
//! ([`UserDoWorker`]), the user object's glue ([`UserDoObject`]) with the application seam
//! ([`UserApp`], [`user_object!`]), and Durable Object SQLite as a [`userdo::Store`] ([`DoStore`]).
//!
//! Read it in this order: [`routes`] (the HTTP contract, written once), the worker's pipeline
//! (`router/`), the typed hop to the object (`hop.rs`), the object (`object/`, one exhaustive
//! `match` in `dispatch.rs`), then [`app`] (the seam). An application usually needs only
//! [`prelude`].

pub mod app;
mod hop;
pub mod http;
mod limiter;
pub mod mail;
mod object;
pub mod realtime;
pub mod responses;
mod router;
pub mod routes;
mod settings;
pub mod store;

pub use app::{ObjectCtx, UserApp, UserCore};
pub use limiter::LimiterObject;
pub use object::UserDoObject;
pub use router::{AuthUser, UserDoWorker};
pub use settings::{env_value, settings_from_env};
pub use store::{DoStore, WorkerPlatform};

/// What an application needs, in one import: `use worker_factory::prelude::*;`.
pub mod prelude {
    pub use crate::app::{ObjectCtx, UserApp};
    pub use crate::http::respond;
    pub use crate::router::{AuthUser, UserDoWorker};
    pub use crate::{limiter_object, user_object};
    pub use userdo::rpc::NoMethods;
    pub use userdo::table::{Access, Direction, Index, Op, TableRow, Tables};
    pub use userdo::{Error, Principal, Result};
}
