//! The runtime's [`Mailer`]s: the dev outbox when `DEV_OUTBOX` is `"true"`, otherwise the webhook
//! at `MAIL_WEBHOOK_URL` (a POST of `{to, subject, text, kind}` with
//! `Authorization: Bearer $MAIL_WEBHOOK_SECRET`), which forwards it to a mail service.

use serde_json::json;
use userdo::mail::{Mail, Mailer};
use userdo::{Error, Result, Store};
use worker::{Env, Fetch, Headers, Method};

use crate::responses::{Outbox, OutboxMessage};
use crate::settings::env_value;

const CREATE_OUTBOX: &str = "CREATE TABLE IF NOT EXISTS _userdo_dev_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    to_email TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    token TEXT NOT NULL,
    created_at INTEGER NOT NULL
)";
/// The outbox keeps this many messages per user.
const OUTBOX_KEEP: i64 = 50;

/// Whether the dev outbox is on (`DEV_OUTBOX=true`).
pub fn dev_outbox_enabled(env: &Env) -> bool {
    env_value(env, "DEV_OUTBOX").is_some_and(|v| v.trim() == "true")
}

/// Keeps mail in the user's own object, for `GET /api/dev/outbox` (local development).
pub struct DevOutbox<'a> {
    store: &'a dyn Store,
    now_ms: i64,
}

impl std::fmt::Debug for DevOutbox<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevOutbox")
            .field("now_ms", &self.now_ms)
            .finish_non_exhaustive()
    }
}

impl Mailer for DevOutbox<'_> {
    async fn send(&self, mail: &Mail) -> Result<()> {
        let store = self.store;
        store.execute(CREATE_OUTBOX, &[])?;
        store.execute(
            "INSERT INTO _userdo_dev_outbox (to_email, subject, text, token, created_at) VALUES (?, ?, ?, ?, ?)",
            &[(&mail.to).into(), (&mail.subject).into(), (&mail.text).into(), (&mail.token).into(), self.now_ms.into()],
        )?;
        store.execute(
            "DELETE FROM _userdo_dev_outbox WHERE id NOT IN (SELECT id FROM _userdo_dev_outbox ORDER BY id DESC LIMIT ?)",
            &[OUTBOX_KEEP.into()],
        )?;
        Ok(())
    }
}

/// Posts mail as JSON to a webhook of the project's (which sends it with a mail service).
#[derive(Debug, Clone)]
pub struct WebhookMailer {
    url: String,
    secret: Option<String>,
}

impl Mailer for WebhookMailer {
    async fn send(&self, mail: &Mail) -> Result<()> {
        let headers = Headers::new();
        headers.set("content-type", "application/json")?;
        if let Some(secret) = &self.secret {
            headers.set("authorization", &format!("Bearer {secret}"))?;
        }
        let body =
            json!({ "to": mail.to, "subject": mail.subject, "text": mail.text, "kind": mail.kind });
        let req =
            crate::http::new_request(&self.url, Method::Post, &headers, Some(&body.to_string()))?;
        let response = Fetch::Request(req).send().await?;
        match response.status_code() {
            200..=299 => Ok(()),
            status => Err(Error::internal(format!("mail webhook answered {status}"))),
        }
    }
}

/// The mailer the deployment's variables choose.
#[derive(Debug)]
pub enum RuntimeMailer<'a> {
    /// `DEV_OUTBOX=true`.
    DevOutbox(DevOutbox<'a>),
    /// `MAIL_WEBHOOK_URL` (and `MAIL_WEBHOOK_SECRET`).
    Webhook(WebhookMailer),
}

impl<'a> RuntimeMailer<'a> {
    /// Chooses from the variables; neither configured is a [`Error::Config`].
    pub fn from_env(env: &Env, store: &'a dyn Store, now_ms: i64) -> Result<Self> {
        if dev_outbox_enabled(env) {
            return Ok(Self::DevOutbox(DevOutbox { store, now_ms }));
        }
        let url = env_value(env, "MAIL_WEBHOOK_URL")
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                Error::Config("no mailer: set MAIL_WEBHOOK_URL (or DEV_OUTBOX=true locally)".into())
            })?;
        Ok(Self::Webhook(WebhookMailer {
            url,
            secret: env_value(env, "MAIL_WEBHOOK_SECRET"),
        }))
    }
}

impl Mailer for RuntimeMailer<'_> {
    async fn send(&self, mail: &Mail) -> Result<()> {
        match self {
            Self::DevOutbox(outbox) => outbox.send(mail).await,
            Self::Webhook(webhook) => webhook.send(mail).await,
        }
    }
}

/// Sends one message through the configured mailer.
pub async fn deliver(env: &Env, store: &dyn Store, now_ms: i64, mail: &Mail) -> Result<()> {
    RuntimeMailer::from_env(env, store, now_ms)?
        .send(mail)
        .await
}

/// The dev outbox of this object: `{messages: [{to, subject, text, token, createdAt}]}`, newest last.
pub fn outbox(store: &dyn Store) -> Result<Outbox> {
    let exists = store.query(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_userdo_dev_outbox'",
        &[],
    )?;
    let rows = if exists.is_empty() {
        Vec::new()
    } else {
        store.query(
            "SELECT to_email, subject, text, token, created_at FROM _userdo_dev_outbox ORDER BY id",
            &[],
        )?
    };
    let messages = rows
        .iter()
        .map(|r| {
            Ok(OutboxMessage {
                to: r.text(0)?.to_owned(),
                subject: r.text(1)?.to_owned(),
                text: r.text(2)?.to_owned(),
                token: r.text(3)?.to_owned(),
                created_at: r.int(4)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Outbox { messages })
}
