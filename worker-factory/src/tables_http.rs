//! The table endpoints inside the user's object: `/api/tables/{table}` and
//! `/api/tables/{table}/{id}`, for the tables the application declared with client access.
//! The worker has already authenticated the request, checked CSRF and the content type.

use serde_json::json;
use userdo::table::{Access, QuerySpec};
use userdo::{Error, Result};
use worker::{Method, Request, Response};

use crate::app::UserCore;
use crate::http::{DATA_BODY_LIMIT, internal, read_json_body, respond};

/// Answers `/api/tables/{table}` and `/api/tables/{table}/{id}`.
pub(crate) async fn handle(core: &UserCore, req: &mut Request) -> Result<Response> {
    let path = req.path();
    let mut segments = path
        .strip_prefix("/api/tables/")
        .unwrap_or_default()
        .split('/');
    let (Some(name), id, None) = (segments.next(), segments.next(), segments.next()) else {
        return Err(no_such_table());
    };
    // Tables the application keeps to itself look exactly like tables that do not exist.
    let def = core
        .table_def(name)
        .ok()
        .filter(|d| d.access() != Access::ServerOnly)
        .ok_or_else(no_such_table)?;
    let method = req.method();
    if method != Method::Get && def.access() == Access::ReadOnly {
        return Err(Error::Forbidden(format!("table {name} is read-only")));
    }
    match (method, id) {
        (Method::Get, None) => {
            let url = req.url().map_err(internal)?;
            let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
            let spec = QuerySpec::from_query_pairs(
                &def,
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )?;
            let rows = core.query_rows(&def, &spec)?;
            let count = core.count_rows(&def, &spec)?;
            respond(200, &json!({ "rows": rows, "count": count }))
        }
        (Method::Post, None) => {
            let row = core.insert_row(&def, read_json_body(req, DATA_BODY_LIMIT).await?)?;
            respond(201, &json!({ "row": row }))
        }
        (Method::Get, Some(id)) => {
            let row = core.get_row(&def, id)?.ok_or_else(|| no_such_row(id))?;
            respond(200, &json!({ "row": row }))
        }
        (Method::Patch, Some(id)) => {
            let patch = read_json_body(req, DATA_BODY_LIMIT).await?;
            respond(200, &json!({ "row": core.update_row(&def, id, patch)? }))
        }
        (Method::Delete, Some(id)) => {
            if !core.delete_row(&def, id)? {
                return Err(no_such_row(id));
            }
            respond(200, &json!({ "ok": true }))
        }
        _ => Err(Error::MethodNotAllowed),
    }
}

fn no_such_table() -> Error {
    Error::NotFound("no such table".into())
}

fn no_such_row(id: &str) -> Error {
    Error::NotFound(format!("no row with id {id:?}"))
}
