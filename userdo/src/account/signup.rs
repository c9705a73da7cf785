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
        let now = self.platform.now_ms();
        let user = User {
            id: self.user_id.clone(),
            email,
            email_verified: false,
            created_at: now,
        };
        let create = Statement::new(
            "INSERT INTO _userdo_account (singleton, user_id, email, password_hash, email_verified, created_at)
             VALUES (1, ?, ?, ?, 0, ?)",
            vec![(&user.id).into(), (&user.email).into(), password_hash.into(), now.into()],
        );
        let (session_statements, response) = self.open_session(user, client)?;
        let mut statements = vec![create];
        statements.extend(session_statements);
        let queued = self.emitted.len();
        // Events the hook queued are delivered only if its writes commit; a panic drops them too.
        let rollback = DropEventsUnlessKept {
            emitted: &self.emitted,
            queued,
        };
        let mut created: Option<Result<(), crate::store::StoreError>> = None;
        let mut hooked: Result<()> = Ok(());
        let committed = self.store.transaction(&mut || {
            let inserted = self.store.atomic(std::mem::take(&mut statements)).map(drop);
            let ok = inserted.is_ok();
            created = Some(inserted);
            if !ok {
                return false;
            }
            hooked = on_created(&response.user);
            hooked.is_ok()
        })?;
        if committed {
            std::mem::forget(rollback);
            return Ok(response);
        }
        drop(rollback);
        match created {
            Some(Err(e)) => Err(if self.account()?.is_some() {
                // Another signup won the race between the check and the insert.
                Error::EmailTaken
            } else {
                e.into()
            }),
            _ => Err(hooked
                .err()
                .unwrap_or_else(|| Error::internal("the signup transaction did not commit"))),
        }
    }
}

/// Drops the events queued after `queued` when it goes out of scope (forget it to keep them).
struct DropEventsUnlessKept<'a> {
    emitted: &'a crate::events::Emitted,
    queued: usize,
}

impl Drop for DropEventsUnlessKept<'_> {
    fn drop(&mut self) {
        self.emitted.truncate(self.queued);
    }
}
