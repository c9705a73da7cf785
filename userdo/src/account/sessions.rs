//! The account's sessions after login: refresh with rotation and reuse detection, logout,
//! listing and revocation.

use crate::UserDo;
use crate::api::{AuthResponse, LiveSession, SessionInfo};
use crate::error::{Error, Result};
use crate::principal::Principal;
use crate::store::{Statement, Value};
use crate::token::{self, OpaqueKind};

impl<S: crate::store::Store, P: crate::platform::Platform> UserDo<S, P> {
    /// Exchanges a refresh token for a new pair. The presented token is spent; presenting a spent
    /// token again revokes its whole session (reuse detection, RFC 9700 4.14.2).
    pub fn refresh(&self, refresh_token: &str) -> Result<AuthResponse> {
        if token::opaque_user_id(OpaqueKind::Refresh, refresh_token) != Some(self.user_id.as_str())
        {
            return Err(Error::InvalidToken);
        }
        let now = self.platform.now_ms();
        let hash = token::hash_token(refresh_token);
        let rows = self.store.query(
            "SELECT t.session_id, t.spent, t.expires_at, s.id IS NOT NULL
             FROM _userdo_refresh_tokens t LEFT JOIN _userdo_sessions s ON s.id = t.session_id
             WHERE t.token_hash = ?",
            &[(&hash).into()],
        )?;
        let Some(row) = rows.first() else {
            return Err(Error::InvalidToken);
        };
        let session_id = row.text(0)?.to_owned();
        if row.int(1)? != 0 {
            self.delete_sessions(SessionFilter::One(&session_id))?;
            return Err(Error::SessionRevoked);
        }
        if row.int(3)? == 0 {
            return Err(Error::SessionRevoked);
        }
        if row.int(2)? <= now {
            return Err(Error::InvalidToken);
        }
        let user = self.me()?;
        let expires_at = now + self.settings.refresh_ttl_secs * 1000;
        let (store_new, response) = self.issue_pair(user, &session_id, expires_at)?;
        self.live.forget();
        self.store.atomic(vec![
            Statement::new(
                "UPDATE _userdo_refresh_tokens SET spent = 1 WHERE token_hash = ?",
                vec![hash.into()],
            ),
            store_new,
            Statement::new(
                "UPDATE _userdo_sessions SET last_used_at = ?, expires_at = ? WHERE id = ?",
                vec![now.into(), expires_at.into(), session_id.into()],
            ),
        ])?;
        Ok(response)
    }

    /// Ends the caller's session at once.
    pub fn logout(&self, principal: &Principal) -> Result<()> {
        self.delete_sessions(SessionFilter::One(&principal.session_id))
            .map(drop)
    }

    /// Ends the session a refresh token belongs to (logout when the access token has expired):
    /// `invalid_token` for a token that is not this account's or names no live session. A spent
    /// token still names its session, which ends too (as reuse detection would end it).
    pub fn logout_with_refresh(&self, refresh_token: &str) -> Result<()> {
        if token::opaque_user_id(OpaqueKind::Refresh, refresh_token) != Some(self.user_id.as_str())
        {
            return Err(Error::InvalidToken);
        }
        let rows = self.store.query(
            "SELECT session_id FROM _userdo_refresh_tokens WHERE token_hash = ?",
            &[token::hash_token(refresh_token).into()],
        )?;
        let Some(row) = rows.first() else {
            return Err(Error::InvalidToken);
        };
        let session_id = row.text(0)?.to_owned();
        match self.delete_sessions(SessionFilter::One(&session_id))? {
            0 => Err(Error::InvalidToken),
            _ => Ok(()),
        }
    }

    /// The account's live sessions, most recently used first.
    pub fn sessions(&self, principal: &Principal) -> Result<Vec<SessionInfo>> {
        let rows = self.store.query(
            "SELECT id, created_at, last_used_at, user_agent FROM _userdo_sessions
             WHERE expires_at > ? ORDER BY last_used_at DESC, created_at DESC",
            &[self.platform.now_ms().into()],
        )?;
        rows.iter()
            .map(|r| {
                let id = r.text(0)?.to_owned();
                Ok(SessionInfo {
                    current: id == principal.session_id,
                    id,
                    created_at: r.int(1)?,
                    last_used_at: r.int(2)?,
                    user_agent: r.text(3)?.to_owned(),
                })
            })
            .collect()
    }

    /// The caller's session: its id, when it was opened and when it ends unless refreshed. The
    /// same rule as [`UserDo::sessions`]: a session past its `expires_at` is not live
    /// (`session_revoked`), nor is one that was ended.
    pub fn live_session(&self, principal: &Principal) -> Result<LiveSession> {
        let rows = self.store.query(
            "SELECT id, created_at, expires_at FROM _userdo_sessions WHERE id = ? AND expires_at > ?",
            &[(&principal.session_id).into(), self.platform.now_ms().into()],
        )?;
        let row = rows.first().ok_or(Error::SessionRevoked)?;
        Ok(LiveSession {
            id: row.text(0)?.to_owned(),
            created_at: row.int(1)?,
            expires_at: row.int(2)?,
        })
    }

    /// Ends one session of the account. `404 not_found` if there is no such session.
    pub fn revoke_session(&self, _principal: &Principal, session_id: &str) -> Result<()> {
        match self.delete_sessions(SessionFilter::One(session_id))? {
            0 => Err(Error::NotFound("no such session".into())),
            _ => Ok(()),
        }
    }

    /// Ends every session but the caller's; returns how many ended.
    pub fn revoke_other_sessions(&self, principal: &Principal) -> Result<u64> {
        self.delete_sessions(SessionFilter::AllBut(&principal.session_id))
    }

    /// Deletes sessions and their refresh tokens atomically; returns how many sessions ended.
    fn delete_sessions(&self, filter: SessionFilter<'_>) -> Result<u64> {
        self.live.forget();
        let results = self.store.atomic(session_deletes(filter))?;
        Ok(results.first().map_or(0, |rows| rows.len() as u64))
    }
}

#[derive(Clone, Copy)]
pub(super) enum SessionFilter<'a> {
    One(&'a str),
    AllBut(&'a str),
}

/// The statements that end sessions; the first returns one row per ended session.
pub(super) fn session_deletes(filter: SessionFilter<'_>) -> Vec<Statement> {
    let (condition, id) = match filter {
        SessionFilter::One(id) => ("= ?", id),
        SessionFilter::AllBut(id) => ("<> ?", id),
    };
    vec![
        Statement::new(
            format!("DELETE FROM _userdo_sessions WHERE id {condition} RETURNING id"),
            vec![id.into()],
        ),
        Statement::new(
            format!("DELETE FROM _userdo_refresh_tokens WHERE session_id {condition}"),
            vec![Value::from(id)],
        ),
    ]
}
