//! The JSON shapes of the auth endpoints: request bodies (validated) and responses.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
pub use validator::Validate;
use validator::ValidationError;

use crate::error::{Error, Result};
use crate::password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};

/// Parses a JSON object body into `T` and validates it: malformed JSON or a non-object is
/// `invalid_json`; missing, mistyped and invalid fields are `validation_failed`, every one of
/// them named at once (a wrong type and a broken rule in the same body are both listed).
pub fn parse_body<T: DeserializeOwned + Validate>(bytes: &[u8]) -> Result<T> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|_| Error::InvalidJson("request body is not valid JSON".into()))?;
    if !value.is_object() {
        return Err(Error::InvalidJson(
            "request body must be a JSON object".into(),
        ));
    }
    crate::parse::typed_and_valid(value, "body")
}

fn password_length(password: &str) -> Result<(), ValidationError> {
    crate::password::check_length("password", password)
        .map_err(|_| ValidationError::new("length").with_message(password_message().into()))
}

fn password_message() -> String {
    format!("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")
}

fn email_shape(email: &str) -> Result<(), ValidationError> {
    crate::email::normalize(email).map(drop).map_err(|_| {
        ValidationError::new("email").with_message("must be a valid email address".into())
    })
}

/// `POST /api/signup` and `POST /api/login`.
#[derive(Debug, Clone, Deserialize, Validate, JsonSchema)]
pub struct Credentials {
    /// The email (normalised before use).
    #[validate(required, custom(function = "email_shape"))]
    #[schemars(with = "String")]
    pub email: Option<String>,
    /// The password, 8 to 1024 characters.
    #[validate(required, custom(function = "password_length"))]
    #[schemars(with = "String")]
    pub password: Option<String>,
}

/// `POST /api/refresh` (the token may come from the cookie instead).
#[derive(Debug, Clone, Default, Deserialize, Validate, JsonSchema)]
pub struct RefreshRequest {
    /// The refresh token.
    #[serde(rename = "refreshToken")]
    #[schemars(with = "String")]
    pub refresh_token: Option<String>,
}

/// `POST /api/password/change`.
#[derive(Debug, Clone, Deserialize, Validate, JsonSchema)]
pub struct ChangePasswordRequest {
    /// The current password.
    #[serde(rename = "currentPassword")]
    #[validate(required, length(max = 1024, message = "is too long"))]
    #[schemars(with = "String")]
    pub current_password: Option<String>,
    /// The new password, 8 to 1024 characters.
    #[serde(rename = "newPassword")]
    #[validate(required, custom(function = "password_length"))]
    #[schemars(with = "String")]
    pub new_password: Option<String>,
}

/// `POST /api/password-reset/request`.
#[derive(Debug, Clone, Deserialize, Validate, JsonSchema)]
pub struct ResetRequest {
    /// The account's email.
    #[validate(required, custom(function = "email_shape"))]
    #[schemars(with = "String")]
    pub email: Option<String>,
}

/// `POST /api/password-reset/confirm`.
#[derive(Debug, Clone, Deserialize, Validate, JsonSchema)]
pub struct ResetConfirm {
    /// The token from the reset mail.
    #[validate(required, length(max = 512, message = "is too long"))]
    #[schemars(with = "String")]
    pub token: Option<String>,
    /// The new password, 8 to 1024 characters.
    #[serde(rename = "newPassword")]
    #[validate(required, custom(function = "password_length"))]
    #[schemars(with = "String")]
    pub new_password: Option<String>,
}

/// `POST /api/email-verification/confirm`.
#[derive(Debug, Clone, Deserialize, Validate, JsonSchema)]
pub struct VerificationConfirm {
    /// The token from the verification mail.
    #[validate(required, length(max = 512, message = "is too long"))]
    #[schemars(with = "String")]
    pub token: Option<String>,
}

/// `DELETE /api/account`.
#[derive(Debug, Clone, Deserialize, Validate, JsonSchema)]
pub struct DeleteAccountRequest {
    /// The account's password.
    #[validate(required, length(max = 1024, message = "is too long"))]
    #[schemars(with = "String")]
    pub password: Option<String>,
}

/// The public view of an account: never a hash, salt or token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user id (the id of the user's Durable Object).
    pub id: String,
    /// The normalised email.
    pub email: String,
    /// Whether the email has been verified.
    pub email_verified: bool,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// What signup, login and refresh return.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthResponse {
    /// The account.
    pub user: User,
    /// The access token (a JWT).
    pub token: String,
    /// The refresh token (opaque).
    pub refresh_token: String,
    /// Access-token lifetime in seconds (for the cookie's Max-Age; not serialised).
    #[serde(skip)]
    pub access_ttl_secs: i64,
    /// Refresh-token lifetime in seconds (for the cookie's Max-Age; not serialised).
    #[serde(skip)]
    pub refresh_ttl_secs: i64,
}

/// One entry of `GET /api/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// The session id.
    pub id: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Milliseconds since the Unix epoch (updated at most once a minute).
    pub last_used_at: i64,
    /// The `User-Agent` of the login that opened it.
    pub user_agent: String,
    /// Whether this is the session of the request that listed it.
    pub current: bool,
}

/// The caller's own session, as `GET /api/session` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LiveSession {
    /// The session id (the access token's `sid`).
    pub id: String,
    /// When it was opened (the login or signup), in milliseconds since the Unix epoch.
    pub created_at: i64,
    /// When it ends unless it is refreshed first, in milliseconds since the Unix epoch: the refresh
    /// lifetime from its opening or its latest refresh.
    pub expires_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> Error {
        parse_body::<Credentials>(body.as_bytes()).unwrap_err()
    }

    fn details(e: &Error) -> serde_json::Value {
        e.to_body()["error"]["details"].clone()
    }

    #[test]
    fn malformed_json_and_non_objects_are_invalid_json() {
        for body in ["{", "", "[]", "\"x\"", "5", "null"] {
            assert_eq!(err(body).code(), "invalid_json", "{body:?}");
        }
    }

    #[test]
    fn missing_mistyped_and_invalid_fields_name_the_field() {
        let e = err(r#"{"password":"longenough"}"#);
        assert_eq!(details(&e)["email"][0], "is required");
        let e = err(r#"{"email":5,"password":"longenough"}"#);
        assert_eq!(e.code(), "validation_failed");
        assert_eq!(details(&e)["email"][0], "must be a string");
        let e = err(r#"{"email":"nope","password":"short"}"#);
        assert!(details(&e)["email"].is_array());
        assert!(details(&e)["password"].is_array());
    }

    #[test]
    fn a_wrong_type_and_a_broken_rule_are_listed_together() {
        let e = err(r#"{"email":5,"password":"short"}"#);
        assert_eq!(e.code(), "validation_failed");
        assert_eq!(
            details(&e)["email"],
            serde_json::json!(["must be a string"])
        );
        assert_eq!(
            details(&e)["password"][0],
            "must be 8 to 1024 characters",
            "{}",
            details(&e)
        );
        let e = err(r#"{"email":[],"password":7}"#);
        assert_eq!(details(&e)["email"][0], "must be a string");
        assert_eq!(details(&e)["password"][0], "must be a string");
    }

    #[test]
    fn valid_credentials_parse() {
        let c: Credentials =
            parse_body(br#"{"email":"  A@B.co ","password":"12345678","extra":1}"#).unwrap();
        assert_eq!(c.email.as_deref(), Some("  A@B.co "));
    }
}
