//! Fuzzing (issue 13) of what the worker reads from a request: percent-decoding of paths and
//! queries, the query parameters, the typed call every endpoint builds from its path, query,
//! headers and body ([`parse::call`], the exact function the pipeline runs), the table query
//! string through to SQLite, the bearer and cookie credentials with their CSRF check, the CORS
//! origin list, and the application routes' path parameters. Generated and mutated input: no
//! panic, every refusal the contract's error for that input, and valid input still parses.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use userdo::fuzzing::{any_json, config, deep_json, hostile_bytes, hostile_text, mutated};
use userdo::platform::ManualClock;
use userdo::store::sqlite::SqliteStore;
use userdo::table::{Access, QuerySpec, TableRow, Tables};
use userdo::token::AccessClaims;
use userdo::{Error, Settings, UserDo, email};
use validator::Validate;
use worker::{Method, Url};

use super::app_routes::PathParams;
use super::credentials::{Origins, access_token, bearer, cors_origin, parse_origins};
use super::parse::{self, Parts, Target, percent_decode, query_param};
use super::{Matched, UserDoWorker};
use crate::fuzz::check_answer;
use crate::hop::{Call, TableCall};
use crate::http::{HeaderSource, RequestUrl};
use crate::routes::Endpoint;

/// Request headers as a list, for the host.
#[derive(Debug, Clone, Default)]
struct Sent(Vec<(&'static str, String)>);

impl HeaderSource for Sent {
    fn header(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

const ORIGIN: &str = "https://w.example";
const ALLOWED: &str = "https://app.example";

/// Percent-encodes every byte but the unreserved ones (RFC 3986).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A user id, as in an access token's `sub` and an opaque token's middle part.
const USER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn opaque(prefix: &str) -> String {
    format!("{prefix}.{USER}.{}", "A".repeat(43))
}

fn claims() -> AccessClaims {
    AccessClaims {
        sub: USER.to_owned(),
        sid: "s".repeat(32),
        iat: 0,
        exp: 1,
        iss: "userdo".to_owned(),
        aud: "userdo".to_owned(),
        typ: "access".to_owned(),
    }
}

/// Valid bodies of every endpoint that reads one: what mutated bodies start from.
fn body_seeds() -> Vec<Vec<u8>> {
    let reset = opaque("upr");
    let verification = opaque("uev");
    let refresh = opaque("urt");
    [
        json!({"email": "Me@Example.com ", "password": "correct horse battery"}),
        json!({"email": "me@example.com"}),
        json!({"refreshToken": refresh}),
        json!({"token": reset, "newPassword": "another good one"}),
        json!({"token": verification}),
        json!({"currentPassword": "correct horse battery", "newPassword": "another good one"}),
        json!({"password": "correct horse battery"}),
        json!({"method": "add", "params": {"a": 1, "b": [true, null]}}),
        json!({"key": "k", "value": {"nested": [1, 2.5, "x"]}}),
        json!({"title": "t", "rank": 3, "score": 0.5, "done": false, "meta": {"a": 1}}),
        json!([1, "two", null]),
        json!("a string"),
    ]
    .iter()
    .map(|v| v.to_string().into_bytes())
    .collect()
}

fn body() -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::weighted(
        0.9,
        prop_oneof![
            6 => mutated(body_seeds()),
            2 => any_json(4).prop_map(|v| v.to_string().into_bytes()),
            1 => hostile_bytes(24),
            1 => (1usize..600, any::<bool>()).prop_map(|(d, o)| deep_json(d, o)),
        ],
    )
}

fn query_seeds() -> Vec<Vec<u8>> {
    [
        "prefix=a%2Fb&after=k&limit=10",
        "key=a+b%20c",
        "email=Me%40Example.com",
        "ticket=uwt.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&since=5",
        "where=title:eq:hello&orderBy=rank:desc&limit=10&offset=2",
        "where=rank:in:1,2,3&where=done:eq:true",
        "where=rank:in:[1,2]&orderBy=score",
        "where=title:startsWith:a%25b&where=meta:eq:x",
        "where=rank:gte:null&where=score:lt:1e3",
        "since=-1&limit=0&limit=1001",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => mutated(query_seeds()).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        1 => hostile_text(16),
    ]
}

/// A path segment as the route table captures it: anything but `/`, not empty.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        mutated(vec![
            b"abc".to_vec(),
            b"a%2Fb".to_vec(),
            b"__x".to_vec(),
            b"%C3%A9".to_vec()
        ])
        .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        hostile_text(6),
        Just("x".repeat(600)),
        Just("%41".repeat(513)),
    ]
    .prop_map(|s| s.replace('/', "%2F"))
    .prop_filter("not empty", |s| !s.is_empty())
}

