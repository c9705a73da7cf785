//! Fuzzing (issue 13), for the parts of the worker outside the router: the route table's path
//! matching, the error mapping every answer goes through, the header helpers of [`crate::http`]
//! and the WebSocket frame parser. Generated and mutated input; no panic, and every refusal is
//! the contract's error. The router's parsers are fuzzed in `router/fuzz.rs`; the shared checks
//! and strategies are [`userdo::fuzzing`].
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{Value as Json, json};
use userdo::fuzzing::{
    CONTRACT_ERRORS, any_json, check_error_answer, check_error_body, config, deep_json,
    hostile_bytes, hostile_text, mutated, mutated_text,
};
use userdo::{Error, realtime, rpc};
use worker::WebSocketIncomingMessage;

use crate::http::{ErrorParts, cookie_in, declared_length, error_parts, json_media_type};
use crate::object::sockets::{MAX_FRAME_BYTES, read_frame};
use crate::routes::{Endpoint, Lookup, Verb, captures, lookup};

/// The error as the worker answers it (status, body, `Retry-After`) is the contract's, and one
/// of `allowed`.
pub(crate) fn check_answer(error: &Error, allowed: &[(u16, &str)]) -> Result<(), TestCaseError> {
    let ErrorParts {
        status,
        body,
        retry_after,
    } = error_parts(error);
    check_error_answer(status, &body, allowed)?;
    prop_assert_eq!(retry_after.is_some(), status == 429, "{:?}", error);
    Ok(())
}

const VERBS: [Verb; 5] = [Verb::Get, Verb::Post, Verb::Put, Verb::Patch, Verb::Delete];

