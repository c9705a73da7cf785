//! What the realtime layer needs from the core: tickets, replay and frames.
#![allow(clippy::unwrap_used)]

use serde_json::{Value as Json, json};

use crate::error::Error;
use crate::platform::Platform;
use crate::principal::{ClientInfo, Principal};
use crate::realtime::*;
use crate::store::Store;
use crate::tests::support::{TestObject, advance, object};
use crate::token;

const USER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn signed_up() -> (TestObject, Principal) {
    let o = object(USER);
    let auth = o
        .signup("a@b.co", "correct horse battery", &ClientInfo::default())
        .unwrap();
    let claims = o
        .settings()
        .keys
        .verify_access(&auth.token, o.platform().now_secs())
        .unwrap();
    let p = o.authenticate(&claims).unwrap();
    (o, p)
}

#[test]
fn a_ticket_opens_one_socket_for_its_session_and_only_once() {
    let (o, p) = signed_up();
    let ticket = o.issue_ws_ticket(&p).unwrap();
    assert!(ticket.starts_with(&format!("uwt.{USER}.")));
    let stored = o
        .store()
        .query("SELECT token_hash FROM _userdo_ws_tickets", &[])
        .unwrap();
    assert_eq!(stored[0].text(0).unwrap(), token::hash_token(&ticket));
    assert_eq!(o.redeem_ws_ticket(&ticket).unwrap(), p);
    assert!(matches!(
        o.redeem_ws_ticket(&ticket),
        Err(Error::InvalidToken)
    ));
}

#[test]
fn a_ticket_expires_after_sixty_seconds_and_dies_with_its_session() {
    let (o, p) = signed_up();
    let late = o.issue_ws_ticket(&p).unwrap();
    advance(&o, TICKET_TTL_MS);
    assert!(matches!(
        o.redeem_ws_ticket(&late),
        Err(Error::InvalidToken)
    ));
    let orphan = o.issue_ws_ticket(&p).unwrap();
    o.logout(&p).unwrap();
    assert!(matches!(
        o.redeem_ws_ticket(&orphan),
        Err(Error::SessionRevoked)
    ));
    assert!(o.live_session_ids().unwrap().is_empty());
}

#[test]
fn other_token_kinds_and_other_users_tickets_are_not_tickets() {
    let (o, p) = signed_up();
    let ticket = o.issue_ws_ticket(&p).unwrap();
    let as_refresh = ticket.replacen("uwt.", "urt.", 1);
    assert!(matches!(
        o.redeem_ws_ticket(&as_refresh),
        Err(Error::InvalidToken)
    ));
    let other_user = ticket.replacen(USER, &"f".repeat(64), 1);
    assert!(matches!(
        o.redeem_ws_ticket(&other_user),
        Err(Error::InvalidToken)
    ));
    assert!(matches!(
        o.redeem_ws_ticket("uwt.x.y"),
        Err(Error::InvalidToken)
    ));
    // The real one still works: failed attempts did not spend it.
    assert!(o.redeem_ws_ticket(&ticket).is_ok());
}

#[test]
fn replay_sends_missed_events_in_order_or_asks_for_resync() {
    let (o, _) = signed_up();
    for n in 0..3 {
        o.kv_put(&format!("k{n}"), &json!(n)).unwrap();
    }
    let (frames, last) = o.replay(1).unwrap();
    assert_eq!(last, 3);
    let seqs: Vec<i64> = frames
        .iter()
        .map(|f| {
            serde_json::from_str::<Json>(f).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, [2, 3]);
    assert_eq!(o.replay(3).unwrap(), (vec![], 3));
    let (frames, last) = o.replay(7).unwrap();
    assert_eq!(last, 3);
    assert_eq!(
        serde_json::from_str::<Json>(&frames[0]).unwrap(),
        json!({ "event": "resync", "seq": 3 })
    );
}

#[test]
fn error_frames_carry_the_id_and_the_api_error_shape() {
    let frame = error_frame(&json!(7), &Error::NotFound("no method \"x\"".into()));
    let v: Json = serde_json::from_str(&frame).unwrap();
    assert_eq!(v["id"], json!(7));
    assert_eq!(v["error"]["code"], json!("not_found"));
    let internal = error_frame(&Json::Null, &Error::internal("SELECT secret"));
    assert!(!internal.contains("SELECT"));
}
