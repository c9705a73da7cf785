//! A test fixture: a worker and a Durable Object whose paths panic, so that the end-to-end test
//! can check what the build's shim (`scripts/lean-shim.mjs`) promises: after a panic (a wasm
//! trap), the next call resets the wasm state, and an object made before the reset gets a new
//! inner instance.
//!
//! - `GET /ok`: 200 from the worker.
//! - `GET /panic`: a panic in the worker.
//! - `GET /object/count`: the object's calls since its instance was made (kept in memory only).
//! - `GET /object/panic`: a panic in the object, before any wait.
//! - `GET /object/panic-later`: a panic in the object after a wait (in a later tick of the
//!   futures queue).

use std::cell::Cell;

use worker::{Context, Env, Request, Response, event};

#[allow(missing_docs, unreachable_pub)]
mod object {
    use super::Cell;
    use worker::{DurableObject, Env, Request, Response, State, durable_object};

    /// Counts its calls in memory and panics where asked.
    #[durable_object]
    pub struct PanicObject {
        calls: Cell<u64>,
    }

    impl DurableObject for PanicObject {
        fn new(_state: State, _env: Env) -> Self {
            Self {
                calls: Cell::new(0),
            }
        }

        async fn fetch(&self, req: Request) -> worker::Result<Response> {
            self.calls.set(self.calls.get() + 1);
            match req.path().as_str() {
                "/object/panic" => panic!("a panic in the object"),
                "/object/panic-later" => {
                    worker::Delay::from(std::time::Duration::from_millis(1)).await;
                    panic!("a panic in the object after a wait")
                }
                _ => Response::from_json(&serde_json::json!({ "calls": self.calls.get() })),
            }
        }
    }
}
pub use object::PanicObject;

/// `/panic` panics here; `/object/*` goes to the one object; anything else is 200.
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let path = req.path();
    if path == "/panic" {
        panic!("a panic in the worker");
    }
    if path.starts_with("/object/") {
        let stub = env
            .durable_object("PANIC")?
            .id_from_name("one")?
            .get_stub()?;
        return stub.fetch_with_request(req).await;
    }
    Response::from_json(&serde_json::json!({ "ok": true }))
}
