//! Fuzzing (issue 13) of the core's parsers: request bodies ([`api::parse_body`], with the
//! per-field repair of `parse.rs`), application calls ([`rpc::parse_call`]), table rows and
//! patches, and the table query string ([`QuerySpec::from_query_pairs`]) run over real SQLite.
//! Generated and mutated input; no panic, and every refusal is the contract's 400 (or 413)
//! naming what is wrong. The worker's side (the URL, headers, frames) is fuzzed in
//! `worker-factory`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use validator::Validate;

use crate::api::{
    self, ChangePasswordRequest, Credentials, DeleteAccountRequest, RefreshRequest, ResetConfirm,
    ResetRequest, VerificationConfirm,
};
use crate::error::Error;
use crate::fuzzing::{
    any_json, check_error, config, deep_json, hostile_bytes, hostile_text, mutated,
};
use crate::rpc::{self, RpcRequest};
use crate::table::{Access, QuerySpec, TableRow, Tables};
use crate::tests::support::{TestObject, object};
use crate::{email, token};

const BODY_ERRORS: &[(u16, &str)] = &[(400, "invalid_json"), (400, "validation_failed")];

/// The valid bodies of every auth endpoint and of `/api/rpc`.
fn body_seeds() -> Vec<Json> {
    let token = format!("upr.{}.{}", "a".repeat(64), "B".repeat(43));
    vec![
        json!({"email": "Me@Example.com", "password": "correct horse battery"}),
        json!({"refreshToken": token}),
        json!({"currentPassword": "correct horse battery", "newPassword": "another good one"}),
        json!({"email": "me@example.com"}),
        json!({"token": token, "newPassword": "another good one"}),
        json!({"token": token}),
        json!({"password": "correct horse battery"}),
        json!({"method": "add", "params": {"a": 1, "b": 2}}),
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let seeds: Vec<Vec<u8>> = body_seeds()
        .iter()
        .map(|v| v.to_string().into_bytes())
        .collect();
    prop_oneof![
        4 => mutated(seeds),
        2 => field_mutated(),
        1 => any_json(4).prop_map(|v| v.to_string().into_bytes()),
        1 => hostile_bytes(24),
        1 => (1usize..400, any::<bool>()).prop_map(|(d, o)| deep_json(d, o)),
        1 => (0usize..3, 1000usize..70_000).prop_map(|(field, n)| {
            let name = ["password", "email", "token"][field];
            json!({ name: "x".repeat(n), "newPassword": "y".repeat(n) }).to_string().into_bytes()
        }),
    ]
}

/// A valid body with fields removed, replaced by any JSON, or added.
fn field_mutated() -> impl Strategy<Value = Vec<u8>> {
    let names = prop_oneof![
        proptest::sample::select(vec![
            "email",
            "password",
            "refreshToken",
            "currentPassword",
            "newPassword",
            "token",
            "method",
            "params",
        ])
        .prop_map(str::to_owned),
        hostile_text(3),
    ];
    (
        proptest::sample::select(body_seeds()),
        proptest::collection::vec((names, proptest::option::of(any_json(3))), 1..4),
    )
        .prop_map(|(mut seed, edits)| {
            let object = seed.as_object_mut().unwrap();
            for (name, value) in edits {
                match value {
                    Some(v) => object.insert(name, v),
                    None => object.remove(&name),
                };
            }
            seed.to_string().into_bytes()
        })
}

/// Parses `bytes` as `T` and checks the answer: a refusal is `invalid_json` exactly when the
/// bytes are not a JSON object, else `validation_failed` naming only fields of `T`.
fn check_body<T: DeserializeOwned + Validate>(
    bytes: &[u8],
    fields: &[&str],
) -> Result<(), TestCaseError> {
    let Err(e) = api::parse_body::<T>(bytes) else {
        return Ok(());
    };
    check_error(&e, BODY_ERRORS)?;
    let is_object = serde_json::from_slice::<Json>(bytes).is_ok_and(|v| v.is_object());
    prop_assert_eq!(e.code() == "invalid_json", !is_object, "{}", e);
    if let Error::Validation(details) = &e {
        for field in details.keys() {
            prop_assert!(
                fields.contains(&field.as_str()) || field == "body",
                "{} is not a field of the body: {:?}",
                field,
                details
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    /// Every request body, whatever its bytes, parses or is 400 `invalid_json` (not a JSON
    /// object) or `validation_failed` (with details on the body's own fields).
    #[test]
    fn fuzz_request_bodies_parse_or_are_400(bytes in body()) {
        check_body::<Credentials>(&bytes, &["email", "password"])?;
        check_body::<RefreshRequest>(&bytes, &["refreshToken"])?;
        check_body::<ChangePasswordRequest>(&bytes, &["currentPassword", "newPassword"])?;
        check_body::<ResetRequest>(&bytes, &["email"])?;
        check_body::<ResetConfirm>(&bytes, &["token", "newPassword"])?;
        check_body::<VerificationConfirm>(&bytes, &["token"])?;
        check_body::<DeleteAccountRequest>(&bytes, &["password"])?;
        check_body::<RpcRequest>(&bytes, &["method", "params"])?;
    }

    /// Normalising an email twice gives what normalising it once gave: the email names the
    /// user's object, so the address a user is shown must find the same object again.
    #[test]
    fn fuzz_email_normalisation_is_idempotent(
        raw in prop_oneof![
            (
                proptest::collection::vec(prop_oneof![
                    "[a-zA-Z0-9._+-]{1,4}",
                    proptest::sample::select(vec![
                        "\u{130}", "\u{131}", "\u{212a}", "\u{212b}", "\u{1e9e}", "\u{df}", "\u{3a3}",
                        "\u{301}", "\u{30a}", "\u{307}", "A\u{30a}", "\u{c5}", "\u{fb01}", "\u{1f0}",
                        "\u{390}", "\u{1e9b}\u{323}", "\u{2126}", "\u{345}", "\u{10400}",
                    ]).prop_map(str::to_owned),
                ], 1..6),
                "[a-zA-Z0-9-]{1,8}\\.[a-z]{2,4}",
            ).prop_map(|(local, domain)| format!(" {}@{domain}", local.concat())),
            hostile_text(8),
            any::<String>(),
        ],
    ) {
        match email::normalize(&raw) {
            Ok(once) => prop_assert_eq!(email::normalize(&once).ok(), Some(once)),
            Err(e) => check_error(&e, &[(400, "validation_failed")])?,
        }
    }
}

/// An application's calls, as `methods!` declares them.
#[derive(Debug, Deserialize)]
#[serde(tag = "method", content = "params")]
#[allow(dead_code)]
enum Call {
    #[serde(rename = "add")]
    Add { a: i64, b: i64 },
    #[serde(rename = "rename")]
    Rename {
        id: String,
        title: String,
        #[serde(default)]
        tags: Vec<String>,
        at: Option<u32>,
    },
    #[serde(rename = "nested")]
    Nested { inner: Inner, list: Vec<Inner> },
    #[serde(rename = "ping")]
    Ping,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Inner {
    flag: bool,
    n: f64,
}

proptest! {
    #![proptest_config(config(512))]

    /// A call parses, or its method is unknown (404), or its parameters are listed as
    /// `params.{field}` (400 `validation_failed`).
    #[test]
    fn fuzz_rpc_calls_parse_or_name_their_parameters(
        method in prop_oneof![
            proptest::sample::select(vec!["add", "rename", "nested", "ping"]).prop_map(str::to_owned),
            hostile_text(3),
        ],
        params in prop_oneof![
            any_json(4),
            Just(json!({"id": "x", "title": "t", "tags": ["a"], "at": 5})),
            Just(json!({"inner": {"flag": true, "n": 1.5}, "list": [{"flag": "no"}, 5]})),
            (0usize..2000).prop_map(|n| json!({"a": 1, "b": 2, "list": vec![json!({"flag": 1}); n]})),
        ],
    ) {
        if let Err(e) = rpc::parse_call::<Call>(&method, params) {
            check_error(&e, &[(404, "not_found"), (400, "validation_failed")])?;
            if let Error::Validation(details) = &e {
                prop_assert!(details.len() <= 32, "{} fields listed", details.len());
                for field in details.keys() {
                    prop_assert!(field.starts_with("params") || field == "method", "{}", field);
                }
            }
        }
    }
}

#[derive(Debug, Serialize, Deserialize, Validate, JsonSchema)]
struct Todo {
    #[validate(length(min = 1, max = 200))]
    title: String,
    #[serde(default)]
    done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(range(min = 0, max = 10))]
    priority: Option<i64>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    meta: Option<Json>,
}

impl TableRow for Todo {
    const NAME: &'static str = "todos";
}

fn todos() -> TestObject {
    object(&"a".repeat(64))
        .with_tables(Tables::new().table::<Todo>(Access::ReadWrite))
        .unwrap()
}

fn row() -> impl Strategy<Value = Json> {
    let names = prop_oneof![
        proptest::sample::select(vec![
            "title",
            "done",
            "priority",
            "tags",
            "meta",
            "id",
            "createdAt",
            "updatedAt",
        ])
        .prop_map(str::to_owned),
        hostile_text(3),
    ];
    let valid =
        json!({"title": "t", "done": true, "priority": 3, "tags": ["a"], "meta": {"k": [1]}});
    prop_oneof![
        3 => proptest::collection::vec((names, proptest::option::of(any_json(3))), 0..5).prop_map(
            move |edits| {
                let mut row = valid.clone();
                let object = row.as_object_mut().unwrap();
                for (name, value) in edits {
                    match value {
                        Some(v) => object.insert(name, v),
                        None => object.remove(&name),
                    };
                }
                row
            }
        ),
        1 => any_json(4),
    ]
}

const ROW_ERRORS: &[(u16, &str)] = &[
    (400, "invalid_json"),
    (400, "validation_failed"),
    (413, "payload_too_large"),
];

/// Rows and patches, mutated from a valid one or generated, are stored or refused with 400
/// (413 over the size limit); every field a refusal names is one of the row's.
#[test]
fn fuzz_table_rows_and_patches_are_stored_or_400() {
    let o = todos();
    let def = o.table_def("todos").unwrap();
    let id = o.insert_row(&def, json!({"title": "first"})).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The row's fields, the system ones (which a client may not set) and the whole row.
    let fields: BTreeSet<&str> = [
        "title",
        "done",
        "priority",
        "tags",
        "meta",
        "id",
        "createdAt",
        "updatedAt",
        "row",
    ]
    .into();
    // A refusal names the row's fields, or a field the client sent that the row does not have.
    let check = |sent: &Json, result: crate::Result<Json>| -> Result<(), TestCaseError> {
        match result {
            Ok(stored) => {
                prop_assert!(stored["id"].is_string() && stored["createdAt"].is_i64());
                prop_assert!(stored["title"].as_str().is_some_and(|t| !t.is_empty()));
            }
            Err(e) => {
                check_error(&e, ROW_ERRORS)?;
                if let Error::Validation(details) = &e {
                    for field in details.keys() {
                        let top = field.split(['.', '[']).next().unwrap_or_default();
                        let was_sent = sent.as_object().is_some_and(|o| o.contains_key(field));
                        prop_assert!(
                            fields.contains(top) || was_sent,
                            "{} in {:?}",
                            field,
                            details
                        );
                    }
                }
            }
        }
        Ok(())
    };
    let mut runner = TestRunner::new(config(256));
    runner
        .run(&(row(), row()), |(new, patch)| {
            check(&new, o.insert_row(&def, new.clone()))?;
            check(&patch, o.update_row(&def, &id, patch.clone()))?;
            Ok(())
        })
        .unwrap();
}

/// Query pairs as the object gets them (already decoded: any text), mutated from valid ones or
/// generated, give rows or 400 `invalid_query`, never a SQLite error.
#[test]
fn fuzz_table_query_pairs_give_rows_or_invalid_query() {
    let o = todos();
    let def = o.table_def("todos").unwrap();
    for title in ["a", "b'; --", "%_", "\u{0}"] {
        o.insert_row(
            &def,
            json!({"title": title, "priority": 1, "tags": [title]}),
        )
        .unwrap();
    }
    let key = prop_oneof![
        8 => proptest::sample::select(vec!["where", "orderBy", "limit", "offset"]).prop_map(str::to_owned),
        1 => hostile_text(2),
    ];
    let field = prop_oneof![
        proptest::sample::select(vec![
            "title",
            "done",
            "priority",
            "tags",
            "meta",
            "id",
            "createdAt"
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
            "desc",
        ])
        .prop_map(str::to_owned),
        hostile_text(2),
    ];
    let value = prop_oneof![
        hostile_text(6),
        any_json(2).prop_map(|v| v.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        (1usize..300).prop_map(|n| vec!["1"; n].join(",")),
    ];
    let pair = (key, field, op, value).prop_map(|(key, field, op, value)| {
        let value = match key.as_str() {
            "where" => format!("{field}:{op}:{value}"),
            "orderBy" => format!("{field}:{op}"),
            _ => value,
        };
        (key, value)
    });
    let pairs = prop_oneof![
        4 => proptest::collection::vec(pair.clone(), 0..6),
        1 => (pair, 90usize..120).prop_map(|(p, n)| vec![p; n]),
    ];
    let mut runner = TestRunner::new(config(256));
    runner
        .run(&pairs, |pairs| {
            let result = QuerySpec::from_query_pairs(
                &def,
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .and_then(|spec| {
                let rows = o.query_rows(&def, &spec)?;
                let count = o.count_rows(&def, &spec)?;
                Ok((rows.len(), count))
            });
            match result {
                Ok((rows, count)) => prop_assert!(i64::try_from(rows).unwrap() <= count),
                Err(e) => check_error(&e, &[(400, "invalid_query")])?,
            }
            Ok(())
        })
        .unwrap();
}

proptest! {
    #![proptest_config(config(512))]

    /// An opaque token names its user only when it has the exact shape of one; anything else
    /// names none (the worker answers 401 `invalid_token`).
    #[test]
    fn fuzz_opaque_tokens_name_a_user_only_when_well_formed(
        token in prop_oneof![
            mutated(vec![format!("urt.{}.{}", "a".repeat(64), "B".repeat(43)).into_bytes()])
                .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            hostile_text(8),
        ],
    ) {
        if let Some(user) = token::opaque_user_id(token::OpaqueKind::Refresh, &token) {
            prop_assert!(token::is_user_id(user));
            prop_assert_eq!(token.len(), 4 + 64 + 1 + 43);
        }
    }
}
