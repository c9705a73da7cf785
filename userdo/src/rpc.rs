//! Remote calls to the application's own methods (`POST /api/rpc` and WebSocket frames).
//!
//! An application lists its methods as one serde enum, adjacently tagged
//! (`#[serde(tag = "method", content = "params")]`), and matches it exhaustively, so a method
//! without a handler does not compile. [`parse_call`] turns `{method, params}` into that enum: an
//! unknown method is 404, parameters that do not fit are 400 `validation_failed`.
//!
//! ```
//! use serde::Deserialize;
//! use userdo::rpc::parse_call;
//!
//! #[derive(Debug, Deserialize)]
//! #[serde(tag = "method", content = "params")]
//! enum Call {
//!     #[serde(rename = "add")]
//!     Add { a: i64, b: i64 },
//! }
//!
//! let call: Call = parse_call("add", serde_json::json!({ "a": 1, "b": 2 })).unwrap();
//! assert!(matches!(call, Call::Add { a: 1, b: 2 }));
//! assert_eq!(parse_call::<Call>("nope", serde_json::json!({})).unwrap_err().status(), 404);
//! assert_eq!(parse_call::<Call>("add", serde_json::json!({ "a": "x" })).unwrap_err().status(), 400);
//! ```

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};

use crate::error::{Error, Result};

/// The body of `POST /api/rpc`.
#[derive(Debug, Clone, Deserialize, validator::Validate, schemars::JsonSchema)]
pub struct RpcRequest {
    /// The method's name.
    #[validate(required)]
    #[schemars(with = "String")]
    pub method: Option<String>,
    /// Its parameters (any JSON; `null` when absent).
    #[serde(default)]
    pub params: Json,
}

/// Reads `{method, params}` as the application's call enum. An unknown method is 404; every
/// parameter that is missing or mistyped is listed at once (400 `validation_failed`, fields named
/// `params.{field}`).
pub fn parse_call<C: DeserializeOwned>(method: &str, params: Json) -> Result<C> {
    let value = json!({ "method": method, "params": params });
    match serde_path_to_error::deserialize::<_, C>(&value) {
        Ok(call) => return Ok(call),
        Err(e) => {
            let at_method = matches!(e.path().to_string().as_str(), "." | "method");
            if at_method && e.inner().to_string().starts_with("unknown variant") {
                return Err(Error::NotFound(format!("no method {method:?}")));
            }
        }
    }
    crate::parse::typed_only(value, "params")
}

/// The call enum of an application that has no methods: every call is 404.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(tag = "method", content = "params")]
pub enum NoMethods {}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(tag = "method", content = "params")]
    #[allow(dead_code)]
    enum Call {
        #[serde(rename = "add")]
        Add { a: i64, b: i64 },
        #[serde(rename = "greet")]
        Greet { name: String, loud: bool },
    }

    fn details(result: Result<Call>) -> crate::error::FieldErrors {
        match result {
            Err(Error::Validation(errors)) => errors,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn two_mistyped_parameters_are_both_listed() {
        let errors = details(parse_call("greet", json!({ "name": 5, "loud": "yes" })));
        assert_eq!(errors["params.name"], ["must be a string"]);
        assert_eq!(errors["params.loud"], ["must be a boolean"]);
        assert_eq!(errors.len(), 2, "{errors:?}");
        let errors = details(parse_call("add", json!({ "a": "x" })));
        assert_eq!(errors["params.a"], ["must be i64"]);
        assert_eq!(errors["params.b"], ["is required"]);
    }

    #[test]
    fn an_unknown_method_is_not_found_and_a_good_call_parses() {
        let e = parse_call::<Call>("nope", json!({})).unwrap_err();
        assert_eq!(e.status(), 404);
        let call: Call = parse_call("greet", json!({ "name": "x", "loud": true })).unwrap();
        assert!(matches!(call, Call::Greet { loud: true, .. }));
    }
}
