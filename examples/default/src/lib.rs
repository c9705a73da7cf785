//! The default worker: every userdo endpoint under the binding `USERDO`, built only through the
//! public seam an application uses (`UserApp`, `user_object!`, `UserDoWorker`).

use serde_json::json;
use userdo::migrate::Migration;
use userdo::{Principal, Result, Store};
use worker::{Context, Env, Method, Request, Response, event};
use worker_factory::http::{internal, json};
use worker_factory::{ObjectCtx, UserApp, UserDoWorker};

/// The default application: a visit counter in each user's own SQLite shows the object-side hook.
#[derive(Debug, Default)]
pub struct DefaultApp;

impl UserApp for DefaultApp {
    fn migrations(&self) -> &'static [Migration] {
        &[Migration {
            version: 1,
            name: "visits",
            sql: "CREATE TABLE visits (id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL)",
        }]
    }

    async fn fetch(
        &self,
        ctx: &ObjectCtx<'_>,
        _principal: &Principal,
        req: Request,
    ) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/app/visits") => {
                let rows = ctx.core.store().query(
                    "INSERT INTO visits (id, count) VALUES (1, 1)
                     ON CONFLICT (id) DO UPDATE SET count = count + 1 RETURNING count",
                    &[],
                )?;
                json(200, &json!({ "visits": rows[0].int(0)? })).map_err(internal)
            }
            _ => Err(userdo::Error::NotFound("no such endpoint".into())),
        }
    }
}

worker_factory::user_object!(UserObject, DefaultApp);
worker_factory::limiter_object!(RateLimiter);

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    UserDoWorker::new("USERDO")
        // A worker-side route: runs only for a live session and receives its user.
        .route(Method::Get, "/api/hello", |_req, auth| async move {
            json(200, &json!({ "hello": auth.user.email })).map_err(internal)
        })
        // A route answered inside the user's object by `DefaultApp::fetch`.
        .route(Method::Post, "/api/visits", |_req, auth| async move {
            auth.object_fetch(Method::Post, "/visits", None).await
        })
        .fetch(req, env)
        .await
}
