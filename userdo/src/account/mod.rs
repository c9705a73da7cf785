//! The account and its sessions, as held by one user's object: signup, login, refresh with
//! rotation and reuse detection, logout, session listing and revocation, password change.
//!
//! Every operation here is synchronous: in a Durable Object no other request runs between its
//! statements, and each multi-statement change goes through [`Store::atomic`](crate::Store::atomic).

use crate::UserDo;
use crate::api::{AuthResponse, User};
use crate::email;
use crate::error::{Error, Result};
use crate::password::Verified;
use crate::principal::{ClientInfo, Principal};
use crate::store::{Row, Statement};
use crate::token::{self, AccessClaims, OpaqueKind};

mod live;
pub(crate) use live::LiveSessions;
mod sessions;
use sessions::{SessionFilter, session_deletes};
mod signup;

/// The most live sessions one account keeps; a login beyond that ends the least recently used.
pub const MAX_SESSIONS: i64 = 100;
/// `last_used_at` is written at most this often per session, so reads stay reads.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;
const MAX_USER_AGENT_CHARS: usize = 512;

/// Whether `store` holds an account table at all: an object that was never signed up to has none,
/// and a login there must not create one (or any storage).
pub fn has_account_schema(store: &dyn crate::store::Store) -> Result<bool> {
    let rows = store.query(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_userdo_account'",
        &[],
    )?;
    Ok(!rows.is_empty())
}

/// The answer to a login where no account was ever created: the same validation, hashing work and
/// error as a wrong password, and no write.
pub fn login_without_account(settings: &crate::Settings, raw_email: &str, password: &str) -> Error {
    if let Err(invalid) = email::normalize(raw_email)
        .and_then(|_| crate::password::check_length("password", password))
    {
        return invalid;
    }
    settings.hasher.verify_dummy(password);
    Error::InvalidCredentials
}

/// The derivation [`login_without_account`] runs (none for input refused before hashing).
pub fn login_without_account_derivations(
    settings: &crate::Settings,
    raw_email: &str,
    password: &str,
) -> Vec<crate::password::Derivation> {
    match check_credentials(raw_email, password) {
        Ok(_) => vec![settings.hasher.dummy_derivation(password)],
        Err(_) => Vec::new(),
    }
}

/// The normalised email, once the email and the password's length are known to be acceptable.
fn check_credentials(raw_email: &str, password: &str) -> Result<String> {
    let email = email::normalize(raw_email)?;
    crate::password::check_length("password", password)?;
    Ok(email)
}

pub(crate) struct Account {
    pub(crate) user: User,
    pub(crate) password_hash: String,
}

impl<S: crate::store::Store, P: crate::platform::Platform> UserDo<S, P> {
    pub(crate) fn account(&self) -> Result<Option<Account>> {
        let rows = self.store.query(
            "SELECT user_id, email, password_hash, email_verified, created_at FROM _userdo_account",
            &[],
        )?;
        rows.first().map(account_from_row).transpose()
    }

    /// The derivation checking `password` will run: against this account's hash, or the dummy's
    /// when there is no account, no account with `raw_email`, or no password. With
    /// `rehash_too`, also the new hash a successful check at outdated parameters writes. Empty
    /// for input refused before any hashing. (A faster engine computes these first; see
    /// [`crate::password::prepared`].)
    pub fn check_derivations(
        &self,
        raw_email: Option<&str>,
        password: &str,
        rehash_too: bool,
    ) -> Result<Vec<crate::password::Derivation>> {
        let hasher = &self.settings.hasher;
        if password.chars().count() > crate::password::MAX_PASSWORD_CHARS {
            return Ok(Vec::new());
        }
        let account = self.account()?;
        let account = match raw_email {
            Some(raw) => {
                let Ok(email) = check_credentials(raw, password) else {
                    return Ok(Vec::new());
                };
                account.filter(|a| a.user.email == email)
            }
            None => account,
        };
        let Some(account) = account else {
            return Ok(vec![hasher.dummy_derivation(password)]);
        };
        let Some(check) = hasher.verify_derivation(password, &account.password_hash) else {
            return Ok(Vec::new());
        };
        let mut work = vec![check];
        if rehash_too
            && !account.password_hash.is_empty()
            && !hasher.is_current(&account.password_hash)
        {
            work.extend(hasher.fresh_derivation(&self.platform, password)?);
        }
        Ok(work)
    }

    /// The account's public view.
    pub fn me(&self) -> Result<User> {
        self.account()?.map(|a| a.user).ok_or(Error::SessionRevoked)
    }

