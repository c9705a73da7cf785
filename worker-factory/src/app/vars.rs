//! The application's variables: what it reads of the worker's `[vars]` and secrets, from the
//! runtime's `Env` in a Durable Object, or from a list in a host test.

use std::fmt;
use std::rc::Rc;

/// Named string variables (`[vars]`, secrets, `.dev.vars`), as an application reads them in
/// [`UserApp::new`](crate::UserApp::new) and through its context.
#[derive(Clone)]
pub struct Vars(Rc<Lookup>);

/// Reads one variable.
type Lookup = dyn Fn(&str) -> Option<String>;

impl fmt::Debug for Vars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secrets: never printed.
        f.write_str("Vars(..)")
    }
}

impl Vars {
    /// The variables of a worker's environment.
    pub fn from_env(env: &worker::Env) -> Self {
        let env = env.clone();
        Self(Rc::new(move |name| crate::settings::env_value(&env, name)))
    }

    /// Variables from name-value pairs (host tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Self(Rc::new(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }))
    }

    /// No variables.
    pub fn none() -> Self {
        Self(Rc::new(|_| None))
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }
}
