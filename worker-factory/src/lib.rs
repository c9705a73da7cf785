//! The Cloudflare Workers side of userdo-rs: the worker's router for a Durable Object binding
//! ([`UserDoWorker`]), the user object's glue ([`UserDoObject`]) with the application seam
//! ([`UserApp`], [`user_object!`]), and Durable Object SQLite as a [`userdo::Store`] ([`DoStore`]).

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
