//! The host tests of the core, one folder or file per concern, over real SQLite (rusqlite), all
//! sharing [`support`].

mod account;
mod events;
mod fuzz;
mod kv;
mod oauth;
mod org;
mod realtime;
pub(crate) mod support;
mod table;
mod tasks;
