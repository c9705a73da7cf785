//! The table endpoints inside the user's object (stub).

use userdo::{Error, Result};
use worker::{Request, Response};

use crate::app::UserCore;

/// Answers `/api/tables/{table}` and `/api/tables/{table}/{id}`.
pub(crate) async fn handle(_core: &UserCore, _req: &mut Request) -> Result<Response> {
    Err(Error::NotFound("no such table".into()))
}
