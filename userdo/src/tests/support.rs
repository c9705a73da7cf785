//! What the host tests share: a clock they move by hand, fast settings, and a fresh object.
#![allow(clippy::unwrap_used)]

use std::cell::Cell;

use crate::UserDo;
use crate::platform::Platform;
use crate::settings::Settings;
use crate::store::sqlite::SqliteStore;

/// A clock that stands still until a test moves it.
pub(crate) struct TestClock(pub(crate) Cell<i64>);

impl Platform for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.get()
    }
}

/// An object over in-memory SQLite, as host tests use it.
pub(crate) type TestObject = UserDo<SqliteStore, TestClock>;

/// Settings with a test key and the crate's floor of PBKDF2 rounds, which keeps host tests fast
/// (the 600k default is tested in `settings`).
pub(crate) fn settings() -> Settings {
    let vars = |name: &str| match name {
        "JWT_SECRET" => Some("test-secret-test-secret-test-secret!".to_owned()),
        "PBKDF2_ITERATIONS" => Some("1000".to_owned()),
        _ => None,
    };
    Settings::from_vars(vars).unwrap()
}

/// A fresh, migrated object with id `user_id` whose clock reads 1,800,000,000,000 ms.
pub(crate) fn object(user_id: &str) -> TestObject {
    let clock = TestClock(Cell::new(1_800_000_000_000));
    UserDo::open(
        SqliteStore::in_memory().unwrap(),
        clock,
        settings(),
        user_id.into(),
    )
    .unwrap()
}

/// Moves the object's clock forward.
pub(crate) fn advance(o: &TestObject, ms: i64) {
    o.platform().0.set(o.platform().0.get() + ms);
}
