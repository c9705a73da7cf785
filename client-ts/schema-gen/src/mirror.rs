//! MIRRORS: stand-ins for Rust types that do not derive `JsonSchema` yet.
//!
//! Each struct here copies the JSON shape of the type named in its doc comment, only so that a
//! schema can be generated for the TypeScript client. They are temporary: once the real type
//! derives `JsonSchema` (a one-line change in its crate), `main.rs` should name the real type and
//! the mirror should go. Until then the tests at the bottom keep each mirror honest by converting
//! values between it and the real type, so a renamed or added field fails `cargo test`.
//!
//! Request bodies are mirrored with required fields: the real types hold `Option`s only so that a
//! missing field can be reported as `validation_failed` instead of a parse error.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// MIRROR of `userdo::api::User`: the public view of an account.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct User {
    /// The user id (the id of the user's Durable Object).
    pub(crate) id: String,
    /// The normalised email.
    pub(crate) email: String,
    /// Whether the email has been verified.
    pub(crate) email_verified: bool,
    /// Milliseconds since the Unix epoch.
    pub(crate) created_at: i64,
}

/// MIRROR of `userdo::api::AuthResponse` (as serialised): what signup, login and refresh return.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthResponse {
    /// The account.
    pub(crate) user: User,
    /// The access token (a JWT).
    pub(crate) token: String,
    /// The refresh token (opaque).
    pub(crate) refresh_token: String,
}

/// MIRROR of `userdo::api::SessionInfo`: one entry of `GET /api/sessions`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionInfo {
    /// The session id.
    pub(crate) id: String,
    /// Milliseconds since the Unix epoch.
    pub(crate) created_at: i64,
    /// Milliseconds since the Unix epoch (updated at most once a minute).
    pub(crate) last_used_at: i64,
    /// The `User-Agent` of the login that opened it.
    pub(crate) user_agent: String,
    /// Whether this is the session of the request that listed it.
    pub(crate) current: bool,
}

/// MIRROR of `userdo::api::Credentials`: the body of `POST /api/signup` and `POST /api/login`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Credentials {
    /// The email (normalised by the server).
    pub(crate) email: String,
    /// The password, 8 to 1024 characters.
    pub(crate) password: String,
}

/// MIRROR of `userdo::api::RefreshRequest`: the body of `POST /api/refresh`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefreshRequest {
    /// The refresh token.
    pub(crate) refresh_token: String,
}

/// MIRROR of `userdo::api::ChangePasswordRequest`: the body of `POST /api/password/change`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChangePasswordRequest {
    /// The current password.
    pub(crate) current_password: String,
    /// The new password, 8 to 1024 characters.
    pub(crate) new_password: String,
}

/// MIRROR of `userdo::api::ResetRequest`: the body of `POST /api/password-reset/request`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ResetRequest {
    /// The account's email.
    pub(crate) email: String,
}

/// MIRROR of `userdo::api::ResetConfirm`: the body of `POST /api/password-reset/confirm`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResetConfirm {
    /// The token from the reset mail.
    pub(crate) token: String,
    /// The new password, 8 to 1024 characters.
    pub(crate) new_password: String,
}

/// MIRROR of `userdo::events::Event`: one entry of the change feed, `{seq, event, data, ts}`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Event {
    /// Position in this user's feed: one more than the previous event.
    pub(crate) seq: i64,
    /// `kv:{key}` or `table:{table}`.
    pub(crate) event: String,
    /// What changed: a `KvChange` or a `TableChange`.
    pub(crate) data: Json,
    /// When, in milliseconds since the Unix epoch.
    pub(crate) ts: i64,
}

/// MIRROR of the `data` of a `kv:{key}` event (built with `json!` in `userdo::kv`).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct KvChange {
    /// `put` or `delete`.
    pub(crate) op: KvOp,
    /// The key.
    pub(crate) key: String,
    /// The new value (for `put`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<Json>,
}

/// MIRROR: what happened to a key.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum KvOp {
    /// The key was written.
    Put,
    /// The key was deleted.
    Delete,
}

/// MIRROR of the `data` of a `table:{name}` event (built with `json!` in `userdo::table`).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct TableChange {
    /// `create`, `update` or `delete`.
    pub(crate) op: TableOp,
    /// The row's id.
    pub(crate) id: String,
    /// The stored row (for `create` and `update`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) row: Option<Json>,
}

/// MIRROR: what happened to a row.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) enum TableOp {
    /// The row was created.
    Create,
    /// The row was changed.
    Update,
    /// The row was deleted.
    Delete,
}

/// MIRROR of the fields `userdo::table::Stored` puts around every row.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StoredFields {
    /// The row's id, assigned at creation (32 hex characters).
    pub(crate) id: String,
    /// When it was created, in milliseconds since the Unix epoch.
    pub(crate) created_at: i64,
    /// When it was last changed.
    pub(crate) updated_at: i64,
}

