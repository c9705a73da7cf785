//! Who a request comes from, as the core sees it: the caller's session and what the runtime
//! knows of the client.

/// Who made a request: a live session of this object's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user id.
    pub user_id: String,
    /// The session id.
    pub session_id: String,
}

/// What the runtime knows of the client, kept with a session.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The `User-Agent` header.
    pub user_agent: String,
}
