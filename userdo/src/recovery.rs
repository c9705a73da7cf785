//! Password reset, email verification and account deletion.
//!
//! Reset and verification tokens are opaque, random (256 bits), single-use and expiring; only their
//! SHA-256 is stored, and they leave the object only inside a [`Mail`].

use crate::api::User;
use crate::error::{Error, Result};
use crate::mail::{Mail, MailTemplates};
use crate::password::Verified;
use crate::principal::Principal;
use crate::schema;
use crate::store::{Statement, Store, Value};
use crate::token::{self, OpaqueKind};
use crate::{Platform, UserDo};

/// A password-reset token's lifetime.
pub const RESET_TTL_MS: i64 = 60 * 60 * 1000;
/// An email-verification token's lifetime.
pub const VERIFICATION_TTL_MS: i64 = 24 * 60 * 60 * 1000;

fn kind_name(kind: OpaqueKind) -> &'static str {
    match kind {
        OpaqueKind::PasswordReset => "reset",
        _ => "verify",
    }
}

impl<S: Store, P: Platform> UserDo<S, P> {
    /// Starts a password reset. Returns the mail to send, or `None` when this object has no
    /// account for `raw_email` (the caller answers the same either way). A new request replaces
    /// any earlier reset token.
    pub fn request_password_reset(
        &self,
        raw_email: &str,
        templates: &dyn MailTemplates,
    ) -> Result<Option<Mail>> {
        let email = crate::email::normalize(raw_email)?;
        if !crate::account::has_account_schema(&self.store)? {
            return Ok(None);
        }
        match self.me() {
            Ok(user) if user.email == email => {}
            _ => return Ok(None),
        }
        let token = self.new_mail_token(OpaqueKind::PasswordReset, RESET_TTL_MS)?;
        Ok(Some(Mail::password_reset(&email, token, templates)))
    }

    /// Sets a new password with a reset token, spends the token and ends every session.
    pub fn confirm_password_reset(&self, token: &str, new_password: &str) -> Result<()> {
        crate::password::check_length("newPassword", new_password)?;
        let hash = self.check_mail_token(OpaqueKind::PasswordReset, token)?;
        let new_hash = self.settings.hasher.hash(&self.platform, new_password)?;
        self.live.forget();
        self.store.atomic(vec![
            Statement::new(
                "UPDATE _userdo_account SET password_hash = ?",
                vec![new_hash.into()],
            ),
            Statement::new(
                "DELETE FROM _userdo_mail_tokens WHERE kind = 'reset' OR token_hash = ?",
                vec![hash.into()],
            ),
            Statement::new("DELETE FROM _userdo_sessions", vec![]),
            Statement::new("DELETE FROM _userdo_refresh_tokens", vec![]),
        ])?;
        Ok(())
    }

    /// Starts an email verification for the signed-in account; returns the mail to send.
    pub fn request_email_verification(
        &self,
        _principal: &Principal,
        templates: &dyn MailTemplates,
    ) -> Result<Mail> {
        let user = self.me()?;
        let token = self.new_mail_token(OpaqueKind::EmailVerification, VERIFICATION_TTL_MS)?;
        Ok(Mail::email_verification(&user.email, token, templates))
    }

    /// Marks the email verified with a verification token, and spends the token.
    pub fn confirm_email_verification(&self, token: &str) -> Result<User> {
        let hash = self.check_mail_token(OpaqueKind::EmailVerification, token)?;
        self.store.atomic(vec![
            Statement::new("UPDATE _userdo_account SET email_verified = 1", vec![]),
            Statement::new(
                "DELETE FROM _userdo_mail_tokens WHERE kind = 'verify' OR token_hash = ?",
                vec![hash.into()],
            ),
        ])?;
        self.me()
    }

    /// Checks the password before an account deletion. The runtime then erases the object's whole
    /// storage; [`erase`](Self::erase) does the same for the core's own tables.
    pub fn authorize_deletion(&self, _principal: &Principal, password: &str) -> Result<()> {
        let stored = self
            .store
            .query("SELECT password_hash FROM _userdo_account", &[])?;
        let stored = stored
            .first()
            .ok_or(Error::SessionRevoked)?
            .text(0)?
            .to_owned();
        if password.chars().count() > crate::password::MAX_PASSWORD_CHARS
            || self.settings.hasher.verify(password, &stored)? == Verified::Mismatch
        {
            return Err(Error::InvalidCredentials);
        }
        Ok(())
    }

    /// Deletes the account, its sessions and tokens, its KV and its event log (the core's rows;
    /// not the application's raw SQL tables, which the runtime erases with the whole storage).
    pub fn erase(&self) -> Result<()> {
        let mut statements: Vec<Statement> = schema::ERASED_TABLES
            .iter()
            .map(|t| Statement::new(format!("DELETE FROM {t}"), vec![]))
            .collect();
        statements.push(Statement::new(schema::ERASE_RESET_SEQ, vec![]));
        self.live.forget();
        self.store.atomic(statements)?;
        Ok(())
    }

    fn new_mail_token(&self, kind: OpaqueKind, ttl_ms: i64) -> Result<String> {
        let token = token::new_opaque(&self.platform, kind, &self.user_id)?;
        let now = self.platform.now_ms();
        self.store.atomic(vec![
            // One live token of a kind at a time; expired ones of any kind go too.
            Statement::new(
                "DELETE FROM _userdo_mail_tokens WHERE kind = ? OR expires_at <= ?",
                vec![kind_name(kind).into(), now.into()],
            ),
            Statement::new(
                "INSERT INTO _userdo_mail_tokens (token_hash, kind, expires_at) VALUES (?, ?, ?)",
                vec![
                    token::hash_token(&token).into(),
                    kind_name(kind).into(),
                    Value::Integer(now + ttl_ms),
                ],
            ),
        ])?;
        Ok(token)
    }

    /// The stored hash of a live token of `kind`, or `invalid_token`.
    fn check_mail_token(&self, kind: OpaqueKind, token: &str) -> Result<String> {
        if token::opaque_user_id(kind, token) != Some(self.user_id.as_str()) {
            return Err(Error::InvalidToken);
        }
        let hash = token::hash_token(token);
        let rows = self.store.query(
            "SELECT 1 FROM _userdo_mail_tokens WHERE token_hash = ? AND kind = ? AND expires_at > ?",
            &[(&hash).into(), kind_name(kind).into(), self.platform.now_ms().into()],
        )?;
        if rows.is_empty() {
            return Err(Error::InvalidToken);
        }
        Ok(hash)
    }
}