    /// Checks the password and opens a session. A wrong password and an unknown account give the
    /// same error after the same hashing work.
    pub fn login(
        &self,
        raw_email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<AuthResponse> {
        let email = check_credentials(raw_email, password)?;
        let hasher = &self.settings.hasher;
        let Some(account) = self.account()?.filter(|a| a.user.email == email) else {
            hasher.verify_dummy(password);
            return Err(Error::InvalidCredentials);
        };
        let mut statements = Vec::new();
        match hasher.verify(password, &account.password_hash)? {
            Verified::Mismatch => return Err(Error::InvalidCredentials),
            Verified::Match => {}
            Verified::MatchNeedsRehash => statements.push(Statement::new(
                "UPDATE _userdo_account SET password_hash = ?",
                vec![hasher.hash(&self.platform, password)?.into()],
            )),
        }
        let now = self.platform.now_ms();
        // Sessions past their lifetime, and the least recently used beyond the cap, end here.
        statements.push(Statement::new(
            "DELETE FROM _userdo_sessions WHERE expires_at <= ? OR id IN
               (SELECT id FROM _userdo_sessions ORDER BY last_used_at DESC LIMIT -1 OFFSET ?)",
            vec![now.into(), (MAX_SESSIONS - 1).into()],
        ));
        statements.push(Statement::new(
            "DELETE FROM _userdo_refresh_tokens WHERE session_id NOT IN (SELECT id FROM _userdo_sessions)",
            vec![],
        ));
        let (session_statements, response) = self.open_session(account.user, client)?;
        statements.extend(session_statements);
        self.live.forget();
        self.store.atomic(statements)?;
        Ok(response)
    }

    pub(crate) fn open_session(
        &self,
        user: User,
        client: &ClientInfo,
    ) -> Result<(Vec<Statement>, AuthResponse)> {
        let now = self.platform.now_ms();
        let session_id = token::random_id(&self.platform)?;
        let expires_at = now + self.settings.refresh_ttl_secs * 1000;
        let user_agent: String = client
            .user_agent
            .chars()
            .take(MAX_USER_AGENT_CHARS)
            .collect();
        let session = Statement::new(
            "INSERT INTO _userdo_sessions (id, created_at, last_used_at, user_agent, expires_at) VALUES (?, ?, ?, ?, ?)",
            vec![
                (&session_id).into(),
                now.into(),
                now.into(),
                user_agent.into(),
                expires_at.into(),
            ],
        );
        let (refresh_statement, response) = self.issue_pair(user, &session_id, expires_at)?;
        Ok((vec![session, refresh_statement], response))
    }

    fn issue_pair(
        &self,
        user: User,
        session_id: &str,
        expires_at: i64,
    ) -> Result<(Statement, AuthResponse)> {
        let refresh_token = token::new_opaque(&self.platform, OpaqueKind::Refresh, &self.user_id)?;
        let store_refresh = Statement::new(
            "INSERT INTO _userdo_refresh_tokens (token_hash, session_id, spent, expires_at) VALUES (?, ?, 0, ?)",
            vec![
                token::hash_token(&refresh_token).into(),
                session_id.into(),
                expires_at.into(),
            ],
        );
        let settings = &self.settings;
        let token = settings.keys.issue_access(
            &self.user_id,
            session_id,
            self.platform.now_secs(),
            settings.access_ttl_secs,
        )?;
        let refresh_ttl_secs = ((expires_at - self.platform.now_ms()) / 1000).max(0);
        let response = AuthResponse {
            user,
            token,
            refresh_token,
            access_ttl_secs: settings.access_ttl_secs,
            refresh_ttl_secs,
        };
        Ok((store_refresh, response))
    }

    /// Checks that verified access-token claims belong to this account and a live session: from
    /// memory for a session found live before and not ended since (`LiveSessions`), else from
    /// the sessions table.
    pub fn authenticate(&self, claims: &AccessClaims) -> Result<Principal> {
        if claims.sub != self.user_id {
            return Err(Error::InvalidToken);
        }
        let now = self.platform.now_ms();
        let last_used_at = match self.live.last_used(&claims.sid, now) {
            Some(last_used_at) => last_used_at,
            None => {
                let rows = self.store.query(
                    "SELECT last_used_at, expires_at FROM _userdo_sessions WHERE id = ? AND expires_at > ?",
                    &[(&claims.sid).into(), now.into()],
                )?;
                let Some(row) = rows.first() else {
                    return Err(Error::SessionRevoked);
                };
                let last_used_at = row.int(0)?;
                self.live.remember(&claims.sid, row.int(1)?, last_used_at);
                last_used_at
            }
        };
        if now - last_used_at >= LAST_USED_RESOLUTION_MS {
            self.store.execute(
                "UPDATE _userdo_sessions SET last_used_at = ? WHERE id = ?",
                &[now.into(), (&claims.sid).into()],
            )?;
            self.live.used(&claims.sid, now);
        }
        Ok(Principal {
            user_id: self.user_id.clone(),
            session_id: claims.sid.clone(),
        })
    }

    /// Changes the password after checking the current one, and ends every other session and
    /// every pending reset token.
    pub fn change_password(&self, principal: &Principal, current: &str, new: &str) -> Result<()> {
        crate::password::check_length("newPassword", new)?;
        let account = self.account()?.ok_or(Error::SessionRevoked)?;
        if current.chars().count() > crate::password::MAX_PASSWORD_CHARS
            || self
                .settings
                .hasher
                .verify(current, &account.password_hash)?
                == Verified::Mismatch
        {
            return Err(Error::InvalidCredentials);
        }
        let new_hash = self.settings.hasher.hash(&self.platform, new)?;
        let mut statements = vec![Statement::new(
            "UPDATE _userdo_account SET password_hash = ?",
            vec![new_hash.into()],
        )];
        statements.extend(session_deletes(SessionFilter::AllBut(
            &principal.session_id,
        )));
        // A reset requested before the change must not undo it.
        statements.push(Statement::new(
            "DELETE FROM _userdo_mail_tokens WHERE kind = 'reset'",
            vec![],
        ));
        self.live.forget();
        self.store.atomic(statements)?;
        Ok(())
    }
}

fn account_from_row(row: &Row) -> Result<Account> {
    Ok(Account {
        user: User {
            id: row.text(0)?.to_owned(),
            email: row.text(1)?.to_owned(),
            email_verified: row.int(3)? != 0,
            created_at: row.int(4)?,
        },
        password_hash: row.text(2)?.to_owned(),
    })
}
