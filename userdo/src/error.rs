//! The one error type of the core, and its mapping to HTTP statuses and API error codes.
//!
//! This is the only place where an error becomes a status code and a client-facing message:
//! the runtime layer serialises [`Error::to_body`] and logs [`Error::log_detail`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Per-field validation messages: field name to the list of what is wrong with it.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// The body of every error response: `{"error": {"code", "message", "details"?}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The `error` of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDetail {
    /// A `snake_case` code, such as `invalid_token`.
    pub code: String,
    /// A human sentence.
    pub message: String,
    /// Per-field messages (for `validation_failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<FieldErrors>,
}

/// Everything that can go wrong in a request, with its API error code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The body is not JSON, or not the JSON shape the endpoint takes (400 `invalid_json`).
    #[error("{0}")]
    InvalidJson(String),
    /// One or more fields failed validation (400 `validation_failed`).
    #[error("validation failed")]
    Validation(FieldErrors),
    /// A query string that cannot be used (400 `invalid_query`).
    #[error("{0}")]
    InvalidQuery(String),
    /// No credentials were presented (401 `unauthenticated`).
    #[error("authentication required")]
    Unauthenticated,
    /// Wrong email or password (401 `invalid_credentials`).
    #[error("invalid email or password")]
    InvalidCredentials,
    /// A token that is malformed, forged, expired or of the wrong kind (401 `invalid_token`).
    #[error("invalid or expired token")]
    InvalidToken,
    /// A well-formed token whose session no longer exists (401 `session_revoked`).
    #[error("this session has been revoked")]
    SessionRevoked,
    /// Authenticated but not allowed (403 `forbidden`).
    #[error("{0}")]
    Forbidden(String),
    /// A cookie-authenticated state change from an origin that is not allowed (403 `csrf_rejected`).
    #[error("cross-site request rejected: the Origin is not allowed")]
    CsrfRejected,
    /// No such resource (404 `not_found`).
    #[error("{0}")]
    NotFound(String),
    /// The path exists but not with this method (405 `method_not_allowed`).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request conflicts with the state it would change; the message says how (409
    /// `conflict`).
    #[error("{0}")]
    Conflict(String),
    /// Signup for an email that already has an account (409 `email_taken`).
    #[error("an account with this email already exists")]
    EmailTaken,
    /// The body is larger than the endpoint accepts (413 `payload_too_large`).
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// `GET /api/ws` without a WebSocket upgrade (426 `upgrade_required`).
    #[error("this endpoint takes a WebSocket upgrade")]
    UpgradeRequired,
    /// The body is not `application/json` (415 `unsupported_media_type`).
    #[error("request body must be application/json")]
    UnsupportedMediaType,
    /// Too many requests (429 `rate_limited`).
    #[error("too many requests, retry in {retry_after_secs} seconds")]
    RateLimited {
        /// Seconds until a retry can succeed (the `Retry-After` header).
        retry_after_secs: u64,
    },
    /// The deployment is misconfigured, for example `JWT_SECRET` is missing (500 `internal`).
    #[error("configuration error: {0}")]
    Config(String),
    /// Any other failure (500 `internal`); the detail (and its source chain) is logged, never
    /// sent. Build one with [`Error::internal`] or [`Error::internal_from`].
    #[error("internal error: {context}")]
    Internal {
        /// What was being done.
        context: String,
        /// The failure underneath, kept for the log.
        #[source]
        source: Option<Box<dyn std::error::Error + 'static>>,
    },
}

/// A shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An internal error (500) with no underlying error: `context` says what went wrong.
    pub fn internal(context: impl Into<String>) -> Self {
        Error::Internal {
            context: context.into(),
            source: None,
        }
    }

    /// An internal error (500) caused by `source`, which is kept (and logged with `context`).
    pub fn internal_from(
        context: impl Into<String>,
        source: impl std::error::Error + 'static,
    ) -> Self {
        Error::Internal {
            context: context.into(),
            source: Some(Box::new(source)),
        }
    }

    /// A validation error for one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.to_owned(), vec![message.into()]);
        Error::Validation(errors)
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Error::InvalidJson(_) | Error::Validation(_) | Error::InvalidQuery(_) => 400,
            Error::Unauthenticated
            | Error::InvalidCredentials
            | Error::InvalidToken
            | Error::SessionRevoked => 401,
            Error::Forbidden(_) | Error::CsrfRejected => 403,
            Error::NotFound(_) => 404,
            Error::MethodNotAllowed => 405,
            Error::EmailTaken | Error::Conflict(_) => 409,
            Error::PayloadTooLarge { .. } => 413,
            Error::UnsupportedMediaType => 415,
            Error::UpgradeRequired => 426,
            Error::RateLimited { .. } => 429,
            Error::Config(_) | Error::Internal { .. } => 500,
        }
    }

    /// The stable, snake_case error code of API.md.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidJson(_) => "invalid_json",
            Error::Validation(_) => "validation_failed",
            Error::InvalidQuery(_) => "invalid_query",
            Error::Unauthenticated => "unauthenticated",
            Error::InvalidCredentials => "invalid_credentials",
            Error::InvalidToken => "invalid_token",
            Error::SessionRevoked => "session_revoked",
            Error::Forbidden(_) => "forbidden",
            Error::CsrfRejected => "csrf_rejected",
            Error::NotFound(_) => "not_found",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::EmailTaken => "email_taken",
            Error::Conflict(_) => "conflict",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::UnsupportedMediaType => "unsupported_media_type",
            Error::UpgradeRequired => "upgrade_required",
            Error::RateLimited { .. } => "rate_limited",
            Error::Config(_) | Error::Internal { .. } => "internal",
        }
    }

    /// Whether this is a server-side failure whose detail must stay in the log.
    pub fn is_internal(&self) -> bool {
        self.status() >= 500
    }

    /// What is written to the log for this error, if anything: internals only.
    /// The message is followed by its chain of sources (`a: b: c`).
    pub fn log_detail(&self) -> Option<String> {
        if !self.is_internal() {
            return None;
        }
        let mut detail = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            detail.push_str(": ");
            detail.push_str(&cause.to_string());
            source = cause.source();
        }
        Some(detail)
    }

    /// The JSON body sent to the client: `{"error": {"code", "message", "details"?}}`.
    pub fn to_body(&self) -> Value {
        serde_json::to_value(self.to_error_body()).unwrap_or_default()
    }

    /// The error body as its type.
    pub fn to_error_body(&self) -> ErrorBody {
        let message = if self.is_internal() {
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message,
                details: match self {
                    Error::Validation(fields) => Some(fields.clone()),
                    _ => None,
                },
            },
        }
    }
}

