//! What the fuzz properties of this workspace share (issue 13): how many cases they run, the
//! contract's error shape they check every failure against, and input made by mutating valid
//! input (bytes flipped, inserted, deleted, duplicated).
//!
//! Host tests only: compiled for this crate's tests and, with the `fuzzing` feature, for the
//! tests of `worker-factory`. A property runs its short count of cases by default (the run of
//! `make test`); `USERDO_FUZZ_SCALE=K` runs K times as many from a random seed (`make fuzz`).
//! `PROPTEST_RNG_SEED` fixes the seed of either run.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::Value as Json;

use crate::error::Error;

/// The seed of the short run, so that `make test` is deterministic.
const SHORT_RUN_SEED: u64 = 0x00F0_2213;

/// The configuration of a property whose short run is `short` cases.
pub fn config(short: u32) -> Config {
    let scale = std::env::var("USERDO_FUZZ_SCALE").ok().map(|k| {
        k.parse::<u32>()
            .expect("USERDO_FUZZ_SCALE is a whole number")
    });
    let rng_seed = match std::env::var("PROPTEST_RNG_SEED") {
        Ok(seed) => RngSeed::Fixed(seed.parse().expect("PROPTEST_RNG_SEED is a whole number")),
        Err(_) if scale.is_some() => RngSeed::Random,
        Err(_) => RngSeed::Fixed(SHORT_RUN_SEED),
    };
    Config {
        cases: short.saturating_mul(scale.unwrap_or(1).max(1)),
        failure_persistence: None,
        rng_seed,
        ..Config::default()
    }
}

/// Every status and code of the contract (API.md's list, and 426 `upgrade_required` of a
/// WebSocket GET without an upgrade, which the README names).
pub const CONTRACT_ERRORS: &[(u16, &str)] = &[
    (400, "invalid_json"),
    (400, "validation_failed"),
    (400, "invalid_query"),
    (401, "unauthenticated"),
    (401, "invalid_credentials"),
    (401, "invalid_token"),
    (401, "session_revoked"),
    (403, "forbidden"),
    (403, "csrf_rejected"),
    (404, "not_found"),
    (405, "method_not_allowed"),
    (409, "email_taken"),
    (409, "conflict"),
    (413, "payload_too_large"),
    (415, "unsupported_media_type"),
    (426, "upgrade_required"),
    (429, "rate_limited"),
    (500, "internal"),
];

/// The error's answer is the contract's: its status and code are one of `allowed` (which input
/// can cause which), and its body has the shape of [`check_error_body`].
pub fn check_error(error: &Error, allowed: &[(u16, &str)]) -> Result<(), TestCaseError> {
    check_error_answer(error.status(), &error.to_body(), allowed)
}

/// As [`check_error`], for a status and body as the runtime sends them.
pub fn check_error_answer(
    status: u16,
    body: &Json,
    allowed: &[(u16, &str)],
) -> Result<(), TestCaseError> {
    check_error_body(body)?;
    let code = body["error"]["code"].as_str().unwrap_or_default();
    prop_assert!(
        CONTRACT_ERRORS.contains(&(status, code)),
        "{} {} is not in the contract",
        status,
        code
    );
    prop_assert!(
        allowed.contains(&(status, code)),
        "{} {} is not an answer to this input (expected one of {:?}): {}",
        status,
        code,
        allowed,
        body
    );
    Ok(())
}

