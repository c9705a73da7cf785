//! Which password derivations a call will run, as the runtime computes them first
//! (`UserDo::check_derivations`): exactly those the core then runs, so none is computed twice.
#![allow(clippy::unwrap_used)]

use crate::ClientInfo;
use crate::error::Error;
use crate::password::{self, Derivation, PasswordHasher, derive_with_crate};
use crate::store::Store;
use crate::tests::support;

const PW: &str = "correct horse battery";

fn client() -> ClientInfo {
    ClientInfo {
        user_agent: "ua".into(),
    }
}

fn stored_hash(o: &support::TestObject) -> String {
    let rows = o
        .store()
        .query("SELECT password_hash FROM _userdo_account", &[])
        .unwrap();
    rows[0].text(0).unwrap().to_owned()
}

/// Each derivation with its output, as the runtime's engine would hand them over.
fn computed(work: &[Derivation]) -> Vec<(Derivation, [u8; 32])> {
    work.iter()
        .map(|d| (d.clone(), derive_with_crate(&d.password, &d.salt, d.rounds)))
        .collect()
}

#[test]
fn a_login_derives_against_the_stored_salt_or_the_dummy() {
    let o = support::object("u1");
    // No account yet: the dummy.
    let none = o.check_derivations(Some("a@b.co"), PW, true).unwrap();
    assert_eq!(none, vec![o.settings().hasher.dummy_derivation(PW)]);
    o.signup("a@b.co", PW, &client()).unwrap();
    let stored = stored_hash(&o);
    let work = o.check_derivations(Some(" A@b.co "), PW, true).unwrap();
    assert_eq!(
        work,
        vec![o.settings().hasher.verify_derivation(PW, &stored).unwrap()]
    );
    assert!(stored.contains(&format!("i={}", work[0].rounds)));
    // Another email: the dummy, as the core does.
    let other = o.check_derivations(Some("c@d.co"), PW, true).unwrap();
    assert_eq!(other, vec![o.settings().hasher.dummy_derivation(PW)]);
    // Input refused before hashing: nothing.
    assert!(
        o.check_derivations(Some("not an email"), PW, true)
            .unwrap()
            .is_empty()
    );
    assert!(
        o.check_derivations(Some("a@b.co"), "short", true)
            .unwrap()
            .is_empty()
    );
    assert!(
        o.check_derivations(None, &"a".repeat(1025), false)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_login_with_the_prepared_derivations_matches_and_a_wrong_one_is_refused() {
    let o = support::object("u2");
    o.signup("a@b.co", PW, &client()).unwrap();
    let work = o.check_derivations(Some("a@b.co"), PW, true).unwrap();
    let done = computed(&work);
    let guard = password::prepared(done);
    o.login("a@b.co", PW, &client()).unwrap();
    drop(guard);
    // A prepared output is what the core believes: a wrong one refuses the right password.
    let wrong = work.into_iter().map(|d| (d, [1u8; 32])).collect();
    let _guard = password::prepared(wrong);
    assert!(matches!(
        o.login("a@b.co", PW, &client()),
        Err(Error::InvalidCredentials)
    ));
}

#[test]
fn outdated_parameters_also_prepare_the_new_hash_that_the_login_writes() {
    let o = support::object("u3");
    o.signup("a@b.co", PW, &client()).unwrap();
    let old = stored_hash(&o);
    // The same object's rows read by a core at 2,000 rounds.
    let crate::UserDo {
        store,
        platform,
        mut settings,
        user_id,
        ..
    } = o;
    settings.hasher = PasswordHasher::new(2000).unwrap();
    let o = crate::UserDo::open(store, platform, settings, user_id).unwrap();
    let work = o.check_derivations(Some("a@b.co"), PW, true).unwrap();
    assert_eq!(work.len(), 2);
    assert!(!work[0].fresh && work[0].rounds == 1000);
    assert!(work[1].fresh && work[1].rounds == 2000);
    // Without a rehash (a password check before a deletion): only the check.
    assert_eq!(o.check_derivations(None, PW, false).unwrap().len(), 1);
    let done = computed(&work);
    let _guard = password::prepared(done);
    o.login("a@b.co", PW, &client()).unwrap();
    let new = stored_hash(&o);
    assert_ne!(new, old);
    assert!(new.starts_with("$pbkdf2-sha256$i=2000,l=32$"), "{new}");
    assert_eq!(
        o.settings()
            .hasher
            .verify_derivation(PW, &new)
            .unwrap()
            .salt,
        work[1].salt,
        "the rehash used the prepared salt"
    );
}
