//! The default worker: every userdo endpoint under the binding `USERDO`, built only through the
//! public seam an application uses (`UserApp`, `user_object!`, `UserDoWorker`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use validator::Validate;
use worker::{Context, Env, Method, Request, Response, event};
use worker_factory::prelude::*;

/// A todo: the default worker's table, open to the signed-in user at `/api/tables/todos`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
pub struct Todo {
    /// What to do, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub title: String,
    /// Whether it is done.
    #[serde(default)]
    pub done: bool,
}

impl TableRow for Todo {
    const NAME: &'static str = "todos";

    fn indexes() -> Vec<Index> {
        // The list a todo app shows: open ones first, newest first.
        vec![Index::on(&["done", "createdAt"])]
    }
}

/// A visit, written by the application (`POST /api/visits`) and readable, not writable, by the
/// user at `/api/tables/visits`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
pub struct Visit {
    /// The path visited.
    #[validate(length(max = 200))]
    pub path: String,
}

impl TableRow for Visit {
    const NAME: &'static str = "visits";
}

/// The default application's remote methods (`POST /api/rpc`, or a WebSocket frame). The
/// browser client's types for them are generated from this enum.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(tag = "method", content = "params", rename_all = "camelCase")]
pub enum Call {
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

/// The default application: a `todos` table the user reads and writes, and a `visits` table
/// that only the application writes (from its object-side hook), which the user may read.
#[derive(Debug, Default)]
pub struct DefaultApp;

impl UserApp for DefaultApp {
    type Call = Call;

    async fn call(
        &self,
        ctx: &ObjectCtx<'_>,
        _principal: &Principal,
        call: Call,
    ) -> Result<serde_json::Value> {
        let todos = ctx.core.table::<Todo>()?;
        match call {
            Call::ClearCompleted => {
                let done = todos
                    .query()
                    .where_("done", Op::Eq, true)
                    .limit(1000)
                    .get()?;
                for todo in &done {
                    todos.delete(&todo.id)?;
                }
                Ok(json!({ "deleted": done.len() }))
            }
            Call::RenameTodo { id, title } => {
                let row = todos.update(&id, json!({ "title": title }))?;
                serde_json::to_value(row).map_err(|e| Error::internal_from("row to JSON", e))
            }
        }
    }

    fn tables(&self) -> Tables {
        Tables::new()
            .table::<Todo>(Access::ReadWrite)
            .table::<Visit>(Access::ReadOnly)
    }

    async fn fetch(
        &self,
        ctx: &ObjectCtx<'_>,
        _principal: &Principal,
        req: Request,
    ) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/api/visits") => {
                let visits = ctx.core.table::<Visit>()?;
                visits.create(&Visit {
                    path: "/api/visits".into(),
                })?;
                respond(200, &json!({ "visits": visits.query().count()? }))
            }
            _ => Err(Error::NotFound("no such endpoint".into())),
        }
    }
}

user_object!(UserObject, DefaultApp);
limiter_object!(RateLimiter);

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    UserDoWorker::new("USERDO")
        // A worker-side route: runs only for a live session and receives its user.
        .route(Method::Get, "/api/hello", |_req, auth| async move {
            respond(200, &json!({ "hello": auth.user.email }))
        })
        // A route answered inside the user's object by `DefaultApp::fetch` (one trip there).
        .object_route(Method::Post, "/api/visits")
        .fetch(req, env)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mistake in the declarations shows here, on the host, before any object starts.
    #[test]
    fn the_tables_are_declared_correctly() {
        let tables = DefaultApp.tables();
        assert!(tables.check().is_ok(), "{:?}", tables.check());
    }
}
