//! Host tests of the account and session rules against real SQLite (rusqlite).
#![allow(clippy::unwrap_used)]

use crate::ClientInfo;
use crate::UserDo;
use crate::account::MAX_SESSIONS;
use crate::error::Error;
use crate::platform::Platform;
use crate::store::Store;
use crate::store::sqlite::SqliteStore;
use crate::tests::support::{self, TestObject, advance, settings};

const USER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const PW: &str = "correct horse battery";

fn object() -> TestObject {
    support::object(USER)
}

fn client(ua: &str) -> ClientInfo {
    ClientInfo {
        user_agent: ua.into(),
    }
}

fn principal_of(o: &TestObject, token: &str) -> crate::Result<crate::Principal> {
    let claims = o
        .settings()
        .keys
        .verify_access(token, o.platform().now_secs())?;
    o.authenticate(&claims)
}

#[test]
fn signup_returns_the_public_user_and_a_working_pair() {
    let o = object();
    let auth = o.signup("  Alice@Example.COM ", PW, &client("ua")).unwrap();
    assert_eq!(auth.user.email, "alice@example.com");
    assert_eq!(auth.user.id, USER);
    assert!(!auth.user.email_verified);
    let body = serde_json::to_value(&auth).unwrap();
    let mut keys: Vec<_> = body["user"].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["createdAt", "email", "emailVerified", "id"]);
    assert!(!body.to_string().contains("pbkdf2"));
    assert_eq!(principal_of(&o, &auth.token).unwrap().user_id, USER);
}

#[test]
fn passwords_are_stored_as_phc_hashes_and_refresh_tokens_as_sha256() {
    let o = object();
    let auth = o.signup("a@b.co", PW, &client("ua")).unwrap();
    let rows = o
        .store()
        .query("SELECT password_hash FROM _userdo_account", &[])
        .unwrap();
    assert!(
        rows[0]
            .text(0)
            .unwrap()
            .starts_with("$pbkdf2-sha256$i=1000,l=32$")
    );
    let rows = o
        .store()
        .query("SELECT token_hash FROM _userdo_refresh_tokens", &[])
        .unwrap();
    assert_eq!(
        rows[0].text(0).unwrap(),
        crate::token::hash_token(&auth.refresh_token)
    );
    assert_ne!(rows[0].text(0).unwrap(), auth.refresh_token);
}

#[test]
fn a_second_signup_is_email_taken() {
    let o = object();
    o.signup("a@b.co", PW, &client("ua")).unwrap();
    assert!(matches!(
        o.signup("A@B.CO", PW, &client("ua")),
        Err(Error::EmailTaken)
    ));
}

#[test]
fn login_failures_look_the_same_for_a_wrong_password_and_no_account() {
    let o = object();
    let err = o.login("nobody@b.co", PW, &client("ua")).unwrap_err();
    assert!(matches!(err, Error::InvalidCredentials));
    o.signup("a@b.co", PW, &client("ua")).unwrap();
    let wrong = o
        .login("a@b.co", "not the password", &client("ua"))
        .unwrap_err();
    assert_eq!(wrong.to_body(), err.to_body());
    assert_eq!(
        o.login("A@b.co", PW, &client("ua")).unwrap().user.email,
        "a@b.co"
    );
}

#[test]
fn login_rehashes_a_password_stored_with_outdated_parameters() {
    let o = object();
    o.signup("a@b.co", PW, &client("ua")).unwrap();
    let old = crate::password::PasswordHasher::new(1500).unwrap();
    let stale = old.hash(o.platform(), PW).unwrap();
    o.store()
        .execute(
            "UPDATE _userdo_account SET password_hash = ?",
            &[stale.into()],
        )
        .unwrap();
    o.login("a@b.co", PW, &client("ua")).unwrap();
    let rows = o
        .store()
        .query("SELECT password_hash FROM _userdo_account", &[])
        .unwrap();
    assert!(rows[0].text(0).unwrap().contains("i=1000,"));
}

#[test]
fn refresh_rotates_and_a_reused_token_revokes_the_session() {
    let o = object();
    let first = o.signup("a@b.co", PW, &client("ua")).unwrap();
    let second = o.refresh(&first.refresh_token).unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert!(principal_of(&o, &second.token).is_ok());
    // The spent token comes back: the whole session dies, including the new pair.
    assert!(matches!(
        o.refresh(&first.refresh_token),
        Err(Error::SessionRevoked)
    ));
    assert!(matches!(
        principal_of(&o, &second.token),
        Err(Error::SessionRevoked)
    ));
    assert!(o.refresh(&second.refresh_token).is_err());
}

