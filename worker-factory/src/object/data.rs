//! The data endpoints inside the user's object: KV (and the `/data` pair kept for compatibility
//! with the TypeScript `userdo`), the application's tables, remote calls and application routes.
//! The worker has parsed and checked the request; what is left is the part that needs the
//! object's own state (the table schemas, the application).

use std::rc::Rc;

use serde_json::Value as Json;
use userdo::table::query::COUNT_CAP;
use userdo::table::{Access, QuerySpec, TableDef};
use userdo::{Error, Principal, Result, rpc};

use crate::app::Methods;
use crate::hop::{TableAction, TableCall};
use worker::{Headers, Method, Response};

use super::UserDoObject;
use crate::app::{UserApp, UserCore};
use crate::http::respond;
use crate::responses::{
    DataEntry, DataValue, KeyList, KvEntry, OK, RowList, RowsCreated, RpcResult, TableRowBody,
};

impl<A: UserApp> UserDoObject<A> {
    pub(super) fn kv_list(
        &self,
        core: &UserCore,
        _who: &Principal,
        prefix: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Response> {
        let page = core.kv_page(prefix, after, limit)?;
        respond(
            200,
            &KeyList {
                keys: page.keys,
                next: page.next,
            },
        )
    }

    pub(super) fn kv_get(&self, core: &UserCore, _who: &Principal, key: &str) -> Result<Response> {
        let value = core.kv_get(key)?.ok_or_else(no_such_key)?;
        let key = key.to_owned();
        respond(200, &KvEntry { key, value })
    }

    pub(super) fn kv_put(
        &self,
        core: &UserCore,
        _who: &Principal,
        key: String,
        value: Json,
    ) -> Result<Response> {
        core.kv_put(&key, &value)?;
        respond(200, &KvEntry { key, value })
    }

    pub(super) fn kv_delete(
        &self,
        core: &UserCore,
        _who: &Principal,
        key: &str,
    ) -> Result<Response> {
        core.kv_delete(key)?;
        respond(200, &OK)
    }

    pub(super) fn data_get(
        &self,
        core: &UserCore,
        _who: &Principal,
        key: &str,
    ) -> Result<Response> {
        let data = core.kv_get(key)?.ok_or_else(no_such_key)?;
        respond(200, &DataValue { ok: true, data })
    }

    pub(super) fn data_post(
        &self,
        core: &UserCore,
        _who: &Principal,
        key: String,
        value: Json,
    ) -> Result<Response> {
        core.kv_put(&key, &value)?;
        let data = KvEntry { key, value };
        respond(200, &DataEntry { ok: true, data })
    }

    pub(super) async fn rpc(
        &self,
        core: &UserCore,
        who: &Principal,
        method: &str,
        params: Json,
    ) -> Result<Response> {
        let call = rpc::parse_call::<A::Call>(method, params)?;
        let result = call.run(&self.app, &self.ctx(core, Some(who))).await?;
        respond(200, &RpcResult { result })
    }

    /// An application route: [`UserApp::fetch`] gets a request with the client's method, path,
    /// query and JSON body.
    pub(super) async fn app_fetch(
        &self,
        core: &UserCore,
        who: &Principal,
        method: &str,
        path: &str,
        query: &str,
        body: Option<Json>,
    ) -> Result<Response> {
        let headers = Headers::new();
        let body = body.map(|b| b.to_string());
        if body.is_some() {
            headers.set("content-type", "application/json")?;
        }
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        let req = crate::http::new_request(
            &format!("https://userdo.internal{path}{query}"),
            Method::from(method.to_owned()),
            &headers,
            body.as_deref(),
        )?
        // Mutable, as worker's `Request::new_with_init` made it: the application may change its
        // headers.
        .clone_mut()?;
        self.app.fetch(&self.ctx(core, Some(who)), req).await
    }
}

/// Runs a table call, on a user's table or an organization's: `table` finds the table the call
/// names, or refuses the action (who may do what differs between the two).
pub(crate) fn run_table_call(
    core: &UserCore,
    call: TableCall,
    table: &dyn Fn(&str, TableAction) -> Result<Rc<TableDef>>,
) -> Result<Response> {
    let def = table(call.table(), call.action())?;
    match call {
        TableCall::List { query, .. } => list_rows(core, &def, &query),
        TableCall::Create { row, .. } => {
            let row = core.insert_row(&def, row)?;
            respond(201, &TableRowBody { row })
        }
        TableCall::Batch { rows, .. } => {
            let rows = core.insert_rows(&def, rows)?;
            respond(201, &RowsCreated { rows })
        }
        TableCall::Get { id, .. } => {
            let row = core.get_row(&def, &id)?.ok_or_else(|| no_such_row(&id))?;
            respond(200, &TableRowBody { row })
        }
        TableCall::Update { id, patch, .. } => {
            let row = core.update_row(&def, &id, patch)?;
            respond(200, &TableRowBody { row })
        }
        TableCall::Delete { id, .. } => {
            if !core.delete_row(&def, &id)? {
                return Err(no_such_row(&id));
            }
            respond(200, &OK)
        }
    }
}

/// `{rows, count}` of a table query (a user's table, or an organization's): the raw query pairs
/// parsed against the table's schema, the count capped at [`COUNT_CAP`].
pub(crate) fn list_rows(
    core: &UserCore,
    def: &TableDef,
    query: &[(String, String)],
) -> Result<Response> {
    let spec =
        QuerySpec::from_query_pairs(def, query.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let rows = core.query_rows(def, &spec)?;
    let (count, count_capped) = core.count_rows_upto(def, &spec, COUNT_CAP)?;
    respond(
        200,
        &RowList {
            rows,
            count,
            count_capped,
        },
    )
}

/// A table the application declared with client access. Tables it keeps to itself look exactly
/// like tables that do not exist; a read-only one refuses writes (and deletes).
pub(super) fn client_table(
    core: &UserCore,
    name: &str,
    action: TableAction,
) -> Result<Rc<TableDef>> {
    let write = action != TableAction::Read;
    let def = core
        .table_def(name)
        .ok()
        .filter(|d| matches!(d.access(), Access::ReadWrite | Access::ReadOnly))
        .ok_or_else(|| Error::NotFound("no such table".into()))?;
    if write && def.access() == Access::ReadOnly {
        return Err(Error::Forbidden(format!("table {name} is read-only")));
    }
    Ok(def)
}

fn no_such_key() -> Error {
    Error::NotFound("no such key".into())
}

fn no_such_row(id: &str) -> Error {
    Error::NotFound(format!("no row with id {id:?}"))
}