/// Every path of the table with its parameters filled in: what mutated paths start from.
fn valid_paths() -> Vec<&'static str> {
    vec![
        "/api/signup",
        "/api/sessions/abc",
        "/api/sessions/revoke-others",
        "/api/kv",
        "/api/kv/a%2Fb",
        "/api/tables/notes",
        "/api/tables/notes/0123abc",
        "/api/ws",
        "/data",
        "/api/password-reset/confirm",
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        mutated_text(&valid_paths()),
        hostile_text(16).prop_map(|p| format!("/{p}")),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    /// A path finds its endpoint (whose pattern, filled with the captured segments, gives the
    /// path back), or one of another method (405), or none (404).
    #[test]
    fn fuzz_lookup_finds_exactly_the_endpoint_whose_pattern_fits(
        path in path(),
        verb in proptest::sample::select(VERBS.to_vec()),
    ) {
        let fitting: Vec<Endpoint> = Endpoint::ALL
            .iter()
            .copied()
            .filter(|e| captures(e.route().path, &path).is_some())
            .collect();
        match lookup(verb, &path) {
            Lookup::Found(endpoint, params) => {
                let route = endpoint.route();
                prop_assert_eq!(route.verb, verb);
                prop_assert_eq!(params.len(), route.params().count());
                prop_assert!(params.iter().all(|p| !p.is_empty() && !p.contains('/')));
                let mut filled = params.iter();
                let rebuilt: Vec<&str> = route
                    .path
                    .split('/')
                    .map(|s| if s.starts_with('{') { filled.next().copied().unwrap() } else { s })
                    .collect();
                prop_assert_eq!(rebuilt.join("/"), path);
            }
            Lookup::OtherMethod => {
                prop_assert!(!fitting.is_empty());
                prop_assert!(fitting.iter().all(|e| e.route().verb != verb));
            }
            Lookup::Missing => prop_assert!(fitting.is_empty()),
        }
    }

    /// Every error, whatever its message, is answered with the contract's status and body;
    /// internals never reach the body, and only 429 carries `Retry-After`.
    #[test]
    fn fuzz_every_error_is_answered_in_the_contract_shape(
        text in hostile_text(12),
        fields in proptest::collection::btree_map(
            hostile_text(4),
            proptest::collection::vec(hostile_text(6).prop_map(|m| format!("m{m}")), 1..3),
            1..4,
        ),
        n in any::<u64>(),
    ) {
        let limit = usize::try_from(n % (1 << 40)).unwrap();
        let text = if text.trim().is_empty() { format!("x{text}") } else { text };
        let errors = vec![
            Error::InvalidJson(text.clone()),
            Error::Validation(fields.clone()),
            Error::InvalidQuery(text.clone()),
            Error::Unauthenticated,
            Error::InvalidCredentials,
            Error::InvalidToken,
            Error::SessionRevoked,
            Error::Forbidden(text.clone()),
            Error::CsrfRejected,
            Error::NotFound(text.clone()),
            Error::MethodNotAllowed,
            Error::Conflict(text.clone()),
            Error::EmailTaken,
            Error::PayloadTooLarge { limit },
            Error::UpgradeRequired,
            Error::UnsupportedMediaType,
            Error::RateLimited { retry_after_secs: n },
            Error::Config(text.clone()),
            Error::internal(text.clone()),
        ];
        for error in &errors {
            check_answer(error, CONTRACT_ERRORS)?;
            let parts = error_parts(error);
            if parts.status == 500 {
                prop_assert_eq!(&parts.body["error"]["message"], "internal error");
            }
            if let Error::RateLimited { retry_after_secs } = error {
                prop_assert_eq!(parts.retry_after, Some(retry_after_secs.to_string()));
            }
        }
    }

    /// A `Cookie` header, however malformed, gives a cookie's value or none, never an empty one.
    #[test]
    fn fuzz_cookie_headers_give_a_value_or_none(
        header in prop_oneof![
            mutated_text(&[
                "token=eyJ.a-b_c.d; refreshToken=urt.abc.def",
                "a=1;token=x;token=y",
                "token=\"quoted\"; x=y",
                " token = spaced ;",
            ]),
            hostile_text(16),
        ],
        name in prop_oneof![Just("token".to_owned()), Just("refreshToken".to_owned()), hostile_text(3)],
    ) {
        if let Some(value) = cookie_in(Some(&header), &name) {
            prop_assert!(!value.is_empty());
            prop_assert!(header.contains(&value));
        }
        prop_assert_eq!(cookie_in(None, &name), None);
    }

    /// A header made of `name=value` pairs gives back the first value of each name.
    #[test]
    fn fuzz_cookie_values_round_trip(
        pairs in proptest::collection::vec(("[a-zA-Z][a-zA-Z0-9_-]{0,8}", "[A-Za-z0-9._~-]{1,40}"), 1..6),
        spaces in "[ ]{0,2}",
    ) {
        let header = pairs
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(&format!(";{spaces}"));
        for (name, _) in &pairs {
            let first = pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
            prop_assert_eq!(cookie_in(Some(&header), name), first, "{}", header);
        }
    }

    /// `Content-Type` is JSON exactly when its essence is `application/json` (any case,
    /// parameters allowed); anything else is 415.
    #[test]
    fn fuzz_content_types_are_json_or_415(
        value in prop_oneof![
            mutated_text(&["application/json", "application/json; charset=utf-8", "APPLICATION/Json ;x=y"]),
            hostile_text(8),
        ],
    ) {
        let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match json_media_type(Some(&value)) {
            Ok(()) => prop_assert_eq!(essence, "application/json"),
            Err(e) => {
                prop_assert_ne!(essence, "application/json");
                check_answer(&e, &[(415, "unsupported_media_type")])?;
            }
        }
    }

    /// A declared `Content-Length` passes only as a whole number within the limit; else 413.
    #[test]
    fn fuzz_declared_lengths_within_the_limit_pass_and_others_are_413(
        value in prop_oneof![
            (0usize..2048).prop_map(|n| n.to_string()),
            mutated_text(&["1024", " 1025 ", "0", "18446744073709551616", "-1", "1e3"]),
            hostile_text(6),
        ],
    ) {
        let limit = 1024;
        let fits = value.trim().parse::<usize>().is_ok_and(|n| n <= limit);
        match declared_length(Some(&value), limit) {
            Ok(()) => prop_assert!(fits, "{:?}", value),
            Err(e) => {
                prop_assert!(!fits, "{:?}", value);
                check_answer(&e, &[(413, "payload_too_large")])?;
            }
        }
    }
}

/// An application's methods, as `methods!` declares them.
#[derive(Debug, Deserialize)]
#[serde(tag = "method", content = "params")]
#[allow(dead_code)]
enum Call {
    #[serde(rename = "add")]
    Add { a: i64, b: i64 },
    #[serde(rename = "greet")]
    Greet {
        name: String,
        #[serde(default)]
        loud: bool,
    },
    #[serde(rename = "ping")]
    Ping,
}

