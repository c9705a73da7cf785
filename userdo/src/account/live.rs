//! The sessions this object has found live, kept in memory so that a request of a known session
//! costs no query. Only this object writes its sessions table (an application's SQL may not name
//! it), so every write to it here forgets them all ([`LiveSessions::forget`]): a session ended by
//! logout, revocation, a password change or reset, reuse of a refresh token, the login cap or an
//! erase is refused by the very next request, as before. A remembered session still ends at its
//! `expires_at`, which is checked on every use.

use std::cell::RefCell;

/// Live sessions: id, `expires_at` and the `last_used_at` last written, in ms.
#[derive(Debug, Default)]
pub(crate) struct LiveSessions(RefCell<Vec<Remembered>>);

#[derive(Debug)]
struct Remembered {
    id: String,
    expires_at: i64,
    last_used_at: i64,
}

impl LiveSessions {
    /// The `last_used_at` of session `id` if it is remembered and has not expired at `now`.
    pub(crate) fn last_used(&self, id: &str, now: i64) -> Option<i64> {
        self.0
            .borrow()
            .iter()
            .find(|s| s.id == id && s.expires_at > now)
            .map(|s| s.last_used_at)
    }

    /// Remembers session `id`, just read live from the table. At most
    /// [`MAX_SESSIONS`](super::MAX_SESSIONS) are kept, as many as an account may have.
    pub(crate) fn remember(&self, id: &str, expires_at: i64, last_used_at: i64) {
        let mut sessions = self.0.borrow_mut();
        sessions.retain(|s| s.id != id);
        if sessions.len() >= super::MAX_SESSIONS as usize {
            sessions.remove(0);
        }
        sessions.push(Remembered {
            id: id.to_owned(),
            expires_at,
            last_used_at,
        });
    }

    /// Notes that session `id`'s `last_used_at` was written as `at`.
    pub(crate) fn used(&self, id: &str, at: i64) {
        if let Some(s) = self.0.borrow_mut().iter_mut().find(|s| s.id == id) {
            s.last_used_at = at;
        }
    }

    /// Forgets every session: called before any write to the sessions table but the
    /// `last_used_at` of [`UserDo::authenticate`](crate::UserDo::authenticate).
    pub(crate) fn forget(&self) {
        self.0.borrow_mut().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_expiry_and_forgets_on_demand() {
        let live = LiveSessions::default();
        assert_eq!(live.last_used("a", 0), None);
        live.remember("a", 100, 5);
        assert_eq!(live.last_used("a", 99), Some(5));
        assert_eq!(live.last_used("a", 100), None, "expired at its expires_at");
        assert_eq!(live.last_used("b", 0), None);
        live.used("a", 50);
        assert_eq!(live.last_used("a", 60), Some(50));
        live.remember("a", 200, 70);
        assert_eq!(
            live.last_used("a", 150),
            Some(70),
            "remembered once, afresh"
        );
        live.forget();
        assert_eq!(live.last_used("a", 60), None);
    }

    #[test]
    fn keeps_at_most_as_many_as_an_account_may_have() {
        let live = LiveSessions::default();
        for i in 0..=super::super::MAX_SESSIONS {
            live.remember(&i.to_string(), 1_000, 0);
        }
        assert_eq!(live.0.borrow().len(), super::super::MAX_SESSIONS as usize);
        assert_eq!(live.last_used("0", 0), None, "the oldest went first");
        assert_eq!(
            live.last_used(&super::super::MAX_SESSIONS.to_string(), 0),
            Some(0)
        );
    }
}
