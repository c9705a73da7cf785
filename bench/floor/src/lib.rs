//! The bench floor: a worker that hands every request to one Durable Object, which answers a
//! constant. It does the hops every userdo request does (worker, then object) and nothing else, so
//! `make bench` can print each scenario as a ratio to it.
//!
//! `GET /pbkdf2?iterations=N` runs instead, in the worker, one PBKDF2-HMAC-SHA256 of the framework's
//! own `PasswordHasher` (the work of one login), so the client can time it against `GET /`.

use worker::{Context, Env, Request, Response, event};

#[allow(missing_docs, unreachable_pub)]
mod object {
    use worker::{DurableObject, Env, Request, Response, State, durable_object};

    /// Answers the same small JSON body to every request.
    #[durable_object]
    pub struct FloorObject {
        _state: State,
    }

    impl DurableObject for FloorObject {
        fn new(state: State, _env: Env) -> Self {
            Self { _state: state }
        }

        async fn fetch(&self, _req: Request) -> worker::Result<Response> {
            Response::from_json(&serde_json::json!({ "ok": true }))
        }
    }
}
pub use object::FloorObject;

/// The PBKDF2 iteration count of `GET /pbkdf2` when none is given: the framework's default.
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = userdo::password::DEFAULT_ITERATIONS;

/// Routes `GET /pbkdf2` to one password hash in the worker, and everything else to the object.
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let url = req.url()?;
    if url.path() == "/pbkdf2" {
        let iterations = url
            .query_pairs()
            .find(|(k, _)| k == "iterations")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(DEFAULT_PBKDF2_ITERATIONS);
        let hasher = userdo::password::PasswordHasher::new(iterations)
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
        let verified = hasher.verify_dummy("correct horse battery");
        return Response::from_json(&serde_json::json!({
            "iterations": iterations,
            "verified": format!("{verified:?}"),
        }));
    }
    let stub = env
        .durable_object("FLOOR")?
        .id_from_name("floor")?
        .get_stub()?;
    stub.fetch_with_request(req).await
}