/// What the object answers a frame, up to running the method: the error frame of a refusal
/// (checked for its shape), or the call.
fn frame_answer(message: WebSocketIncomingMessage) -> Result<Option<Call>, TestCaseError> {
    let refusal = match read_frame(message) {
        Ok((id, frame)) => match rpc::parse_call::<Call>(&frame.method, frame.params) {
            Ok(call) => return Ok(Some(call)),
            Err(e) => {
                check_answer(&e, &[(404, "not_found"), (400, "validation_failed")])?;
                (id, e)
            }
        },
        Err((id, e)) => {
            check_answer(
                &e,
                &[
                    (400, "invalid_json"),
                    (400, "validation_failed"),
                    (413, "payload_too_large"),
                ],
            )?;
            (id, e)
        }
    };
    let (id, error) = refusal;
    let frame: Json = serde_json::from_str(&realtime::error_frame(&id, &error)).unwrap();
    let keys: Vec<&str> = frame
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    prop_assert_eq!(keys, ["error", "id"]);
    prop_assert_eq!(&frame["id"], &id);
    check_error_body(&json!({ "error": frame["error"] }))?;
    Ok(None)
}

fn frame_seeds() -> Vec<Vec<u8>> {
    [
        r#"{"id":1,"method":"add","params":{"a":1,"b":2}}"#,
        r#"{"id":"x","method":"greet","params":{"name":"n","loud":true}}"#,
        r#"{"method":"ping"}"#,
        r#"{"id":null,"method":"nope","params":[]}"#,
        r#"{"id":{"nested":[1,2]},"method":"add","params":{"a":"1","b":null}}"#,
        "ping",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

proptest! {
    #![proptest_config(config(512))]

    /// A text frame, generated or mutated from valid ones, is a call or a refusal in the
    /// contract's shape (`{id, error}`), never a panic.
    #[test]
    fn fuzz_text_frames_are_a_call_or_an_error_frame(
        text in prop_oneof![
            3 => mutated(frame_seeds()).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            1 => hostile_text(24),
            1 => any_json(3).prop_map(|v| v.to_string()),
            1 => (1usize..400, any::<bool>())
                .prop_map(|(depth, objects)| String::from_utf8(deep_json(depth, objects)).unwrap()),
        ],
    ) {
        frame_answer(WebSocketIncomingMessage::String(text))?;
    }

    /// A binary frame is refused as `invalid_json` (frames are JSON text).
    #[test]
    fn fuzz_binary_frames_are_refused(bytes in prop_oneof![mutated(frame_seeds()), hostile_bytes(24)]) {
        let (id, e) = read_frame(WebSocketIncomingMessage::Binary(bytes)).unwrap_err();
        prop_assert_eq!(id, Json::Null);
        check_answer(&e, &[(400, "invalid_json")])?;
    }

    /// A valid frame reads back as what was sent.
    #[test]
    fn fuzz_valid_frames_round_trip(
        id in any_json(2),
        method in "[a-zA-Z]{1,12}",
        params in any_json(3),
    ) {
        let text = json!({ "id": id, "method": method, "params": params }).to_string();
        // What serde_json reads back of the numbers (its default parse may differ from the
        // written float in the last digit), so that the comparison is of the frame parser.
        let sent: Json = serde_json::from_str(&text).unwrap();
        let (read_id, frame) = read_frame(WebSocketIncomingMessage::String(text)).unwrap();
        prop_assert_eq!(&read_id, &sent["id"]);
        prop_assert_eq!(&frame.id, &sent["id"]);
        prop_assert_eq!(frame.method, method);
        prop_assert_eq!(&frame.params, &sent["params"]);
    }
}

proptest! {
    #![proptest_config(config(16))]

    /// Frames around the 1 MiB limit: up to it they are read, past it refused as 413 with no
    /// id, whatever they hold (text or binary).
    #[test]
    fn fuzz_frames_past_one_mebibyte_are_refused_before_parsing(
        delta in -64i64..64,
        binary in any::<bool>(),
        valid in any::<bool>(),
    ) {
        let size = usize::try_from(i64::try_from(MAX_FRAME_BYTES).unwrap() + delta).unwrap();
        let head = r#"{"id":7,"method":"ping","params":""#;
        let tail = r#""}"#;
        let mut text = String::with_capacity(size);
        text.push_str(head);
        // A control character is not allowed in a JSON string.
        let fill = if valid { 'x' } else { '\u{1}' };
        text.extend(std::iter::repeat_n(fill, size - head.len() - tail.len()));
        text.push_str(tail);
        let message = if binary {
            WebSocketIncomingMessage::Binary(text.into_bytes())
        } else {
            WebSocketIncomingMessage::String(text)
        };
        match read_frame(message) {
            Ok((id, _)) => {
                prop_assert!(size <= MAX_FRAME_BYTES && !binary && valid);
                prop_assert_eq!(id, json!(7));
            }
            Err((id, e)) if size > MAX_FRAME_BYTES => {
                prop_assert_eq!(id, Json::Null);
                check_answer(&e, &[(413, "payload_too_large")])?;
            }
            Err((_, e)) => check_answer(&e, &[(400, "invalid_json")])?,
        }
    }
}