fn headers() -> impl Strategy<Value = Sent> {
    let cookie = prop_oneof![
        Just(format!("refreshToken={}", opaque("urt"))),
        Just(format!("token=t; refreshToken={}", opaque("urt"))),
        hostile_text(10),
    ];
    let origin = prop_oneof![
        Just(ORIGIN.to_owned()),
        Just(ALLOWED.to_owned()),
        Just("https://evil.example".to_owned()),
        Just("null".to_owned()),
        hostile_text(4),
    ];
    let upgrade = prop_oneof![
        Just("websocket".to_owned()),
        Just("WebSocket".to_owned()),
        hostile_text(3)
    ];
    (
        proptest::option::of(cookie),
        proptest::option::of(origin),
        proptest::option::of(upgrade),
    )
        .prop_map(|(cookie, origin, upgrade)| {
            let mut sent = Vec::new();
            sent.extend(cookie.map(|c| ("cookie", c)));
            sent.extend(origin.map(|o| ("origin", o)));
            sent.extend(upgrade.map(|u| ("upgrade", u)));
            Sent(sent)
        })
}

/// What `parse::call` may refuse a request with: its body, query or parameters (400), a missing
/// or malformed credential (401), a cookie from a foreign origin (403), a GET to the socket
/// without an upgrade (426). Never a 500.
const CALL_ERRORS: &[(u16, &str)] = &[
    (400, "invalid_json"),
    (400, "validation_failed"),
    (400, "invalid_query"),
    (401, "unauthenticated"),
    (401, "invalid_token"),
    (403, "csrf_rejected"),
    (426, "upgrade_required"),
];

/// [`CALL_ERRORS`], and 404 for an organization id of the wrong shape (it names none).
const ORG_CALL_ERRORS: &[(u16, &str)] = &[
    (400, "invalid_json"),
    (400, "validation_failed"),
    (400, "invalid_query"),
    (401, "unauthenticated"),
    (401, "invalid_token"),
    (403, "csrf_rejected"),
    (404, "not_found"),
    (426, "upgrade_required"),
];

struct Request {
    url: RequestUrl,
    params: Vec<String>,
    headers: Sent,
    body: Option<Vec<u8>>,
    caller: Option<AccessClaims>,
}

fn run_call(endpoint: Endpoint, r: &Request) -> Result<(Call, Target), Error> {
    let allowed = vec![ALLOWED.to_owned()];
    let origins = Origins {
        url: &r.url,
        allowed: &allowed,
        cors: None,
    };
    parse::call(Parts {
        endpoint,
        params: r.params.iter().map(String::as_str).collect(),
        url: &r.url,
        headers: &r.headers,
        origins: &origins,
        body: r.body.clone(),
        caller: r.caller.as_ref(),
    })
}

/// The URL of a request with this query, as the runtime would serialize it.
fn url_with(query: &str) -> RequestUrl {
    let mut url = Url::parse(&format!("{ORIGIN}/api/x")).unwrap();
    url.set_query(Some(query));
    RequestUrl::parse(url.as_str()).unwrap()
}

