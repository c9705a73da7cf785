//! The route table's own rules: one endpoint per method and path, 404 told from 405.

#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn patterns_match_whole_segments() {
    assert!(matches("/api/sessions/{id}", "/api/sessions/abc"));
    assert!(!matches("/api/sessions/{id}", "/api/sessions/"));
    assert!(!matches("/api/sessions/{id}", "/api/sessions/a/b"));
    assert!(matches("/api/me", "/api/me"));
    assert!(!matches("/api/me", "/api/me/"));
    assert!(!matches("/api/me", "/api/mex"));
    assert_eq!(
        captures("/api/tables/{table}/{id}", "/api/tables/todos/x%2Fy"),
        Some(vec!["todos", "x%2Fy"])
    );
}

#[test]
fn every_path_and_method_is_one_endpoint() {
    for (i, a) in Endpoint::ALL.iter().enumerate() {
        for b in &Endpoint::ALL[i + 1..] {
            let (ra, rb) = (a.route(), b.route());
            assert!(
                !(ra.verb == rb.verb && ra.path == rb.path),
                "{a:?} and {b:?} share {} {}",
                ra.path,
                serde_json::to_string(&ra.verb).unwrap()
            );
        }
    }
}

#[test]
fn lookup_tells_404_from_405() {
    assert_eq!(
        lookup(Verb::Delete, "/api/kv/a"),
        Lookup::Found(Endpoint::KvDelete, vec!["a"])
    );
    // The literal `revoke-others` wins over `{id}` only by method: DELETE of it is a revoke.
    assert_eq!(
        lookup(Verb::Post, "/api/sessions/revoke-others"),
        Lookup::Found(Endpoint::RevokeOthers, vec![])
    );
    assert_eq!(lookup(Verb::Put, "/api/me"), Lookup::OtherMethod);
    assert_eq!(lookup(Verb::Get, "/api/nope"), Lookup::Missing);
}

#[test]
fn routes_that_set_cookies_answer_tokens_and_the_ones_that_end_sessions_say_so() {
    for e in Endpoint::ALL {
        let r = e.route();
        if matches!(r.cookies, Cookies::Clear | Cookies::End) {
            assert_eq!(r.sessions, Sessions::MayEnd, "{e:?}");
        }
        if matches!(r.auth, Auth::Email | Auth::Token(_)) {
            assert!(
                matches!(r.body, Body::Json(_)),
                "{e:?} needs its body to find its user"
            );
        }
    }
}
