//! Settings read from the worker's environment, cached per isolate.

use std::cell::RefCell;
use std::rc::Rc;
use std::thread::LocalKey;

use userdo::{Result, Settings};
use worker::Env;

thread_local! {
    static CACHED: RefCell<Option<Rc<Settings>>> = const { RefCell::new(None) };
}

/// A variable or secret by name (secrets first, so `.dev.vars` and `wrangler secret` both work).
pub fn env_value(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
}

/// The deployment's settings. Variables do not change within an isolate, so a successful read is
/// kept; a failed one (for example a missing `JWT_SECRET`) is retried at the next request.
pub fn settings_from_env(env: &Env) -> Result<Settings> {
    shared_settings(env).map(|settings| (*settings).clone())
}

/// [`settings_from_env`] without the copy: the router reads them on every request.
pub(crate) fn shared_settings(env: &Env) -> Result<Rc<Settings>> {
    once_per_isolate(&CACHED, || {
        Settings::from_vars(|name| env_value(env, name)).map(Rc::new)
    })
}

/// The value kept in `cell`, or `read`'s, kept there when it succeeds: for what is read from
/// the environment, whose variables do not change within an isolate.
pub(crate) fn once_per_isolate<T: Clone + 'static>(
    cell: &'static LocalKey<RefCell<Option<T>>>,
    read: impl FnOnce() -> Result<T>,
) -> Result<T> {
    if let Some(value) = cell.with(|c| c.borrow().clone()) {
        return Ok(value);
    }
    let value = read()?;
    cell.with(|c| *c.borrow_mut() = Some(value.clone()));
    Ok(value)
}