proptest! {
    #![proptest_config(config(1024))]

    /// Every endpoint, fed mutated and generated bodies, queries, path parameters and headers,
    /// builds its call or refuses the request with one of [`CALL_ERRORS`]; a call goes to the
    /// object its endpoint says (the caller's, or the one its email or token names).
    #[test]
    fn fuzz_every_endpoint_builds_its_call_or_a_contract_error(
        // The sign-in providers' endpoints are answered in the worker and build no call.
        endpoint in proptest::sample::select(
            Endpoint::ALL
                .iter()
                .copied()
                .filter(|e| e.route().auth != crate::routes::Auth::Public)
                .collect::<Vec<_>>(),
        ),
        body in body(),
        query in query(),
        params in proptest::collection::vec(segment(), 2),
        headers in headers(),
        signed_in in any::<bool>(),
    ) {
        let r = Request {
            url: url_with(&query),
            params,
            headers,
            body,
            caller: signed_in.then(claims),
        };
        match run_call(endpoint, &r) {
            Ok((call, target)) => {
                prop_assert_eq!(call.endpoint(), Some(endpoint));
                match target {
                    Target::Email(e) => {
                        prop_assert!(matches!(
                            endpoint,
                            Endpoint::Signup | Endpoint::Login | Endpoint::ResetRequest | Endpoint::DevOutbox
                        ));
                        // The email names the object: normalising it again must not move it.
                        prop_assert_eq!(email::normalize(&e).ok(), Some(e));
                    }
                    // An opaque token (refresh, reset, verification, ticket) names its own
                    // user, whom its hash is checked by; every other call is the caller's.
                    Target::User(user) => match call {
                        Call::Refresh { .. }
                        | Call::ResetConfirm { .. }
                        | Call::VerificationConfirm { .. }
                        | Call::OpenSocket { ticket: Some(_), .. }
                        | Call::Org {
                            action: crate::hop::OrgOp::OpenSocket { ticket: Some(_), .. },
                            ..
                        }
                        | Call::Logout { refresh: Some(_) } => {
                            prop_assert!(userdo::token::is_user_id(&user))
                        }
                        _ => prop_assert_eq!(user, USER),
                    },
                }
            }
            Err(e) if endpoint.route().path.contains("{org}") => check_answer(&e, ORG_CALL_ERRORS)?,
            Err(e) => check_answer(&e, CALL_ERRORS)?,
        }
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Decoding never panics, never lengthens, and fails exactly on a malformed escape or bytes
    /// that are not UTF-8; input with neither `%` nor (in a query) `+` is its own decoding.
    #[test]
    fn fuzz_percent_decoding_is_strict_and_total(
        s in prop_oneof![hostile_text(16), any::<String>()],
        plus in any::<bool>(),
    ) {
        match percent_decode(&s, plus) {
            Some(out) => {
                prop_assert!(out.len() <= s.len());
                if !s.contains('%') {
                    let expected = if plus { s.replace('+', " ") } else { s.clone() };
                    prop_assert_eq!(out, expected);
                }
            }
            None => prop_assert!(s.contains('%'), "{:?} has no escape", s),
        }
        for bad in ["%", "%G1", "%1", "%ff", "%C3", "%ED%A0%80"] {
            prop_assert_eq!(percent_decode(&format!("{s}{bad}"), plus), None);
        }
    }

    /// Encoding then decoding gives the string back (as a path segment and in a query).
    #[test]
    fn fuzz_percent_encoding_round_trips(s in any::<String>(), plus in any::<bool>()) {
        prop_assert_eq!(percent_decode(&encode(&s), plus), Some(s.clone()));
        let with_plus = encode(&s).replace("%20", "+");
        prop_assert_eq!(percent_decode(&with_plus, true), Some(s));
    }

    /// A query parameter is found (the first of its name) or absent; a value that does not
    /// decode is 400 `invalid_query`.
    #[test]
    fn fuzz_query_parameters_decode_or_are_invalid_query(
        query in query(),
        name in prop_oneof![Just("key"), Just("prefix"), Just("limit"), Just("ticket"), Just("where")],
    ) {
        if let Err(e) = query_param(&query, name) {
            check_answer(&e, &[(400, "invalid_query")])?;
        }
    }

    /// Encoded pairs give back the first value of each name.
    #[test]
    fn fuzz_query_parameters_round_trip(
        pairs in proptest::collection::vec(("[a-z]{1,3}", any::<String>()), 1..6),
    ) {
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v).replace("%20", "+")))
            .collect::<Vec<_>>()
            .join("&");
        for (name, _) in &pairs {
            let first = pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            prop_assert_eq!(query_param(&query, name).unwrap(), first);
        }
        prop_assert_eq!(query_param(&query, "absent").unwrap(), None);
    }

    /// The table query's pairs are the URL's form pairs (as before they were decoded strictly)
    /// whenever the query decodes; when it does not, it is 400 `invalid_query`.
    #[test]
    fn fuzz_table_query_pairs_are_the_form_pairs_of_a_query_that_decodes(query in query()) {
        let url = url_with(&query);
        let raw = url.query().unwrap_or_default();
        match parse::query_pairs(raw) {
            Ok(pairs) => {
                let form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
                prop_assert_eq!(pairs, form);
            }
            Err(e) => check_answer(&e, &[(400, "invalid_query")])?,
        }
    }

    /// A KV key sent encoded in the path reaches the object as it was; one that is empty,
    /// too long or reserved is 400 `validation_failed` on `key`.
    #[test]
    fn fuzz_kv_keys_round_trip_through_the_path(
        key in prop_oneof![any::<String>(), "__[a-z]{0,4}", "[a-z]{500,520}"],
        endpoint in proptest::sample::select(vec![Endpoint::KvGet, Endpoint::KvPut, Endpoint::KvDelete]),
    ) {
        let r = Request {
            url: url_with(""),
            params: vec![encode(&key)],
            headers: Sent::default(),
            body: Some(b"1".to_vec()),
            caller: Some(claims()),
        };
        let valid = !key.is_empty() && key.len() <= 512 && !key.starts_with("__");
        match run_call(endpoint, &r) {
            Ok((Call::KvGet { key: k } | Call::KvDelete { key: k } | Call::KvPut { key: k, .. }, _)) => {
                prop_assert!(valid);
                prop_assert_eq!(k, key);
            }
            Ok((other, _)) => prop_assert!(false, "{:?}", other),
            Err(e) => {
                prop_assert!(!valid, "{:?}: {}", key, e);
                check_answer(&e, &[(400, "validation_failed")])?;
                prop_assert!(e.to_body()["error"]["details"]["key"].is_array());
            }
        }
    }

    /// `GET /api/kv`: `prefix` and `after` come through as sent, `limit` is 1 to 1000 (1000
    /// when absent) and anything else 400 `invalid_query`.
    #[test]
    fn fuzz_kv_list_queries_round_trip(
        prefix in proptest::option::of(any::<String>()),
        after in proptest::option::of(any::<String>()),
        limit in proptest::option::of(prop_oneof![(0u64..1100).prop_map(|n| n.to_string()), hostile_text(3)]),
    ) {
        let mut pairs = Vec::new();
        pairs.extend(prefix.as_ref().map(|p| format!("prefix={}", encode(p))));
        pairs.extend(after.as_ref().map(|a| format!("after={}", encode(a))));
        pairs.extend(limit.as_ref().map(|l| format!("limit={}", encode(l))));
        let r = Request {
            url: url_with(&pairs.join("&")),
            params: vec![],
            headers: Sent::default(),
            body: None,
            caller: Some(claims()),
        };
        let expected_limit = match &limit {
            None => Some(1000),
            Some(l) => l.parse::<usize>().ok().filter(|n| (1..=1000).contains(n)),
        };
        match run_call(Endpoint::KvList, &r) {
            Ok((Call::KvList { prefix: p, after: a, limit: l }, _)) => {
                prop_assert_eq!(p, prefix);
                prop_assert_eq!(a, after);
                prop_assert_eq!(Some(l), expected_limit);
            }
            Ok((other, _)) => prop_assert!(false, "{:?}", other),
            Err(e) => {
                prop_assert_eq!(expected_limit, None);
                check_answer(&e, &[(400, "invalid_query")])?;
            }
        }
    }

    /// Valid credentials always parse, with the email normalised.
    #[test]
    fn fuzz_valid_credentials_parse(
        local in "[a-zA-Z0-9]([a-zA-Z0-9_+-]{0,18}[a-zA-Z0-9])?",
        domain in "[a-zA-Z0-9]{1,20}\\.[a-z]{2,6}",
        password in "[^\u{0}]{8,40}",
        login in any::<bool>(),
    ) {
        let address = format!(" {local}@{domain} ");
        prop_assume!(email::normalize(&address).is_ok());
        let r = Request {
            url: url_with(""),
            params: vec![],
            headers: Sent::default(),
            body: Some(json!({"email": address, "password": password}).to_string().into_bytes()),
            caller: None,
        };
        let endpoint = if login { Endpoint::Login } else { Endpoint::Signup };
        let (call, target) = run_call(endpoint, &r).unwrap();
        let expected = email::normalize(&address).unwrap();
        match call {
            Call::Signup { email, password: p } | Call::Login { email, password: p } => {
                prop_assert_eq!(&email, &expected);
                prop_assert_eq!(p, password);
            }
            other => prop_assert!(false, "{:?}", other),
        }
        prop_assert!(matches!(target, Target::Email(e) if e == expected));
    }

    /// The bearer token is the rest of `Authorization: Bearer <token>`, trimmed; any other
    /// `Authorization` is 401 `invalid_token`.
    #[test]
    fn fuzz_bearer_headers_give_the_token_or_invalid_token(
        header in prop_oneof![
            "[A-Za-z0-9._-]{1,40}".prop_map(|t| format!("Bearer {t}")),
            mutated(vec![b"Bearer abc.def.ghi".to_vec(), b"Bearer  x ".to_vec(), b"Basic dXNlcg==".to_vec()])
                .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            hostile_text(8),
        ],
    ) {
        let sent = Sent(vec![("authorization", header.clone())]);
        match bearer(&sent).unwrap() {
            Ok(token) => {
                let rest = header.strip_prefix("Bearer ").unwrap();
                prop_assert_eq!(token.as_str(), rest.trim());
                prop_assert!(!token.is_empty());
            }
            Err(e) => {
                prop_assert!(header.strip_prefix("Bearer ").is_none_or(|t| t.trim().is_empty()));
                check_answer(&e, &[(401, "invalid_token")])?;
            }
        }
        prop_assert!(bearer(&Sent::default()).is_none());
    }

    /// The access token comes from the bearer header, else the `token` cookie; a cookie on a
    /// state change (or on the socket's upgrade) needs this origin or an allowed one (403
    /// `csrf_rejected`); no credential is 401.
    #[test]
    fn fuzz_access_tokens_come_by_bearer_or_by_cookie_from_an_allowed_origin(
        authorization in proptest::option::of(prop_oneof![
            Just("Bearer abc".to_owned()),
            hostile_text(4),
        ]),
        sent in headers(),
        method in proptest::sample::select(vec![Method::Get, Method::Head, Method::Post, Method::Put, Method::Patch, Method::Delete, Method::Options]),
        always in any::<bool>(),
        allowed in "[ ,/]{0,2}(https://app\\.example)?[ /,]{0,3}(https://[a-z]{1,6}\\.example/?)?",
    ) {
        let mut sent = sent;
        sent.0.extend(authorization.clone().map(|a| ("authorization", a)));
        let url = url_with("");
        let allowed = parse_origins(&allowed);
        let origins = Origins { url: &url, allowed: &allowed, cors: None };
        let origin = sent.header("origin");
        let from_allowed = origin.as_deref().is_some_and(|o| o == ORIGIN || allowed.iter().any(|a| a == o));
        match access_token(&sent, &method, &origins, always) {
            Ok(token) => {
                if authorization.is_none() {
                    let safe = matches!(method, Method::Get | Method::Head | Method::Options);
                    prop_assert!(from_allowed || (safe && !always), "cookie token without an allowed origin");
                    prop_assert_eq!(Some(token), crate::http::cookie_in(sent.header("cookie").as_deref(), "token"));
                }
            }
            Err(e) => {
                check_answer(&e, &[(401, "unauthenticated"), (401, "invalid_token"), (403, "csrf_rejected")])?;
                if e.code() == "csrf_rejected" {
                    prop_assert!(!from_allowed);
                }
            }
        }
        prop_assert_eq!(origins.check(&sent).is_ok(), from_allowed);
    }

    /// `ALLOWED_ORIGINS` reads as trimmed origins without trailing slashes, and CORS answers only
    /// an origin of that list (never an arbitrary one reflected).
    #[test]
    fn fuzz_allowed_origins_parse_and_cors_never_reflects_others(
        list in prop_oneof![
            mutated(vec![b"https://a.example, https://b.example/ ,,".to_vec(), b" http://localhost:5173/".to_vec()])
                .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            hostile_text(10),
        ],
        origin in proptest::option::of(prop_oneof![Just("https://a.example".to_owned()), hostile_text(4)]),
    ) {
        let allowed = parse_origins(&list);
        for o in &allowed {
            prop_assert!(!o.is_empty() && o.trim_start() == o && !o.ends_with('/'), "{:?}", o);
        }
        match cors_origin(origin.clone(), &allowed) {
            Some(echoed) => {
                prop_assert!(allowed.contains(&echoed));
                prop_assert_eq!(Some(echoed), origin);
            }
            None => prop_assert!(origin.is_none_or(|o| !allowed.contains(&o))),
        }
        // Round trip: a list written out, with spaces and trailing slashes, reads back.
        let written = allowed.iter().map(|o| format!(" {o}/ ")).collect::<Vec<_>>().join(",");
        prop_assert_eq!(parse_origins(&written), allowed);
    }

    /// An application route's path parameters decode strictly: 400 `validation_failed` naming
    /// the parameter, or the decoded values (which encode back to the same value).
    #[test]
    fn fuzz_application_route_parameters_decode_or_name_the_bad_one(
        a in segment(),
        b in segment(),
    ) {
        let pattern = "/api/things/{a}/{b}";
        let path = format!("/api/things/{a}/{b}");
        let worker = UserDoWorker::new("USERDO").object_route(Method::Post, pattern);
        prop_assert!(matches!(worker.lookup(&Method::Post, &path), Ok(Matched::App(..))));
        match worker.lookup(&Method::Get, &path) {
            Err(e) => check_answer(&e, &[(405, "method_not_allowed")])?,
            Ok(_) => prop_assert!(false, "GET matched a POST route"),
        }
        match PathParams::of(pattern, &path) {
            Ok(params) => {
                prop_assert_eq!(params.get("a").map(encode), percent_decode(&a, false).map(|v| encode(&v)));
                let decoded_b = percent_decode(&b, false);
                prop_assert_eq!(params.get("b"), decoded_b.as_deref());
            }
            Err(e) => {
                check_answer(&e, &[(400, "validation_failed")])?;
                let details = &e.to_body()["error"]["details"];
                prop_assert!(details["a"].is_array() || details["b"].is_array());
            }
        }
    }
}