#[test]
fn refresh_rejects_garbage_other_kinds_and_expired_tokens() {
    let o = object();
    let auth = o.signup("a@b.co", PW, &client("ua")).unwrap();
    assert!(matches!(o.refresh("garbage"), Err(Error::InvalidToken)));
    assert!(matches!(o.refresh(&auth.token), Err(Error::InvalidToken)));
    let reset_kind = auth.refresh_token.replacen("urt.", "upr.", 1);
    assert!(matches!(o.refresh(&reset_kind), Err(Error::InvalidToken)));
    advance(&o, o.settings().refresh_ttl_secs * 1000 + 1);
    assert!(o.refresh(&auth.refresh_token).is_err());
}

#[test]
fn access_tokens_expire_and_belong_to_one_user() {
    let o = object();
    let auth = o.signup("a@b.co", PW, &client("ua")).unwrap();
    advance(&o, o.settings().access_ttl_secs * 1000);
    assert!(matches!(
        principal_of(&o, &auth.token),
        Err(Error::InvalidToken)
    ));
    let keys = &o.settings().keys;
    let other_user = keys
        .issue_access(&"f".repeat(64), "sid", o.platform().now_secs(), 60)
        .unwrap();
    assert!(matches!(
        principal_of(&o, &other_user),
        Err(Error::InvalidToken)
    ));
    let unknown_session = keys
        .issue_access(USER, "made-up", o.platform().now_secs(), 60)
        .unwrap();
    assert!(matches!(
        principal_of(&o, &unknown_session),
        Err(Error::SessionRevoked)
    ));
}

#[test]
fn logout_revokes_only_the_current_session_at_once() {
    let o = object();
    let a = o.signup("a@b.co", PW, &client("phone")).unwrap();
    let b = o.login("a@b.co", PW, &client("laptop")).unwrap();
    let pa = principal_of(&o, &a.token).unwrap();
    o.logout(&pa).unwrap();
    assert!(matches!(
        principal_of(&o, &a.token),
        Err(Error::SessionRevoked)
    ));
    assert!(o.refresh(&a.refresh_token).is_err());
    assert!(principal_of(&o, &b.token).is_ok());
}

#[test]
fn logout_with_the_refresh_token_alone_ends_its_session() {
    let o = object();
    let a = o.signup("a@b.co", PW, &client("phone")).unwrap();
    let b = o.login("a@b.co", PW, &client("laptop")).unwrap();
    o.logout_with_refresh(&a.refresh_token).unwrap();
    assert!(matches!(
        principal_of(&o, &a.token),
        Err(Error::SessionRevoked)
    ));
    assert!(o.refresh(&a.refresh_token).is_err());
    assert!(principal_of(&o, &b.token).is_ok());
    // The session is gone: a second logout with it, or a token of another kind, is refused.
    assert!(matches!(
        o.logout_with_refresh(&a.refresh_token),
        Err(Error::InvalidToken)
    ));
    assert!(matches!(
        o.logout_with_refresh(&b.token),
        Err(Error::InvalidToken)
    ));
    assert!(principal_of(&o, &b.token).is_ok());
}

#[test]
fn sessions_are_listed_and_revoked_one_or_all_others() {
    let o = object();
    let a = o.signup("a@b.co", PW, &client("phone")).unwrap();
    let b = o.login("a@b.co", PW, &client("laptop")).unwrap();
    let c = o.login("a@b.co", PW, &client("tablet")).unwrap();
    let pa = principal_of(&o, &a.token).unwrap();
    let list = o.sessions(&pa).unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list.iter().filter(|s| s.current).count(), 1);
    assert_eq!(list.iter().find(|s| s.current).unwrap().user_agent, "phone");
    let pb = principal_of(&o, &b.token).unwrap();
    o.revoke_session(&pa, &pb.session_id).unwrap();
    assert!(matches!(
        principal_of(&o, &b.token),
        Err(Error::SessionRevoked)
    ));
    assert!(matches!(
        o.revoke_session(&pa, "nope"),
        Err(Error::NotFound(_))
    ));
    assert_eq!(o.revoke_other_sessions(&pa).unwrap(), 1);
    assert!(matches!(
        principal_of(&o, &c.token),
        Err(Error::SessionRevoked)
    ));
    assert!(principal_of(&o, &a.token).is_ok());
    assert_eq!(o.sessions(&pa).unwrap().len(), 1);
}

