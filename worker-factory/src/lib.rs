//! The Cloudflare Workers side of userdo-rs: the worker's router for a Durable Object binding
//! ([`UserDoWorker`]), the user object's glue ([`UserDoObject`]) with the application seam
//! ([`UserApp`], [`user_object!`]), and Durable Object SQLite as a [`userdo::Store`] ([`DoStore`]).
//!
//! Read it in this order: [`routes`] (the HTTP contract, written once), the worker's pipeline
//! (`router/`), the typed hop to the object (`hop.rs`), the object (`object/`, one exhaustive
//! `match` in `dispatch.rs`), then [`app`] (the seam). An application usually needs only
//! [`prelude`].

pub mod app;
#[cfg(test)]
mod fuzz;
mod hop;
pub mod http;
mod limiter;
pub mod mail;
mod object;
mod org_object;
pub mod realtime;
mod request_url;
pub mod responses;
mod router;
pub mod routes;
mod settings;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use app::{AppCtx, Methods, TaskOutcome, UserApp, UserCore, Vars};
pub use limiter::LimiterObject;
pub use object::UserDoObject;
pub use org_object::{NoOrgTables, OrgApp, OrgDoObject};
pub use router::{AuthUser, PathParams, UserDoWorker};
pub use settings::{env_value, settings_from_env};
pub use store::{DoStore, WorkerPlatform};

/// What an application needs, in one import: `use worker_factory::prelude::*;`.
pub mod prelude {
    pub use crate::app::{AppCtx, UserApp, Vars};
    pub use crate::http::respond;
    pub use crate::org_object::OrgApp;
    pub use crate::router::{AuthUser, PathParams, UserDoWorker};
    pub use crate::{limiter_object, methods, org_object, user_object};
    pub use userdo::org::Role;
    pub use userdo::rpc::NoMethods;
    pub use userdo::table::{Access, Direction, Index, Op, Stored, TableRow, Tables};
    pub use userdo::tasks::{NoTasks, When};
    pub use userdo::{Error, Principal, Result};
}

/// What [`methods!`] expands to refers to, so the application's crate needs no more than
/// `serde` and `schemars` for the derives.
#[doc(hidden)]
pub mod __private {
    pub use serde_json;
    pub use userdo;
}