#[derive(Debug, Serialize, Deserialize, Validate, JsonSchema)]
struct Note {
    #[validate(length(min = 1, max = 200))]
    title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rank: Option<i64>,
    #[serde(default)]
    score: f64,
    #[serde(default)]
    done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    meta: Option<Json>,
}

impl TableRow for Note {
    const NAME: &'static str = "notes";
    fn indexes() -> Vec<userdo::table::Index> {
        vec![userdo::table::Index::on(&["rank", "createdAt"])]
    }
}

type Core = UserDo<SqliteStore, ManualClock>;

fn notes() -> Core {
    let settings = Settings::from_vars(|name| match name {
        "JWT_SECRET" => Some("a fuzz key that is at least 32 bytes long".to_owned()),
        "PBKDF2_ITERATIONS" => Some("1000".to_owned()),
        _ => None,
    })
    .unwrap();
    let core = UserDo::open(
        SqliteStore::in_memory().unwrap(),
        ManualClock::at(1_800_000_000_000),
        settings,
        USER.to_owned(),
    )
    .unwrap()
    .with_tables(Tables::new().table::<Note>(Access::ReadWrite))
    .unwrap();
    let def = core.table_def("notes").unwrap();
    for (i, title) in ["hello", "a%b", "O'Brien", "\u{e9}t\u{e9}", "x"]
        .iter()
        .enumerate()
    {
        let rank = i64::try_from(i).unwrap();
        core.insert_row(
            &def,
            json!({"title": title, "rank": rank, "score": 0.5, "done": i % 2 == 0, "meta": {"i": i}}),
        )
        .unwrap();
    }
    core
}