/// `{"error": {"code", "message", "details"?}}`: a snake_case code, a message, and `details`
/// (field -> non-empty list of messages) exactly for `validation_failed`; nothing else.
pub fn check_error_body(body: &Json) -> Result<(), TestCaseError> {
    let outer = body.as_object();
    prop_assert!(
        outer.is_some_and(|o| o.len() == 1),
        "not {{error}}: {}",
        body
    );
    let error = body["error"].as_object();
    prop_assert!(error.is_some(), "error is not an object: {}", body);
    let error = error.unwrap();
    prop_assert!(
        error
            .keys()
            .all(|k| matches!(k.as_str(), "code" | "message" | "details")),
        "unexpected keys: {}",
        body
    );
    let code = error.get("code").and_then(Json::as_str).unwrap_or_default();
    let snake = !code.is_empty()
        && code.split('_').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    prop_assert!(snake, "code is not snake_case: {}", body);
    let message = error.get("message").and_then(Json::as_str);
    prop_assert!(
        message.is_some_and(|m| !m.trim().is_empty()),
        "no message: {}",
        body
    );
    match error.get("details") {
        None => prop_assert!(code != "validation_failed", "no details: {}", body),
        Some(details) => {
            prop_assert_eq!(code, "validation_failed", "details on {}", body);
            let fields = details.as_object();
            prop_assert!(
                fields.is_some_and(|f| !f.is_empty()),
                "details is not a non-empty object: {}",
                body
            );
            for messages in fields.unwrap().values() {
                let list = messages.as_array();
                prop_assert!(
                    list.is_some_and(|l| !l.is_empty()
                        && l.iter().all(|m| m.as_str().is_some_and(|m| !m.is_empty()))),
                    "details lists no messages: {}",
                    body
                );
            }
        }
    }
    Ok(())
}

/// Pieces that parsers treat specially: escapes (good, malformed and decoding to bytes that are
/// not UTF-8), JSON punctuation and special values, separators of queries, cookies and paths,
/// and bytes that are not UTF-8.
pub const TOKENS: &[&[u8]] = &[
    b"%",
    b"%G1",
    b"%1",
    b"%00",
    b"%ff",
    b"%FF",
    b"%C3",
    b"%C3%A9",
    b"%ED%A0%80",
    b"%2F",
    b"%25",
    b"%3D",
    b"%26",
    b"+",
    b"=",
    b"&",
    b";",
    b",",
    b":",
    b"/",
    b"//",
    b"..",
    b"?",
    b"#",
    b"\"",
    b"\\",
    b"\\u0000",
    b"\\ud800",
    b"\\uDFFF",
    b"{",
    b"}",
    b"[",
    b"]",
    b"null",
    b"true",
    b"-0",
    b"1e999",
    b"-1",
    b"4294967296",
    b"18446744073709551616",
    b"0.5",
    b"\0",
    b"\r\n",
    b"\t",
    b" ",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xf0\x9f\x98",
    b"\xe2\x80\xae",
    b"__proto__",
    b"__",
    b"eq",
    b"in",
    b"asc",
    b"desc",
    b"Bearer ",
    b"token=",
    b"refreshToken=",
];

/// One edit of a mutation; positions are taken modulo the input's length.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Flips one bit of a byte.
    Flip(usize, u8),
    /// Inserts bytes.
    Insert(usize, Vec<u8>),
    /// Deletes up to this many bytes.
    Delete(usize, usize),
    /// Repeats up to this many bytes right after themselves.
    Duplicate(usize, usize),
    /// Overwrites bytes.
    Overwrite(usize, Vec<u8>),
    /// Cuts the input short.
    Truncate(usize),
}

fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => proptest::sample::select(TOKENS).prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(any::<u8>(), 1..6),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Edit::Flip(at, 1 << bit)),
        (any::<usize>(), piece()).prop_map(|(at, p)| Edit::Insert(at, p)),
        (any::<usize>(), 1usize..16).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), 1usize..64).prop_map(|(at, n)| Edit::Duplicate(at, n)),
        (any::<usize>(), piece()).prop_map(|(at, p)| Edit::Overwrite(at, p)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

/// `input` with `edits` applied in order.
pub fn mutate(input: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = input.to_vec();
    for edit in edits {
        let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
        match edit {
            Edit::Flip(i, bit) if !out.is_empty() => {
                let i = i % out.len();
                out[i] ^= bit;
            }
            Edit::Flip(..) => {}
            Edit::Insert(i, piece) => {
                let i = at(*i, out.len());
                out.splice(i..i, piece.iter().copied());
            }
            Edit::Delete(i, n) => {
                let i = at(*i, out.len());
                let end = (i + n).min(out.len());
                out.drain(i..end);
            }
            Edit::Duplicate(i, n) => {
                let i = at(*i, out.len());
                let end = (i + n).min(out.len());
                let copy = out[i..end].to_vec();
                out.splice(end..end, copy);
            }
            Edit::Overwrite(i, piece) => {
                let i = at(*i, out.len());
                let end = (i + piece.len()).min(out.len());
                out.splice(i..end, piece.iter().copied());
            }
            Edit::Truncate(i) => {
                let i = at(*i, out.len());
                out.truncate(i);
            }
        }
    }
    out
}

/// One of `seeds` (valid input), mutated by up to six edits (none, sometimes: the valid input
/// itself).
pub fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::sample::select(seeds),
        proptest::collection::vec(edit(), 0..7),
    )
        .prop_map(|(seed, edits)| mutate(&seed, &edits))
}

