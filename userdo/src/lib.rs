#![doc = include_str!("../README.md")]

pub mod account;
pub mod api;
pub mod email;
pub mod error;
pub mod events;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod kv;
pub mod mail;
pub mod migrate;
pub mod oauth;
pub mod org;
mod parse;
pub mod password;
pub mod platform;
mod principal;
pub mod ratelimit;
pub mod realtime;
pub mod recovery;
pub mod rpc;
mod schema;
pub mod settings;
pub mod store;
pub mod table;
pub mod tasks;
#[cfg(test)]
mod tests;
pub mod token;

pub use error::{Error, Result};
pub use events::{Event, Since};
pub use platform::Platform;
pub use principal::{ClientInfo, Principal};
pub use settings::Settings;
pub use store::Store;

/// The core as the runtime and the application testing harness both open it: any store, any
/// platform. Application code sees it through a narrow context, never whole.
pub type Core = UserDo<Box<dyn Store>, Box<dyn Platform>>;

/// One user's object: the account, its sessions and (in later modules) its data, over a
/// [`Store`] and a [`Platform`]. The runtime layer builds one per Durable Object; host tests build
/// one over rusqlite.
#[derive(Debug)]
pub struct UserDo<S, P> {
    store: S,
    platform: P,
    settings: Settings,
    user_id: String,
    emitted: events::Emitted,
    tables: table::Tables,
    /// A task was scheduled or cancelled since [`take_tasks_changed`](Self::take_tasks_changed).
    tasks_changed: std::cell::Cell<bool>,
    /// The list endpoint's counts, while the database is unchanged.
    counts: table::CountCache,
    /// The sessions found live, until the sessions table is next written.
    live: account::LiveSessions,
}

impl<S: Store, P: Platform> UserDo<S, P> {
    /// Opens the object whose id is `user_id`, applying any pending schema migrations.
    pub fn open(store: S, platform: P, settings: Settings, user_id: String) -> Result<Self> {
        let now = platform.now_ms();
        migrate::migrate(
            &store,
            schema::ACCOUNT_NAMESPACE,
            schema::ACCOUNT_MIGRATIONS,
            now,
        )?;
        migrate::migrate(&store, schema::DATA_NAMESPACE, schema::DATA_MIGRATIONS, now)?;
        migrate::migrate(
            &store,
            schema::TASKS_NAMESPACE,
            schema::TASKS_MIGRATIONS,
            now,
        )?;
        Ok(Self {
            store,
            platform,
            settings,
            user_id,
            emitted: events::Emitted::default(),
            tables: table::Tables::default(),
            tasks_changed: std::cell::Cell::new(false),
            counts: table::CountCache::default(),
            live: account::LiveSessions::default(),
        })
    }

    /// The storage, for the application's own tables and queries.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The clock and randomness.
    pub fn platform(&self) -> &P {
        &self.platform
    }

    /// The settings this object was opened with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// This user's id.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
}