/// `GET /api/tables/notes?...` as the worker and the object run it: the query string of the
/// URL, the call's pairs, the query spec and the SQL over real SQLite. `Ok` is the row count.
fn table_list(core: &Core, query: &str) -> Result<usize, Error> {
    let r = Request {
        url: url_with(query),
        params: vec!["notes".to_owned()],
        headers: Sent::default(),
        body: None,
        caller: Some(claims()),
    };
    let (call, _) = run_call(Endpoint::TableList, &r)?;
    let Call::Table(TableCall::List { table, query }) = call else {
        panic!("not a table list: {call:?}");
    };
    assert_eq!(table, "notes");
    let def = core.table_def(&table)?;
    let spec =
        QuerySpec::from_query_pairs(&def, query.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let rows = core.query_rows(&def, &spec)?;
    let count = core.count_rows(&def, &spec)?;
    assert!(i64::try_from(rows.len()).unwrap() <= count);
    Ok(rows.len())
}

fn table_query_seeds() -> Vec<Vec<u8>> {
    [
        "where=title:eq:hello&orderBy=rank:desc&limit=10&offset=2",
        "where=rank:in:1,2,3&where=done:eq:true",
        "where=rank:in:[1,2]&orderBy=score",
        "where=title:startsWith:a%25b&where=title:contains:%27",
        "where=rank:eq:null&where=score:lt:1e3&orderBy=createdAt:desc",
        "where=id:ne:x&orderBy=updatedAt&orderBy=title:asc&limit=1000&offset=4294967295",
        "where=score:gte:-0.5&where=done:ne:false&limit=0",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// One `key=value` of a table query, its parts generated (known and hostile), encoded or raw.
fn table_pair() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        proptest::sample::select(vec![
            "title",
            "rank",
            "score",
            "done",
            "meta",
            "id",
            "createdAt",
            "updatedAt"
        ])
        .prop_map(str::to_owned),
        hostile_text(3),
    ];
    let op = prop_oneof![
        proptest::sample::select(vec![
            "eq",
            "ne",
            "gt",
            "gte",
            "lt",
            "lte",
            "in",
            "contains",
            "startsWith",
            "asc",
            "desc"
        ])
        .prop_map(str::to_owned),
        hostile_text(2),
    ];
    let value = prop_oneof![
        hostile_text(6),
        any_json(2).prop_map(|v| v.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
    ];
    let key = proptest::sample::select(vec![
        "where", "where", "where", "orderBy", "limit", "offset",
    ]);
    (
        key,
        field,
        op,
        value,
        proptest::option::of(hostile_text(2)),
        any::<bool>(),
    )
        .prop_map(|(key, field, op, value, extra, raw)| {
            let value = match key {
                "where" => format!("{field}:{op}:{value}"),
                "orderBy" => format!("{field}:{op}"),
                _ => value,
            };
            let value = value + &extra.unwrap_or_default();
            if raw {
                format!("{key}={value}")
            } else {
                format!("{key}={}", encode(&value))
            }
        })
}

fn table_query() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => mutated(table_query_seeds()).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        3 => proptest::collection::vec(table_pair(), 1..5).prop_map(|p| p.join("&")),
        1 => hostile_text(16),
    ]
}