/// As [`mutated`], as text (bytes that are not UTF-8 become U+FFFD), for parsers of `&str`.
pub fn mutated_text(seeds: &[&str]) -> impl Strategy<Value = String> + use<> {
    mutated(seeds.iter().map(|s| s.as_bytes().to_vec()).collect())
        .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Text from [`TOKENS`] and arbitrary characters, up to `max` pieces: what a generated query,
/// path segment or header value is made of.
pub fn hostile_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            2 => proptest::sample::select(TOKENS)
                .prop_map(|t| String::from_utf8_lossy(t).into_owned()),
            2 => "[a-zA-Z0-9_.~-]{1,8}",
            1 => any::<char>().prop_map(String::from),
        ],
        0..max,
    )
    .prop_map(|pieces| pieces.concat())
}

/// Bytes from [`TOKENS`] and arbitrary bytes (often not UTF-8), up to `max` pieces.
pub fn hostile_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(piece(), 0..max).prop_map(|pieces| pieces.concat())
}

/// Any JSON value, nested up to `depth` levels: the fields of a mutated body.
pub fn any_json(depth: u32) -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)),
        hostile_text(8).prop_map(Json::String),
        "[a-z]{0,12}".prop_map(Json::String),
    ];
    leaf.prop_recursive(depth, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Json::Array),
            proptest::collection::btree_map("[a-zA-Z_]{0,10}", inner, 0..8)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON nested `depth` levels deep, as text: `[[[...]]]` or `{"a":{"a":...}}` (serde_json
/// refuses more than 128 levels, and the refusal must be an answer, not a stack overflow).
pub fn deep_json(depth: usize, objects: bool) -> Vec<u8> {
    let (open, close): (&[u8], &[u8]) = if objects {
        (b"{\"a\":", b"}")
    } else {
        (b"[", b"]")
    };
    let mut out = open.repeat(depth);
    out.extend_from_slice(b"1");
    out.extend_from_slice(&close.repeat(depth));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_at_positions_taken_modulo_the_length() {
        let abc = b"abcdef".as_slice();
        assert_eq!(mutate(abc, &[Edit::Delete(8, 2)]), b"adef");
        assert_eq!(mutate(abc, &[Edit::Duplicate(0, 2)]), b"ababcdef");
        assert_eq!(mutate(abc, &[Edit::Insert(6, b"%".to_vec())]), b"abcdef%");
        assert_eq!(
            mutate(abc, &[Edit::Overwrite(5, b"XY".to_vec())]),
            b"abcdeXY"
        );
        assert_eq!(mutate(abc, &[Edit::Truncate(3)]), b"abc");
        assert_eq!(mutate(b"", &[Edit::Flip(3, 1), Edit::Delete(1, 1)]), b"");
        assert_eq!(deep_json(2, true), b"{\"a\":{\"a\":1}}");
    }

    #[test]
    fn the_error_bodies_of_the_contract_pass_the_check_and_others_do_not() {
        for e in [
            Error::field("email", "is required"),
            Error::InvalidQuery("x".into()),
            Error::internal("SELECT"),
        ] {
            check_error(&e, CONTRACT_ERRORS).unwrap();
        }
        for bad in [
            serde_json::json!({"error": {"code": "x"}}),
            serde_json::json!({"error": {"code": "Bad Code", "message": "m"}}),
            serde_json::json!({"error": {"code": "validation_failed", "message": "m"}}),
            serde_json::json!({"error": {"code": "x", "message": "m", "details": {}}}),
            serde_json::json!({"error": {"code": "x", "message": "m"}, "stack": "..."}),
        ] {
            assert!(check_error_body(&bad).is_err(), "{bad}");
        }
    }
}