/// MIRROR of the error body every endpoint answers with (`userdo::Error::to_body`).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ErrorBody {
    /// The error.
    pub(crate) error: ErrorDetail,
}

/// MIRROR: the `error` of an [`ErrorBody`].
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub(crate) struct ErrorDetail {
    /// A `snake_case` code, such as `invalid_token`.
    pub(crate) code: String,
    /// A human sentence.
    pub(crate) message: String,
    /// Per-field messages (for `validation_failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) details: Option<Json>,
}

/// MIRROR of `userdo_default_worker::Call` (which derives only `Deserialize`): the default
/// worker's remote methods, `{method, params}`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", content = "params", rename_all = "camelCase")]
pub(crate) enum Call {
    /// Deletes every done todo; answers `{deleted: N}`.
    ClearCompleted,
    /// Renames a todo (validated like any update); answers the row.
    #[serde(rename_all = "camelCase")]
    RenameTodo {
        /// The todo's id.
        id: String,
        /// Its new title.
        title: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn roundtrip<A: Serialize, B: serde::de::DeserializeOwned + Serialize>(a: &A) -> Json {
        let value = serde_json::to_value(a).expect("serialise");
        let b: B = serde_json::from_value(value.clone()).expect("the other type reads it");
        let back = serde_json::to_value(&b).expect("serialise");
        assert_eq!(value, back, "the mirror and the real type agree");
        value
    }

    #[test]
    fn response_mirrors_match_the_real_types() {
        let user = userdo::api::User {
            id: "u".into(),
            email: "a@b.co".into(),
            email_verified: true,
            created_at: 5,
        };
        roundtrip::<_, User>(&user);
        let session = userdo::api::SessionInfo {
            id: "s".into(),
            created_at: 1,
            last_used_at: 2,
            user_agent: "ua".into(),
            current: true,
        };
        roundtrip::<_, SessionInfo>(&session);
        let auth = userdo::api::AuthResponse {
            user,
            token: "t".into(),
            refresh_token: "r".into(),
            access_ttl_secs: 1,
            refresh_ttl_secs: 2,
        };
        let value = serde_json::to_value(&auth).expect("serialise");
        let mirror: AuthResponse = serde_json::from_value(value.clone()).expect("mirror reads it");
        assert_eq!(serde_json::to_value(mirror).expect("serialise"), value);
        let event = userdo::Event {
            seq: 3,
            event: "kv:a".into(),
            data: json!({"op": "put", "key": "a", "value": 1}),
            ts: 9,
        };
        let value = serde_json::to_value(&event).expect("serialise");
        let mirror: Event = serde_json::from_value(value.clone()).expect("mirror reads it");
        assert_eq!(serde_json::to_value(&mirror).expect("serialise"), value);
        let _: KvChange = serde_json::from_value(mirror.data).expect("kv data");
    }

    fn parses<T: serde::de::DeserializeOwned + userdo::api::Validate>(mirror: impl Serialize) -> T {
        let bytes = serde_json::to_vec(&mirror).expect("serialise");
        userdo::api::parse_body::<T>(&bytes).expect("the server accepts the mirror's body")
    }

    #[test]
    fn request_mirrors_are_accepted_by_the_real_parsers() {
        let c: userdo::api::Credentials = parses(Credentials {
            email: "a@b.co".into(),
            password: "12345678".into(),
        });
        assert!(c.email.is_some() && c.password.is_some());
        let r: userdo::api::RefreshRequest = parses(RefreshRequest {
            refresh_token: "x".into(),
        });
        assert!(r.refresh_token.is_some());
        let p: userdo::api::ChangePasswordRequest = parses(ChangePasswordRequest {
            current_password: "12345678".into(),
            new_password: "abcdefgh".into(),
        });
        assert!(p.current_password.is_some() && p.new_password.is_some());
        let r: userdo::api::ResetRequest = parses(ResetRequest {
            email: "a@b.co".into(),
        });
        assert!(r.email.is_some());
        let r: userdo::api::ResetConfirm = parses(ResetConfirm {
            token: "upr.x".into(),
            new_password: "abcdefgh".into(),
        });
        assert!(r.token.is_some() && r.new_password.is_some());
    }

    #[test]
    fn the_call_mirror_is_read_by_the_real_enum() {
        for call in [
            Call::ClearCompleted,
            Call::RenameTodo {
                id: "i".into(),
                title: "t".into(),
            },
        ] {
            let value = serde_json::to_value(&call).expect("serialise");
            let method = value["method"].as_str().expect("method").to_owned();
            let params = value.get("params").cloned().unwrap_or(Json::Null);
            userdo::rpc::parse_call::<userdo_default_worker::Call>(&method, params)
                .expect("the real enum reads it");
        }
    }
}