impl From<validator::ValidationErrors> for Error {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut fields = FieldErrors::new();
        for (field, errs) in errors.field_errors() {
            let messages = errs
                .iter()
                .map(|e| match (&e.message, e.code.as_ref()) {
                    (Some(message), _) => message.to_string(),
                    // `#[validate(required)]` carries no message (schemars reads that attribute
                    // and takes none), so its wording lives here.
                    (None, "required") => "is required".to_owned(),
                    (None, code) => format!("is invalid ({code})"),
                })
                .collect();
            fields.insert(camel_case(&field), messages);
        }
        Error::Validation(fields)
    }
}

/// Rust fields are snake_case; the API's JSON fields are camelCase. As serde's
/// `rename_all = "camelCase"` does it (which names the JSON fields): the letter after an
/// underscore is upper-cased as ASCII (`to_ascii_uppercase`, so core's Unicode upper-case table
/// is not linked either, issue 14).
fn camel_case(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        Error::internal_from("storage", e)
    }
}

/// A failure of the Workers runtime (a binding, a fetch, a response) is internal: logged with
/// its source, never shown. With this, runtime code and application handlers use plain `?`.
#[cfg(feature = "worker")]
impl From<worker::Error> for Error {
    fn from(e: worker::Error) -> Self {
        Error::internal_from("runtime", e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_show_their_detail() {
        let body = Error::internal("SELECT secret FROM x").to_body();
        assert_eq!(body["error"]["code"], "internal");
        assert!(!body.to_string().contains("SELECT"));
        let caused = Error::internal_from("storage", crate::store::StoreError("disk I/O".into()));
        assert!(!caused.to_body().to_string().contains("disk"));
        assert_eq!(
            caused.log_detail().as_deref(),
            Some("internal error: storage: disk I/O")
        );
        assert_eq!(Error::Config("no key".into()).status(), 500);
    }

    #[test]
    fn validator_field_names_become_the_api_camel_case_names() {
        let mut errors = validator::ValidationErrors::new();
        errors.add("new_password", validator::ValidationError::new("length"));
        let body = Error::from(errors).to_body();
        assert!(body["error"]["details"]["newPassword"].is_array(), "{body}");
    }

    /// The names are the ones serde's `rename_all = "camelCase"` gives the JSON fields, non-ASCII
    /// letters after an underscore included (serde upper-cases ASCII only).
    #[test]
    #[allow(non_snake_case)]
    fn camel_case_is_serdes() {
        #[derive(serde::Serialize, Default)]
        #[serde(rename_all = "camelCase")]
        struct Fields {
            new_password: u8,
            a_b_c: u8,
            with_2_digits: u8,
            x_é_y: u8,
            straße_ü: u8,
            plain: u8,
        }
        let json = serde_json::to_value(Fields::default()).unwrap();
        let serde_names: Vec<&String> = json.as_object().unwrap().keys().collect();
        let mut ours: Vec<String> = [
            "new_password",
            "a_b_c",
            "with_2_digits",
            "x_é_y",
            "straße_ü",
            "plain",
        ]
        .iter()
        .map(|f| camel_case(f))
        .collect();
        ours.sort();
        let mut serde_names: Vec<String> = serde_names.into_iter().cloned().collect();
        serde_names.sort();
        assert_eq!(ours, serde_names);
        assert_eq!(camel_case("x_é_y"), "xéY");
    }

    #[test]
    fn validation_errors_carry_field_details() {
        let body = Error::field("email", "is required").to_body();
        assert_eq!(body["error"]["code"], "validation_failed");
        assert_eq!(body["error"]["details"]["email"][0], "is required");
    }
}
