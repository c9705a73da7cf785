//! Two projects side by side in one worker, as the TypeScript `userdo` shows with
//! `createUserDOWorker('BLOG_DO')` and `'SHOP_DO'`: each has its own Durable Object binding and
//! its own application (a blog with posts, a shop with orders). Requests under `/blog` go to the
//! blog's router, those under `/shop` to the shop's, each seeing the path without its prefix.
//! Users and data are apart: the same email makes two accounts, and a token of one project
//! opens nothing in the other (its user id names an object of the other namespace).
//!
//! Mounted on one origin, the two share the cookie names: use bearer tokens, or give each
//! project a host of its own in production.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;
use worker::{Context, Env, Request, RequestInit, Response, event};
use worker_factory::prelude::*;

/// A blog post.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
pub struct Post {
    /// Its text, 1 to 1000 characters.
    #[validate(length(min = 1, max = 1000))]
    pub text: String,
}

impl TableRow for Post {
    const NAME: &'static str = "posts";
}

/// A shop order.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
pub struct Order {
    /// What was ordered.
    #[validate(length(min = 1, max = 200))]
    pub item: String,
    /// How many.
    #[validate(range(min = 1, max = 100))]
    pub quantity: u32,
}

impl TableRow for Order {
    const NAME: &'static str = "orders";
}

/// The blog: posts, read and written by their author.
#[derive(Debug)]
pub struct Blog;

impl UserApp for Blog {
    type Call = NoMethods;
    type Task = NoTasks;

    fn new(_vars: &Vars) -> Self {
        Blog
    }

    fn tables(&self) -> Tables {
        Tables::new().table::<Post>(Access::ReadWrite)
    }
}

/// The shop: orders.
#[derive(Debug)]
pub struct Shop;

impl UserApp for Shop {
    type Call = NoMethods;
    type Task = NoTasks;

    fn new(_vars: &Vars) -> Self {
        Shop
    }

    fn tables(&self) -> Tables {
        Tables::new().table::<Order>(Access::ReadWrite)
    }
}

user_object!(BlogUser, Blog);

// The shop's object, written out by hand: what `user_object!(ShopUser, Shop)` stands for. The
// attribute writes undocumented glue, hence a module of its own with `allow(missing_docs)`.
#[allow(missing_docs)]
mod shop_object {
    use super::Shop;

    #[worker::durable_object]
    pub struct ShopUser {
        inner: worker_factory::UserDoObject<Shop>,
    }

    impl worker::DurableObject for ShopUser {
        fn new(state: worker::State, env: worker::Env) -> Self {
            // Builds the application with `Shop::new(&Vars::from_env(&env))`.
            Self {
                inner: worker_factory::UserDoObject::new(state, env),
            }
        }

        async fn fetch(&self, req: worker::Request) -> worker::Result<worker::Response> {
            self.inner.fetch(req).await
        }

        // The hibernation API and the alarm call these; each delegates the same way.
        async fn websocket_message(
            &self,
            ws: worker::WebSocket,
            message: worker::WebSocketIncomingMessage,
        ) -> worker::Result<()> {
            self.inner.websocket_message(ws, message).await
        }

        async fn websocket_close(
            &self,
            ws: worker::WebSocket,
            code: usize,
            reason: String,
            was_clean: bool,
        ) -> worker::Result<()> {
            self.inner
                .websocket_close(ws, code, reason, was_clean)
                .await
        }

        async fn websocket_error(
            &self,
            ws: worker::WebSocket,
            error: worker::Error,
        ) -> worker::Result<()> {
            self.inner.websocket_error(ws, error).await
        }

        async fn alarm(&self) -> worker::Result<worker::Response> {
            self.inner.alarm().await
        }
    }
}
pub use shop_object::ShopUser;
limiter_object!(RateLimiter);

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let url = req.url()?;
    let path = url.path();
    let (project, rest) = match path.split_once('/').map(|(_, p)| p.split_once('/')) {
        Some(Some((project, rest))) => (project.to_owned(), format!("/{rest}")),
        _ => (String::new(), String::new()),
    };
    let router = match project.as_str() {
        "blog" => UserDoWorker::new("BLOG_DO"),
        "shop" => UserDoWorker::new("SHOP_DO"),
        _ => {
            let body = Error::NotFound("no such project: /blog or /shop".into()).to_body();
            return Ok(Response::from_json(&body)?.with_status(404));
        }
    };
    let mut inner = url.clone();
    inner.set_path(&rest);
    let mut init = RequestInit::new();
    init.with_method(req.method())
        .with_headers(req.headers().clone());
    if let Some(body) = req.inner().body() {
        init.with_body(Some(body.into()));
    }
    router
        .fetch(Request::new_with_init(inner.as_str(), &init)?, env)
        .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use worker_factory::testing::TestUser;

    use super::*;

    #[test]
    fn each_project_has_its_own_tables() {
        let blog = TestUser::<Blog>::signed_up(Vars::none()).unwrap();
        let shop = TestUser::<Shop>::signed_up(Vars::none()).unwrap();
        blog.ctx()
            .table::<Post>()
            .unwrap()
            .create(&Post { text: "hi".into() })
            .unwrap();
        assert!(shop.ctx().table::<Post>().is_err(), "the shop has no posts");
        assert!(
            blog.ctx().table::<Order>().is_err(),
            "the blog has no orders"
        );
        let order = Order {
            item: "tea".into(),
            quantity: 2,
        };
        shop.ctx().table::<Order>().unwrap().create(&order).unwrap();
    }
}