#[test]
fn the_live_session_reports_its_refresh_lifetime_and_ends_with_logout_or_expiry() {
    let o = object();
    let ttl_ms = o.settings().refresh_ttl_secs * 1000;
    let opened = o.platform().now_ms();
    let a = o.signup("a@b.co", PW, &client("phone")).unwrap();
    let b = o.login("a@b.co", PW, &client("laptop")).unwrap();
    let pa = principal_of(&o, &a.token).unwrap();
    let session = o.live_session(&pa).unwrap();
    assert_eq!(session.id, pa.session_id);
    assert_eq!(session.created_at, opened);
    assert_eq!(session.expires_at, opened + ttl_ms);
    let listed = o.sessions(&pa).unwrap();
    let current = listed.iter().find(|s| s.current).unwrap();
    assert_eq!(
        (&current.id, current.created_at),
        (&session.id, session.created_at)
    );
    // A refresh moves the end to a refresh lifetime from then; the opening stays.
    advance(&o, 60_000);
    let refreshed = o.refresh(&a.refresh_token).unwrap();
    let pa = principal_of(&o, &refreshed.token).unwrap();
    let moved = o.live_session(&pa).unwrap();
    assert_eq!(moved.created_at, opened);
    assert_eq!(moved.expires_at, opened + 60_000 + ttl_ms);
    // Ended by a logout: refused at once; the other session is untouched.
    let pb = principal_of(&o, &b.token).unwrap();
    o.logout(&pa).unwrap();
    assert!(matches!(o.live_session(&pa), Err(Error::SessionRevoked)));
    assert_eq!(o.live_session(&pb).unwrap().id, pb.session_id);
    // Past its end, even with no request in between, it is not live.
    advance(&o, ttl_ms);
    assert!(matches!(o.live_session(&pb), Err(Error::SessionRevoked)));
}

#[test]
fn password_change_checks_the_current_one_and_revokes_every_other_session() {
    let o = object();
    let a = o.signup("a@b.co", PW, &client("phone")).unwrap();
    let b = o.login("a@b.co", PW, &client("laptop")).unwrap();
    let pa = principal_of(&o, &a.token).unwrap();
    assert!(matches!(
        o.change_password(&pa, "wrong password", "new password 1"),
        Err(Error::InvalidCredentials)
    ));
    assert!(
        principal_of(&o, &b.token).is_ok(),
        "a failed change must change nothing"
    );
    assert!(matches!(
        o.change_password(&pa, PW, "short"),
        Err(Error::Validation(_))
    ));
    o.change_password(&pa, PW, "new password 1").unwrap();
    assert!(principal_of(&o, &a.token).is_ok());
    assert!(matches!(
        principal_of(&o, &b.token),
        Err(Error::SessionRevoked)
    ));
    assert!(o.login("a@b.co", PW, &client("x")).is_err());
    assert!(o.login("a@b.co", "new password 1", &client("x")).is_ok());
}

#[test]
fn sessions_are_capped_by_evicting_the_least_recently_used() {
    let o = object();
    let first = o.signup("a@b.co", PW, &client("first")).unwrap();
    for _ in 0..MAX_SESSIONS {
        advance(&o, 1000);
        o.login("a@b.co", PW, &client("more")).unwrap();
    }
    let count = o
        .store()
        .query("SELECT COUNT(*) FROM _userdo_sessions", &[])
        .unwrap();
    assert_eq!(count[0].int(0).unwrap(), MAX_SESSIONS);
    assert!(matches!(
        principal_of(&o, &first.token),
        Err(Error::SessionRevoked)
    ));
}

#[test]
fn reopening_an_object_keeps_its_data() {
    let o = object();
    o.signup("a@b.co", PW, &client("ua")).unwrap();
    let UserDo {
        store,
        platform,
        settings,
        user_id,
        ..
    } = o;
    let reopened = UserDo::open(store, platform, settings, user_id).unwrap();
    assert_eq!(reopened.me().unwrap().email, "a@b.co");
}

