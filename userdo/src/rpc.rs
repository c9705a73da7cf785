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

/// Reads `{method, params}` as the application's call enum.
pub fn parse_call<C: DeserializeOwned>(method: &str, params: Json) -> Result<C> {
    let value = json!({ "method": method, "params": params });
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        if message.starts_with("unknown variant") {
            return Error::NotFound(format!("no method {method:?}"));
        }
        let field = match path.as_str() {
            "." | "params" => "params".to_owned(),
            other => other.to_owned(),
        };
        let message = match message.split_once("expected ") {
            Some((_, expected)) => format!("must be {expected}"),
            None => message,
        };
        Error::field(&field, message)
    })
}

/// The call enum of an application that has no methods: every call is 404.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(tag = "method", content = "params")]
pub enum NoMethods {}
