//! Sign-in providers over real SQLite: configuration, `returnTo`, the state cookie, the ID
//! token's claims, and which account an identity signs in to.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use super::support::object;
use crate::oauth::{
    self, ExternalIdentity, FlowState, ProviderKind, SignInOutcome, check_id_claims,
    check_return_to,
};
use crate::{ClientInfo, Error};

const ME: &str = "1111111111111111111111111111111111111111111111111111111111111111";

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name: &str| map.get(name).cloned()
}

#[test]
fn providers_come_from_configuration_in_order() {
    let v = vars(&[
        ("OAUTH_PROVIDERS", "local, gh ,google"),
        ("OAUTH_LOCAL_ISSUER", "http://127.0.0.1:9000"),
        ("OAUTH_LOCAL_CLIENT_ID", "a"),
        ("OAUTH_LOCAL_CLIENT_SECRET", "s"),
        ("OAUTH_LOCAL_NAME", "Local"),
        ("OAUTH_GH_PRESET", "github"),
        ("OAUTH_GH_CLIENT_ID", "b"),
        ("OAUTH_GH_CLIENT_SECRET", "t"),
        ("OAUTH_GOOGLE_PRESET", "google"),
        ("OAUTH_GOOGLE_CLIENT_ID", "c"),
        ("OAUTH_GOOGLE_CLIENT_SECRET", "u"),
    ]);
    let providers = oauth::providers_from_vars(&v).unwrap();
    let names: Vec<(&str, &str)> = providers
        .iter()
        .map(|p| (p.id.as_str(), p.name.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![("local", "Local"), ("gh", "GitHub"), ("google", "Google")]
    );
    assert!(matches!(providers[1].kind, ProviderKind::Github { .. }));
    assert_eq!(
        providers[2].kind,
        ProviderKind::Oidc {
            issuer: "https://accounts.google.com".into()
        }
    );
    // The secret is never in a debug print.
    assert!(!format!("{providers:?}").contains("\"s\""));
    assert!(oauth::providers_from_vars(&vars(&[])).unwrap().is_empty());
    for bad in [
        vec![("OAUTH_PROVIDERS", "x")],
        vec![("OAUTH_PROVIDERS", "Bad!")],
        vec![
            ("OAUTH_PROVIDERS", "x"),
            ("OAUTH_X_PRESET", "myspace"),
            ("OAUTH_X_CLIENT_ID", "a"),
            ("OAUTH_X_CLIENT_SECRET", "b"),
        ],
        vec![("OAUTH_PROVIDERS", "x"), ("OAUTH_X_ISSUER", "https://x")],
    ] {
        assert!(matches!(
            oauth::providers_from_vars(&vars(&bad)),
            Err(Error::Config(_))
        ));
    }
}

#[test]
fn return_to_is_a_path_here_or_an_allowed_origin() {
    let allowed = vec!["http://localhost:5173".to_owned()];
    assert_eq!(check_return_to(None, &allowed).unwrap(), "/");
    for ok in ["/", "/app?x=1#top", "http://localhost:5173/after", "HTTP://LOCALHOST:5173"] {
        assert!(check_return_to(Some(ok), &allowed).is_ok(), "{ok}");
    }
    for bad in [
        "//evil.example/x",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "http://localhost:5173@evil.example/",
        "evil.example",
        "/a b",
        "",
    ] {
        assert!(
            matches!(check_return_to(Some(bad), &allowed), Err(Error::InvalidQuery(_))),
            "{bad}"
        );
    }
    assert_eq!(oauth::with_error("/a", "x"), "/a?oauth_error=x");
    assert_eq!(oauth::with_error("/a?b=1#f", "x"), "/a?b=1&oauth_error=x#f");
}

#[test]
fn the_state_cookie_is_sealed_and_expires() {
    let state = FlowState {
        provider: "local".into(),
        state: "s".into(),
        nonce: "n".into(),
        verifier: "v".into(),
        return_to: "/".into(),
        link: None,
        exp: 1000,
    };
    let secret = b"a secret of at least thirty-two bytes!";
    let sealed = state.seal(secret).unwrap();
    assert_eq!(FlowState::open(&sealed, secret, 999), Some(state.clone()));
    assert_eq!(FlowState::open(&sealed, secret, 1000), None);
    assert_eq!(FlowState::open(&sealed, b"another secret, also 32 bytes long", 1), None);
    let (payload, tag) = sealed.split_once('.').unwrap();
    let mut forged = state;
    forged.return_to = "https://evil.example".into();
    let forged_payload = forged.seal(b"attacker's key, also 32 bytes long").unwrap();
    let (forged_payload, _) = forged_payload.split_once('.').unwrap();
    assert_eq!(FlowState::open(&format!("{forged_payload}.{tag}"), secret, 1), None);
    assert_eq!(FlowState::open(payload, secret, 1), None);
    assert_eq!(oauth::code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

#[test]
fn id_token_claims_are_checked() {
    let now = 1_800_000_000;
    let good = serde_json::json!({
        "iss": "https://issuer", "aud": "client", "exp": now + 60, "iat": now,
        "nonce": "n", "sub": "123", "email": "A@Example.com", "email_verified": true,
    });
    let (sub, email, verified) = check_id_claims(&good, "https://issuer", "client", "n", now).unwrap();
    assert_eq!((sub.as_str(), email.as_deref(), verified), ("123", Some("A@Example.com"), true));
    let with = |key: &str, value: serde_json::Value| {
        let mut c = good.clone();
        c[key] = value;
        c
    };
    for bad in [
        with("iss", "https://other".into()),
        with("aud", "other".into()),
        with("aud", serde_json::json!(["client", "other"])),
        with("exp", (now - 31).into()),
        with("nonce", "m".into()),
        with("sub", "".into()),
        with("iat", (now + 3600).into()),
    ] {
        assert!(check_id_claims(&bad, "https://issuer", "client", "n", now).is_err(), "{bad}");
    }
    let mut azp = with("aud", serde_json::json!(["client", "other"]));
    azp["azp"] = "client".into();
    assert!(check_id_claims(&azp, "https://issuer", "client", "n", now).is_ok());
    // Only RS256 and ES256 are taken.
    use base64::Engine;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    for alg in ["none", "HS256", "RS512"] {
        let token = format!("{}.{}.c2ln", b64(&serde_json::json!({"alg": alg})), b64(&good));
        assert!(oauth::parse_id_token(&token).is_err(), "{alg}");
    }
    let token = format!(
        "{}.{}.c2ln",
        b64(&serde_json::json!({"alg": "RS256", "kid": "k1"})),
        b64(&good)
    );
    let parsed = oauth::parse_id_token(&token).unwrap();
    assert_eq!((parsed.alg.as_str(), parsed.kid.as_deref()), ("RS256", Some("k1")));
    assert_eq!(parsed.signature, b"sig");
    for junk in ["", "a.b", "a.b.c.d", "!!.!!.!!"] {
        assert!(oauth::parse_id_token(junk).is_err());
    }
}

fn identity(provider: &str, subject: &str, email: &str, verified: bool) -> ExternalIdentity {
    ExternalIdentity {
        provider: provider.into(),
        subject: subject.into(),
        email: email.into(),
        email_verified: verified,
    }
}

fn sign_in(o: &super::support::TestObject, id: &ExternalIdentity, by_email: bool) -> SignInOutcome {
    o.oauth_sign_in(id, by_email, &ClientInfo::default(), &mut |_| Ok(()))
        .unwrap()
}

#[test]
fn a_new_identity_makes_an_account_without_a_password() {
    let o = object(ME);
    let id = identity("local", "s1", "a@example.com", true);
    let SignInOutcome::SignedIn(auth) = sign_in(&o, &id, true) else {
        panic!("no session")
    };
    assert!(auth.user.email_verified);
    assert_eq!(o.identities().unwrap()[0].provider, "local");
    // No password works, not even an empty one.
    assert!(matches!(
        o.login("a@example.com", "any password at all", &ClientInfo::default()),
        Err(Error::InvalidCredentials)
    ));
    // The linked identity signs in again, by its object or by email.
    assert!(matches!(sign_in(&o, &id, false), SignInOutcome::SignedIn(_)));
    // Its last way to sign in cannot go.
    assert!(matches!(o.unlink_identity("local"), Err(Error::Conflict(_))));
    assert!(matches!(o.unlink_identity("other"), Err(Error::NotFound(_))));
}

#[test]
fn an_existing_account_is_linked_only_for_a_verified_email() {
    let o = object(ME);
    o.signup("a@example.com", "correct horse battery", &ClientInfo::default())
        .unwrap();
    let unverified = identity("local", "s1", "a@example.com", false);
    assert!(matches!(
        sign_in(&o, &unverified, true),
        SignInOutcome::Refused(code) if code == "email_not_verified"
    ));
    assert!(o.identities().unwrap().is_empty());
    let verified = identity("local", "s1", "a@example.com", true);
    assert!(matches!(sign_in(&o, &verified, true), SignInOutcome::SignedIn(_)));
    // Another identity of the same provider is refused.
    let other = identity("local", "s2", "a@example.com", true);
    assert!(matches!(
        sign_in(&o, &other, true),
        SignInOutcome::Refused(code) if code == "identity_taken"
    ));
    // With a password, the identity may go; and the password still works.
    o.unlink_identity("local").unwrap();
    assert!(o.identities().unwrap().is_empty());
    o.login("a@example.com", "correct horse battery", &ClientInfo::default())
        .unwrap();
}

#[test]
fn linking_needs_a_live_session_of_the_account() {
    let o = object(ME);
    o.signup("a@example.com", "correct horse battery", &ClientInfo::default())
        .unwrap();
    let sid = o.live_session_ids().unwrap().remove(0);
    let id = identity("gh", "42", "someone-else@example.com", false);
    assert!(matches!(o.oauth_link(&sid, &id).unwrap(), SignInOutcome::Linked));
    assert_eq!(o.identities().unwrap()[0].email, "someone-else@example.com");
    assert!(matches!(
        o.oauth_link("not-a-session", &id),
        Err(Error::SessionRevoked)
    ));
}