#[test]
fn a_login_where_no_account_was_created_writes_nothing_and_looks_like_a_wrong_password() {
    let store = SqliteStore::in_memory().unwrap();
    assert!(!crate::account::has_account_schema(&store).unwrap());
    let err = crate::account::login_without_account(&settings(), "a@b.co", PW);
    let tables = store.query("SELECT name FROM sqlite_master", &[]).unwrap();
    assert!(tables.is_empty());
    let o = object();
    o.signup("a@b.co", PW, &client("ua")).unwrap();
    assert!(crate::account::has_account_schema(o.store()).unwrap());
    assert_eq!(
        o.login("a@b.co", "wrong password", &client("ua"))
            .unwrap_err()
            .to_body(),
        err.to_body()
    );
}

/// One way to end the session of this response and principal.
type EndSession = fn(&TestObject, &crate::api::AuthResponse, &crate::Principal);

/// A session found live is remembered in memory (`account::LiveSessions`): each way a session
/// ends must still refuse the very next request of a session that was just authenticated.
#[test]
fn a_remembered_session_is_refused_right_after_every_way_a_session_ends() {
    use crate::mail::DefaultTemplates;
    let ends: Vec<(&str, EndSession)> = vec![
        ("logout", |o, _, p| o.logout(p).unwrap()),
        ("revocation", |o, _, p| {
            o.revoke_session(p, &p.session_id).unwrap();
        }),
        ("another session revokes the others", |o, _, _| {
            let other = o.login("a@b.co", PW, &client("other")).unwrap();
            let po = principal_of(o, &other.token).unwrap();
            o.revoke_other_sessions(&po).unwrap();
        }),
        ("a password change elsewhere", |o, _, _| {
            let other = o.login("a@b.co", PW, &client("other")).unwrap();
            let po = principal_of(o, &other.token).unwrap();
            o.change_password(&po, PW, "a brand new password").unwrap();
        }),
        ("a password reset", |o, _, _| {
            let mail = o
                .request_password_reset("a@b.co", &DefaultTemplates)
                .unwrap()
                .unwrap();
            o.confirm_password_reset(&mail.token, "a brand new password")
                .unwrap();
        }),
        ("reuse of a spent refresh token", |o, auth, _| {
            o.refresh(&auth.refresh_token).unwrap();
            assert!(o.refresh(&auth.refresh_token).is_err());
        }),
        ("the session cap", |o, _, _| {
            for _ in 0..MAX_SESSIONS {
                advance(o, 1);
                o.login("a@b.co", PW, &client("more")).unwrap();
            }
        }),
        ("an erase", |o, _, _| o.erase().unwrap()),
    ];
    for (how, end) in ends {
        let o = object();
        let auth = o.signup("a@b.co", PW, &client("ua")).unwrap();
        let p = principal_of(&o, &auth.token).unwrap();
        assert!(principal_of(&o, &auth.token).is_ok(), "{how}: remembered");
        end(&o, &auth, &p);
        assert!(
            matches!(principal_of(&o, &auth.token), Err(Error::SessionRevoked)),
            "{how}: refused at once"
        );
    }
}

/// A remembered session still ends at its `expires_at`, and its use is still noted once a
/// resolution period (what the session list shows).
#[test]
fn a_remembered_session_expires_on_time_and_notes_its_use() {
    let o = object();
    let auth = o.signup("a@b.co", PW, &client("ua")).unwrap();
    let p = principal_of(&o, &auth.token).unwrap();
    let last_used = |o: &TestObject| o.sessions(&p).unwrap()[0].last_used_at;
    let signed_up = last_used(&o);
    advance(&o, 61_000);
    // A token of the same session that outlives it (as a long access TTL would).
    let keys = &o.settings().keys;
    let long = keys
        .issue_access(
            USER,
            &p.session_id,
            o.platform().now_secs(),
            3600 * 24 * 365,
        )
        .unwrap();
    assert!(principal_of(&o, &long).is_ok());
    assert_eq!(
        last_used(&o),
        signed_up + 61_000,
        "use noted past the resolution"
    );
    advance(&o, 1_000);
    assert!(principal_of(&o, &long).is_ok());
    assert_eq!(last_used(&o), signed_up + 61_000, "not again within it");
    advance(&o, o.settings().refresh_ttl_secs * 1000);
    assert!(matches!(
        principal_of(&o, &long),
        Err(Error::SessionRevoked)
    ));
}
