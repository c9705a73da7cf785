//! Signup: the account and its first session, and the application's hook in the same transaction.

use crate::UserDo;
use crate::api::{AuthResponse, User};
use crate::error::{Error, Result};
use crate::principal::ClientInfo;
use crate::store::Statement;

use super::check_credentials;

impl<S: crate::store::Store, P: crate::platform::Platform> UserDo<S, P> {
    /// Creates the account with its first session. `409 email_taken` if this object has one.
    pub fn signup(
        &self,
        raw_email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<AuthResponse> {
        self.signup_with(raw_email, password, client, &mut |_| Ok(()))
    }

    /// Creates the account with its first session, and runs `on_created` in the same
    /// transaction: the account, the session and whatever the hook writes (through the store,
    /// tables or KV) commit together. When the hook returns an error nothing remains (no account,
    /// no row, no event) and that error is returned unchanged. `409 email_taken` if this object
    /// has an account.
    pub fn signup_with(
        &self,
        raw_email: &str,
        password: &str,
        client: &ClientInfo,
        on_created: &mut dyn FnMut(&User) -> Result<()>,
    ) -> Result<AuthResponse> {
        let email = check_credentials(raw_email, password)?;
        if self.account()?.is_some() {
            return Err(Error::EmailTaken);
        }
        let password_hash = self.settings.hasher.hash(&self.platform, password)?;
        self.create_account(&email, &password_hash, false, Vec::new(), client, on_created)
    }

    /// Creates the account of `email` (already normalised) with `password_hash` (empty: no
    /// password), its first session, `extra` statements and the hook's writes, in one
    /// transaction.
    pub(crate) fn create_account(
        &self,
        email: &str,
        password_hash: &str,
        email_verified: bool,
        extra: Vec<Statement>,
        client: &ClientInfo,
        on_created: &mut dyn FnMut(&User) -> Result<()>,
    ) -> Result<AuthResponse> {
        let now = self.platform.now_ms();
        let user = User {
            id: self.user_id.clone(),
            email: email.to_owned(),
            email_verified,
            created_at: now,
        };
        let create = Statement::new(
            "INSERT INTO _userdo_account (singleton, user_id, email, password_hash, email_verified, created_at)
             VALUES (1, ?, ?, ?, ?, ?)",
            vec![
                (&user.id).into(),
                (&user.email).into(),
                password_hash.into(),
                i64::from(email_verified).into(),
                now.into(),
            ],
        );
        let (session_statements, response) = self.open_session(user, client)?;
        let mut statements = vec![create];
        statements.extend(session_statements);
        statements.extend(extra);
        // Events the hook queues are delivered only if its writes commit; a panic drops them too.
        let queued = self.emitted.queued_from_here();
        let mut failure: Option<Error> = None;
        let mut insert_failed = false;
        let committed = self.store.transaction(&mut || {
            if let Err(e) = self.store.atomic(std::mem::take(&mut statements)) {
                insert_failed = true;
                failure = Some(e.into());
                return false;
            }
            match on_created(&response.user) {
                Ok(()) => true,
                Err(e) => {
                    failure = Some(e);
                    false
                }
            }
        })?;
        if committed {
            queued.keep();
            return Ok(response);
        }
        drop(queued);
        if insert_failed && self.account()?.is_some() {
            // Another signup won the race between the check and the insert.
            return Err(Error::EmailTaken);
        }
        Err(failure.unwrap_or_else(|| Error::internal("the signup transaction did not commit")))
    }
}
