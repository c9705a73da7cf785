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

#[test]
fn the_scanned_table_is_the_route_table() {
    assert_eq!(Endpoint::PATHS.len(), Endpoint::ALL.len());
    for (e, (endpoint, verb, path)) in Endpoint::ALL.iter().zip(Endpoint::PATHS) {
        assert_eq!(e, endpoint);
        assert_eq!(e.route().verb, *verb);
        assert_eq!(e.route().path, *path);
    }
}

/// Segment by segment, without the literal-prefix check [`captures`] starts with: the oracle.
fn captures_by_segments<'p>(pattern: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let (want, got): (Vec<_>, Vec<_>) = (pattern.split('/').collect(), path.split('/').collect());
    if want.len() != got.len() {
        return None;
    }
    let mut params = Vec::new();
    for (w, g) in want.iter().zip(got) {
        if w.starts_with('{') && w.ends_with('}') {
            if g.is_empty() {
                return None;
            }
            params.push(g);
        } else if *w != g {
            return None;
        }
    }
    Some(params)
}

proptest::proptest! {
    #[test]
    fn the_prefix_check_changes_no_answer(
        segments in proptest::collection::vec(
            proptest::sample::select(vec!["", "api", "kv", "me", "tables", "todos", "x", "{", "sessions", "revoke-others", "orgs", "batch"]),
            0..6,
        ),
    ) {
        let path = format!("/{}", segments.join("/"));
        for (_, _, pattern) in Endpoint::PATHS {
            proptest::prop_assert_eq!(captures(pattern, &path), captures_by_segments(pattern, &path), "{} {}", pattern, path);
        }
    }
}
