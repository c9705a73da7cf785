//! Host tests of password reset, email verification and deletion against real SQLite.
#![allow(clippy::unwrap_used)]

use crate::ClientInfo;
use crate::Principal;
use crate::error::Error;
use crate::mail::{DefaultTemplates, MailKind};
use crate::platform::Platform;
use crate::recovery::{RESET_TTL_MS, VERIFICATION_TTL_MS};
use crate::store::Store;
use crate::tests::support::{self, TestObject, advance};

const USER: &str = "abababababababababababababababababababababababababababababababab";
const PW: &str = "correct horse battery";

fn object_with_account() -> (TestObject, Principal) {
    let o = support::object(USER);
    let auth = o.signup("a@b.co", PW, &ClientInfo::default()).unwrap();
    let claims = o
        .settings()
        .keys
        .verify_access(&auth.token, o.platform().now_secs())
        .unwrap();
    let principal = o.authenticate(&claims).unwrap();
    (o, principal)
}

#[test]
fn reset_mail_goes_only_to_the_account_and_carries_a_token_stored_hashed() {
    let (o, _) = object_with_account();
    assert_eq!(
        o.request_password_reset("other@b.co", &DefaultTemplates)
            .unwrap(),
        None
    );
    let mail = o
        .request_password_reset(" A@B.co", &DefaultTemplates)
        .unwrap()
        .unwrap();
    assert_eq!(
        (mail.kind, mail.to.as_str()),
        (MailKind::PasswordReset, "a@b.co")
    );
    assert!(mail.text.contains(&mail.token));
    let stored = o
        .store()
        .query("SELECT token_hash FROM _userdo_mail_tokens", &[])
        .unwrap();
    assert_eq!(
        stored[0].text(0).unwrap(),
        crate::token::hash_token(&mail.token)
    );
}

#[test]
fn a_reset_sets_the_password_revokes_every_session_and_is_single_use() {
    let (o, principal) = object_with_account();
    let mail = o
        .request_password_reset("a@b.co", &DefaultTemplates)
        .unwrap()
        .unwrap();
    o.confirm_password_reset(&mail.token, "a brand new password")
        .unwrap();
    assert!(matches!(o.sessions(&principal).map(|s| s.len()), Ok(0)));
    assert!(o.login("a@b.co", PW, &ClientInfo::default()).is_err());
    assert!(
        o.login("a@b.co", "a brand new password", &ClientInfo::default())
            .is_ok()
    );
    assert!(matches!(
        o.confirm_password_reset(&mail.token, "another password"),
        Err(Error::InvalidToken)
    ));
}

#[test]
fn a_password_change_ends_every_pending_reset_token() {
    let (o, principal) = object_with_account();
    let mail = o
        .request_password_reset("a@b.co", &DefaultTemplates)
        .unwrap()
        .unwrap();
    o.change_password(&principal, PW, "a changed password")
        .unwrap();
    assert!(matches!(
        o.confirm_password_reset(&mail.token, "the attacker's password"),
        Err(Error::InvalidToken)
    ));
    assert!(
        o.login("a@b.co", "a changed password", &ClientInfo::default())
            .is_ok()
    );
}

#[test]
fn reset_tokens_expire_are_replaced_by_a_new_request_and_are_not_other_kinds() {
    let (o, _) = object_with_account();
    let first = o
        .request_password_reset("a@b.co", &DefaultTemplates)
        .unwrap()
        .unwrap();
    let second = o
        .request_password_reset("a@b.co", &DefaultTemplates)
        .unwrap()
        .unwrap();
    assert!(matches!(
        o.confirm_password_reset(&first.token, "new password 1"),
        Err(Error::InvalidToken)
    ));
    advance(&o, RESET_TTL_MS);
    assert!(matches!(
        o.confirm_password_reset(&second.token, "new password 1"),
        Err(Error::InvalidToken)
    ));
    let third = o
        .request_password_reset("a@b.co", &DefaultTemplates)
        .unwrap()
        .unwrap();
    // A reset token is not a verification token, a refresh token or an access token.
    assert!(matches!(
        o.confirm_email_verification(&third.token),
        Err(Error::InvalidToken)
    ));
    assert!(o.refresh(&third.token).is_err());
    assert!(
        o.settings()
            .keys
            .verify_access(&third.token, o.platform().now_secs())
            .is_err()
    );
    assert!(
        o.confirm_password_reset(&third.token, "new password 1")
            .is_ok()
    );
}

#[test]
fn verification_marks_the_email_verified_once() {
    let (o, principal) = object_with_account();
    let mail = o
        .request_email_verification(&principal, &DefaultTemplates)
        .unwrap();
    assert_eq!(mail.kind, MailKind::EmailVerification);
    assert!(matches!(
        o.confirm_password_reset(&mail.token, "new password 1"),
        Err(Error::InvalidToken)
    ));
    let user = o.confirm_email_verification(&mail.token).unwrap();
    assert!(user.email_verified);
    assert!(matches!(
        o.confirm_email_verification(&mail.token),
        Err(Error::InvalidToken)
    ));
}

#[test]
fn verification_tokens_expire_after_a_day() {
    let (o, principal) = object_with_account();
    let mail = o
        .request_email_verification(&principal, &DefaultTemplates)
        .unwrap();
    advance(&o, VERIFICATION_TTL_MS);
    assert!(matches!(
        o.confirm_email_verification(&mail.token),
        Err(Error::InvalidToken)
    ));
    assert!(!o.me().unwrap().email_verified);
}

#[test]
fn deletion_needs_the_password_and_erases_the_account() {
    let (o, principal) = object_with_account();
    assert!(matches!(
        o.authorize_deletion(&principal, "wrong password"),
        Err(Error::InvalidCredentials)
    ));
    assert!(o.me().is_ok());
    o.authorize_deletion(&principal, PW).unwrap();
    o.erase().unwrap();
    assert!(o.me().is_err());
    assert!(matches!(
        o.authenticate(
            &o.settings()
                .keys
                .verify_access(
                    &o.settings()
                        .keys
                        .issue_access(USER, &principal.session_id, o.platform().now_secs(), 60)
                        .unwrap(),
                    o.platform().now_secs()
                )
                .unwrap()
        ),
        Err(Error::SessionRevoked)
    ));
    assert!(
        o.signup("a@b.co", "a new account pw", &ClientInfo::default())
            .is_ok()
    );
}

#[test]
fn an_application_can_word_the_mail_its_own_way() {
    struct Branded;
    impl crate::mail::MailTemplates for Branded {
        fn password_reset(&self, token: &str) -> (String, String) {
            (
                "Acme password reset".into(),
                format!("https://acme.example/reset#{token}"),
            )
        }
    }
    let (o, principal) = object_with_account();
    let reset = o
        .request_password_reset("a@b.co", &Branded)
        .unwrap()
        .unwrap();
    assert_eq!(reset.subject, "Acme password reset");
    assert_eq!(
        reset.text,
        format!("https://acme.example/reset#{}", reset.token)
    );
    // What it does not override keeps the default wording.
    let verify = o.request_email_verification(&principal, &Branded).unwrap();
    assert!(verify.text.contains(&verify.token));
}
