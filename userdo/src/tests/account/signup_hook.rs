//! Host tests of `signup_with`: the hook's writes commit with the account, or nothing remains.
#![allow(clippy::unwrap_used)]

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use validator::Validate;

use crate::ClientInfo;
use crate::error::Error;
use crate::table::{Access, TableRow, Tables};
use crate::tests::support::{self, TestObject};

const USER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const PW: &str = "correct horse battery";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate, JsonSchema)]
struct Profile {
    #[validate(length(min = 1))]
    name: String,
}

impl TableRow for Profile {
    const NAME: &'static str = "profiles";
}

fn object() -> TestObject {
    support::object(USER)
        .with_tables(Tables::new().table::<Profile>(Access::ReadWrite))
        .unwrap()
}

fn profile_count(o: &TestObject) -> i64 {
    o.table::<Profile>().unwrap().query().count().unwrap()
}

#[test]
fn a_hook_that_succeeds_commits_its_rows_and_kv_with_the_account() {
    let o = object();
    let auth = o
        .signup_with("a@b.co", PW, &ClientInfo::default(), &mut |user| {
            o.table::<Profile>()?.create(&Profile {
                name: user.email.clone(),
            })?;
            o.kv_put("welcome", &json!(true))?;
            Ok(())
        })
        .unwrap();
    assert_eq!(o.me().unwrap(), auth.user);
    assert_eq!(profile_count(&o), 1);
    assert_eq!(o.kv_get("welcome").unwrap(), Some(json!(true)));
    let events: Vec<String> = o.take_events().into_iter().map(|e| e.event).collect();
    assert_eq!(events, ["table:profiles", "kv:welcome"]);
}

#[test]
fn a_hook_that_fails_leaves_no_account_no_rows_no_kv_and_no_events() {
    let o = object();
    let result = o.signup_with("a@b.co", PW, &ClientInfo::default(), &mut |_| {
        o.table::<Profile>()?
            .create(&Profile { name: "x".into() })?;
        o.kv_put("welcome", &json!(true))?;
        Err(Error::Forbidden("signups are closed".into()))
    });
    match result {
        Err(Error::Forbidden(message)) => assert_eq!(message, "signups are closed"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(o.me(), Err(Error::SessionRevoked)));
    assert_eq!(profile_count(&o), 0);
    assert_eq!(o.kv_get("welcome").unwrap(), None);
    assert!(o.take_events().is_empty());
    assert_eq!(o.last_seq().unwrap(), 0);
    assert!(o.live_session_ids().unwrap().is_empty());
    // The email is free again: a new signup succeeds.
    let auth = o.signup("a@b.co", PW, &ClientInfo::default()).unwrap();
    assert_eq!(o.me().unwrap(), auth.user);
}

#[test]
fn a_hook_that_fails_after_a_validation_error_returns_that_error_unchanged() {
    let o = object();
    let result = o.signup_with("a@b.co", PW, &ClientInfo::default(), &mut |_| {
        o.table::<Profile>()?.create(&Profile { name: "".into() })?;
        Ok(())
    });
    match result {
        Err(Error::Validation(fields)) => assert!(fields.contains_key("name")),
        other => panic!("{other:?}"),
    }
    assert!(o.me().is_err());
}

#[test]
fn signup_with_on_a_taken_email_runs_no_hook() {
    let o = object();
    o.signup("a@b.co", PW, &ClientInfo::default()).unwrap();
    let mut ran = false;
    let result = o.signup_with("c@d.co", PW, &ClientInfo::default(), &mut |_| {
        ran = true;
        Ok(())
    });
    assert!(matches!(result, Err(Error::EmailTaken)));
    assert!(!ran);
}

#[test]
fn a_hook_that_panics_leaves_nothing_and_its_events_are_dropped() {
    let o = object();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        o.signup_with("a@b.co", PW, &ClientInfo::default(), &mut |_| {
            o.kv_put("welcome", &json!(true))?;
            panic!("the hook broke");
        })
    }));
    assert!(caught.is_err());
    assert!(o.me().is_err());
    assert_eq!(o.kv_get("welcome").unwrap(), None);
    assert!(o.take_events().is_empty());
    assert!(o.signup("a@b.co", PW, &ClientInfo::default()).is_ok());
}