/// A table query string, mutated from valid ones or generated, is answered with rows or 400
/// `invalid_query`: never a 500 from SQLite, never a panic.
#[test]
fn fuzz_table_query_strings_give_rows_or_invalid_query() {
    let core = notes();
    let mut runner = TestRunner::new(config(384));
    runner
        .run(&table_query(), |q| {
            if let Err(e) = table_list(&core, &q) {
                check_answer(&e, &[(400, "invalid_query")])?;
            }
            Ok(())
        })
        .unwrap();
}

fn valid_filter() -> impl Strategy<Value = String> {
    let text = "[a-zA-Z0-9 %&=+:,'\"\u{e9}]{0,8}";
    prop_oneof![
        (
            proptest::sample::select(vec![
                "eq",
                "ne",
                "gt",
                "gte",
                "lt",
                "lte",
                "contains",
                "startsWith"
            ]),
            text
        )
            .prop_map(|(op, v)| format!("title:{op}:{v}")),
        (
            proptest::sample::select(vec!["eq", "ne", "gt", "gte", "lt", "lte"]),
            any::<i64>()
        )
            .prop_map(|(op, v)| format!("rank:{op}:{v}")),
        proptest::collection::vec(any::<i64>(), 1..5).prop_map(|v| format!(
            "rank:in:{}",
            v.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        )),
        (
            proptest::sample::select(vec!["eq", "lt", "gte"]),
            -1e9f64..1e9
        )
            .prop_map(|(op, v)| format!("score:{op}:{v}")),
        any::<bool>().prop_map(|b| format!("done:eq:{b}")),
        Just("rank:eq:null".to_owned()),
    ]
}

