//! The KV endpoints inside the user's object (stub; filled in by the KV work).

use userdo::{Error, Result};
use worker::{Request, Response};

use crate::app::UserCore;

/// Answers `/api/kv`, `/api/kv/{key}` and `/data`.
pub(crate) async fn handle(_core: &UserCore, _req: &mut Request) -> Result<Response> {
    Err(Error::NotFound("no such endpoint".into()))
}
