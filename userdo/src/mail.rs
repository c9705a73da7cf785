//! The mail the core asks to send (password reset, email verification), with default texts an
//! application can replace. Sending is the runtime's job: a dev outbox or a production mailer.

use serde::{Deserialize, Serialize};

/// What a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MailKind {
    /// A password-reset token (valid 1 hour).
    PasswordReset,
    /// An email-verification token (valid 24 hours).
    EmailVerification,
    /// An invitation to an organization (valid 7 days).
    Invitation,
}

/// One message to one address. `token` is also in `text`; it is kept apart for the dev outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    /// What the message is for.
    pub kind: MailKind,
    /// The recipient (a normalised email).
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The single-use token the message delivers.
    pub token: String,
}

/// The subject and text of each kind of message. Override to word them your way (or to put the
/// token in a link to your site).
pub trait MailTemplates {
    /// The password-reset message.
    fn password_reset(&self, token: &str) -> (String, String) {
        (
            "Reset your password".to_owned(),
            format!(
                "Someone asked to reset the password of this account. If it was you, use this code \
                 within one hour:\n\n{token}\n\nIf it was not you, ignore this message: your password \
                 stays as it is."
            ),
        )
    }

    /// The email-verification message.
    fn email_verification(&self, token: &str) -> (String, String) {
        (
            "Confirm your email address".to_owned(),
            format!("Use this code within 24 hours to confirm your email address:\n\n{token}"),
        )
    }

    /// The invitation to the organization `org_name` (whose name its admins chose: quoted, never
    /// trusted as markup).
    fn invitation(&self, org_name: &str, token: &str) -> (String, String) {
        (
            "You are invited to join a team".to_owned(),
            format!(
                "You are invited to join the organization {org_name:?}. Sign in with this email \
                 address and use this code within 7 days to accept:\n\n{token}\n\nIf you do \
                 not know this organization, ignore this message."
            ),
        )
    }
}

/// Sends mail. The runtime implements it twice: a dev outbox kept in the user's object, and a
/// webhook for production; a test can implement it to capture messages.
// Mail is sent from inside one Durable Object, which is single-threaded: no `Send` bound wanted.
#[allow(async_fn_in_trait)]
pub trait Mailer {
    /// Delivers one message, or says why it could not.
    async fn send(&self, mail: &Mail) -> crate::Result<()>;
}

/// The default wording.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultTemplates;

impl MailTemplates for DefaultTemplates {}

impl Mail {
    /// The invitation to `org_name` for `to`.
    pub fn invitation(
        to: &str,
        org_name: &str,
        token: String,
        templates: &dyn MailTemplates,
    ) -> Self {
        let (subject, text) = templates.invitation(org_name, &token);
        Self::of(MailKind::Invitation, to, subject, text, token)
    }

    /// The password-reset message for `to`.
    pub fn password_reset(to: &str, token: String, templates: &dyn MailTemplates) -> Self {
        let (subject, text) = templates.password_reset(&token);
        Self::of(MailKind::PasswordReset, to, subject, text, token)
    }

    /// The email-verification message for `to`.
    pub fn email_verification(to: &str, token: String, templates: &dyn MailTemplates) -> Self {
        let (subject, text) = templates.email_verification(&token);
        Self::of(MailKind::EmailVerification, to, subject, text, token)
    }

    fn of(kind: MailKind, to: &str, subject: String, text: String, token: String) -> Self {
        Self {
            kind,
            to: to.to_owned(),
            subject,
            text,
            token,
        }
    }
}