/// Valid queries, encoded as a client encodes them, are answered with rows.
#[test]
fn fuzz_valid_table_queries_are_answered() {
    let core = notes();
    let mut runner = TestRunner::new(config(192));
    let strategy = (
        proptest::collection::vec(valid_filter(), 0..4),
        proptest::collection::vec(
            (
                proptest::sample::select(vec!["title", "rank", "score", "done", "createdAt", "id"]),
                any::<bool>(),
            ),
            0..3,
        ),
        proptest::option::of(0u32..=1000),
        proptest::option::of(any::<u32>()),
    );
    runner
        .run(&strategy, |(filters, order, limit, offset)| {
            let mut pairs: Vec<String> = filters
                .iter()
                .map(|f| format!("where={}", encode(f)))
                .collect();
            pairs.extend(
                order
                    .iter()
                    .map(|(f, desc)| format!("orderBy={f}:{}", if *desc { "desc" } else { "asc" })),
            );
            pairs.extend(limit.map(|l| format!("limit={l}")));
            pairs.extend(offset.map(|o| format!("offset={o}")));
            let query = pairs.join("&");
            let rows = table_list(&core, &query);
            prop_assert!(rows.is_ok(), "{}: {:?}", query, rows);
            Ok(())
        })
        .unwrap();
}
