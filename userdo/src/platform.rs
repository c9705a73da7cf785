//! The clock and randomness seam. The runtime supplies the clock from JavaScript's `Date`; tests
//! supply one they control.

use crate::error::{Error, Result};

/// Time and randomness, as the core needs them.
pub trait Platform {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Fills `buf` from the operating system's (or the runtime's) secure random source.
    fn fill_random(&self, buf: &mut [u8]) -> Result<()> {
        getrandom::fill(buf).map_err(|e| Error::internal_from("random source", e))
    }

    /// Seconds since the Unix epoch.
    fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// The host's wall clock and OS randomness (not for wasm32, where `SystemTime` is unavailable).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemPlatform;

#[cfg(not(target_arch = "wasm32"))]
impl Platform for SystemPlatform {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// A boxed platform is a platform (see [`Core`](crate::Core)).
impl<P: Platform + ?Sized> Platform for Box<P> {
    fn now_ms(&self) -> i64 {
        (**self).now_ms()
    }

    fn fill_random(&self, buf: &mut [u8]) -> Result<()> {
        (**self).fill_random(buf)
    }
}

/// A clock that stands still until it is moved, for host tests of applications (scheduled work,
/// expiry). Clones share one time. Randomness is the OS's.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(std::rc::Rc<std::cell::Cell<i64>>);

impl ManualClock {
    /// A clock that reads `now_ms`.
    pub fn at(now_ms: i64) -> Self {
        Self(std::rc::Rc::new(std::cell::Cell::new(now_ms)))
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: i64) {
        self.0.set(self.0.get() + ms);
    }

    /// Sets the clock to `now_ms`.
    pub fn set(&self, now_ms: i64) {
        self.0.set(now_ms);
    }
}

impl Platform for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.get()
    }
}
