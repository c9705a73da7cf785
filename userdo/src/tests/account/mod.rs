//! The account: signup, login and sessions; signup with a hook; recovery and deletion.

mod auth;
mod derivations;
mod recovery;
mod signup_hook;
