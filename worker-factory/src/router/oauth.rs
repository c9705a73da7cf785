//! Sign-in with OpenID Connect and OAuth 2.0 providers, worker side: the authorization-code flow
//! with PKCE (S256), `state` and `nonce` bound to the browser by a sealed, HttpOnly, SameSite=Lax
//! cookie that lives 10 minutes; the code exchange; the ID token's signature checked with the
//! runtime's WebCrypto against the issuer's published keys (RS256, ES256), its claims in
//! `userdo::oauth`; then the account, decided in the user's object.
//!
//! Discovery documents and key sets are kept in the isolate for an hour; an ID token signed by a
//! key id the cached set lacks makes one fresh fetch.

use std::cell::RefCell;
use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value as Json, json};
use userdo::oauth::{
    self, ExternalIdentity, FlowState, Provider, ProviderInfo, ProviderKind, STATE_TTL_SECS,
};
use userdo::{Error, Platform, Result, Settings, email};
use worker::js_sys::{self, Array, Function, Promise, Reflect, Uint8Array};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Env, Fetch, Headers, Method, ObjectNamespace, Request, Response};

use super::credentials::{Origins, verified_caller};
use super::limits::Limits;
use super::parse::Target;
use crate::hop::{Call, Hop};
use crate::http::{
    REFRESH_COOKIE, RequestUrl, TOKEN_COOKIE, cookie, new_request, origin_of, respond, set_cookie,
};
use crate::request_url::with_query_pairs;
use crate::responses::ProviderList;
use crate::routes::{Endpoint, RateBucket};
use crate::settings::env_value;
use crate::store::WorkerPlatform;

/// The state cookie's name.
pub(crate) const STATE_COOKIE: &str = "userdo_oauth";
/// How long a discovery document or key set is kept.
const CACHE_MS: i64 = 60 * 60 * 1000;

thread_local! {
    /// Fetched JSON documents by URL, with the time they were fetched.
    static DOCUMENTS: RefCell<HashMap<String, (Json, i64)>> = RefCell::new(HashMap::new());
}

/// Everything an OAuth endpoint needs from the pipeline.
pub(super) struct Ctx<'a> {
    pub(super) env: &'a Env,
    pub(super) origins: &'a Origins<'a>,
    pub(super) settings: &'a Settings,
    pub(super) namespace: &'a ObjectNamespace,
    pub(super) secure: bool,
    /// The rate limit of the endpoint, if it has one and the worker counts limits.
    pub(super) limits: Option<(&'a Limits<'a>, RateBucket)>,
}

/// The configured providers.
fn providers(env: &Env) -> Result<Vec<Provider>> {
    oauth::providers_from_vars(&|name| env_value(env, name))
}

fn provider(env: &Env, id: &str) -> Result<Provider> {
    providers(env)?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| Error::NotFound("no such sign-in provider".into()))
}

/// Answers the three endpoints the worker handles itself.
pub(super) async fn answer(
    endpoint: Endpoint,
    params: &[&str],
    req: &Request,
    ctx: &Ctx<'_>,
) -> Result<Response> {
    let id = params.first().copied().unwrap_or_default();
    match endpoint {
        Endpoint::OAuthProviders => {
            let providers = providers(ctx.env)?
                .into_iter()
                .map(|p| ProviderInfo {
                    id: p.id,
                    name: p.name,
                })
                .collect();
            respond(200, &ProviderList { providers })
        }
        Endpoint::OAuthStart => start(id, req, ctx).await,
        Endpoint::OAuthCallback => callback(id, req, ctx).await,
        _ => Err(Error::internal("not an endpoint the worker answers")),
    }
}

fn now_secs() -> i64 {
    WorkerPlatform.now_ms() / 1000
}

fn state_cookie(value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{STATE_COOKIE}={value}; Max-Age={max_age}; Path=/api/oauth; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

fn redirect(location: &str) -> Result<Response> {
    let response = Response::empty()?.with_status(302);
    response.headers().set("location", location)?;
    response.headers().set("cache-control", "no-store")?;
    Ok(response)
}

/// `GET /api/oauth/{id}/start?returnTo=P[&link=true]`: 302 to the provider.
async fn start(id: &str, req: &Request, ctx: &Ctx<'_>) -> Result<Response> {
    let provider = provider(ctx.env, id)?;
    let url = ctx.origins.url;
    let return_to =
        oauth::check_return_to(url.query_value("returnTo").as_deref(), ctx.origins.allowed)?;
    let link = match url.query_value("link").as_deref() {
        None | Some("false") => None,
        Some("true") => {
            let claims = verified_caller(req, ctx.origins, ctx.settings, false)?;
            Some((claims.sub, claims.sid))
        }
        Some(_) => return Err(Error::InvalidQuery("link must be true or false".into())),
    };
    let endpoints = endpoints(&provider)
        .await
        .map_err(|_| Error::internal("the sign-in provider's discovery failed"))?;
    let platform = WorkerPlatform;
    let state = FlowState {
        provider: provider.id.clone(),
        state: oauth::random_string(&platform)?,
        nonce: oauth::random_string(&platform)?,
        verifier: oauth::random_string(&platform)?,
        return_to,
        link,
        exp: now_secs() + STATE_TTL_SECS,
    };
    // An absolute URL with a host, used as given (a host name in its ASCII form).
    RequestUrl::parse(&endpoints.authorization)
        .map_err(|e| Error::internal_from("the provider's authorization endpoint", e))?;
    let (redirect_to, challenge) = (
        redirect_uri(url, &provider.id),
        oauth::code_challenge(&state.verifier),
    );
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", provider.client_id.as_str()),
        ("redirect_uri", redirect_to.as_str()),
        ("state", state.state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    match provider.kind {
        ProviderKind::Oidc { .. } => {
            pairs.extend([("scope", "openid email profile"), ("nonce", &state.nonce)]);
        }
        ProviderKind::Github { .. } => pairs.push(("scope", "read:user user:email")),
    }
    let response = redirect(&with_query_pairs(&endpoints.authorization, &pairs))?;
    response.headers().append(
        "set-cookie",
        &state_cookie(
            &state.seal(&ctx.settings.state_key)?,
            STATE_TTL_SECS,
            ctx.secure,
        ),
    )?;
    Ok(response)
}

fn redirect_uri(url: &RequestUrl, id: &str) -> String {
    format!("{}/api/oauth/{id}/callback", origin_of(url))
}

/// `GET /api/oauth/{id}/callback`: signs in and answers 302 to `returnTo`, or 302 there with
/// `oauth_error` and no session. The state cookie is cleared either way.
async fn callback(id: &str, req: &Request, ctx: &Ctx<'_>) -> Result<Response> {
    let state = cookie(req.headers(), STATE_COOKIE)
        .and_then(|c| FlowState::open(&c, &ctx.settings.state_key, now_secs()))
        .filter(|s| s.provider == id);
    let outcome = match &state {
        None => Err(Refused::new("invalid_state")),
        Some(state) => run(id, state, ctx).await,
    };
    let return_to = state.as_ref().map_or("/", |s| s.return_to.as_str());
    let response = match outcome {
        Ok(tokens) => signed_in(return_to, tokens.as_ref(), ctx)?,
        Err(refused) => {
            if let Some(detail) = &refused.detail {
                worker::console_log!(
                    "userdo: sign-in with {id} refused ({}): {detail}",
                    refused.code
                );
            }
            redirect(&oauth::with_error(return_to, &refused.code))?
        }
    };
    response
        .headers()
        .append("set-cookie", &state_cookie("", 0, ctx.secure))?;
    Ok(response)
}

/// The session cookies of a sign-in (none for a link), then 302 to `returnTo`.
fn signed_in(return_to: &str, tokens: Option<&Tokens>, ctx: &Ctx<'_>) -> Result<Response> {
    let response = redirect(return_to)?;
    if let Some(tokens) = tokens {
        let h = response.headers();
        let s = ctx.settings;
        h.append(
            "set-cookie",
            &set_cookie(TOKEN_COOKIE, &tokens.token, s.access_ttl_secs, ctx.secure),
        )?;
        h.append(
            "set-cookie",
            &set_cookie(
                REFRESH_COOKIE,
                &tokens.refresh_token,
                s.refresh_ttl_secs,
                ctx.secure,
            ),
        )?;
    }
    Ok(response)
}

/// A refusal: the `oauth_error` code, and what the log gets.
struct Refused {
    code: String,
    detail: Option<String>,
}

impl Refused {
    fn new(code: &str) -> Self {
        Self {
            code: code.to_owned(),
            detail: None,
        }
    }

    fn because(code: &str, detail: impl std::fmt::Display) -> Self {
        Self {
            code: code.to_owned(),
            detail: Some(detail.to_string()),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tokens {
    user: Json,
    token: String,
    refresh_token: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
enum Outcome {
    SignedIn(Tokens),
    Linked,
    Refused(String),
}

/// The flow after the state cookie was read: the session's tokens (`None` after a link).
async fn run(
    id: &str,
    state: &FlowState,
    ctx: &Ctx<'_>,
) -> std::result::Result<Option<Tokens>, Refused> {
    let url = ctx.origins.url;
    if let Some(error) = url.query_value("error") {
        let code = if !error.is_empty()
            && error.len() <= 64
            && error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        {
            error
        } else {
            "provider_error".to_owned()
        };
        return Err(Refused::new(&code));
    }
    let given = url.query_value("state").unwrap_or_default();
    if !oauth::same(&given, &state.state) {
        return Err(Refused::new("invalid_state"));
    }
    let code = url
        .query_value("code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Refused::new("invalid_request"))?;
    // Counted as a login of this IP, before the work with the provider.
    if let Some((limits, bucket)) = ctx.limits {
        limits
            .before(bucket, || Ok(String::new()))
            .await
            .map_err(|e| match e {
                Error::RateLimited { .. } => Refused::new("rate_limited"),
                other => Refused::because("provider_error", other),
            })?;
    }
    let provider = provider(ctx.env, id).map_err(|e| Refused::because("provider_error", e))?;
    let endpoints = endpoints(&provider)
        .await
        .map_err(|e| Refused::because("provider_error", e))?;
    let answer = exchange(&provider, &endpoints, &code, state, url)
        .await
        .map_err(|e| Refused::because("exchange_failed", e))?;
    let identity = match &provider.kind {
        ProviderKind::Oidc { issuer } => {
            oidc_identity(&provider, issuer, &endpoints, &answer, state).await?
        }
        ProviderKind::Github { api_url, .. } => {
            github_identity(&provider, api_url, &answer).await?
        }
    };
    sign_in(identity, state, ctx).await
}

/// Where a provider's endpoints are.
struct Endpoints {
    authorization: String,
    token: String,
    jwks: Option<String>,
    /// Whether the token endpoint takes the client secret in the body.
    secret_in_body: bool,
}

async fn endpoints(provider: &Provider) -> Result<Endpoints> {
    match &provider.kind {
        ProviderKind::Github {
            authorization_url,
            token_url,
            ..
        } => Ok(Endpoints {
            authorization: authorization_url.clone(),
            token: token_url.clone(),
            jwks: None,
            secret_in_body: true,
        }),
        ProviderKind::Oidc { issuer } => {
            let url = format!(
                "{}/.well-known/openid-configuration",
                issuer.trim_end_matches('/')
            );
            let doc = cached_json(&url, false).await?;
            if doc["issuer"].as_str() != Some(issuer.as_str()) {
                return Err(Error::internal(
                    "the discovery document names another issuer",
                ));
            }
            let text = |key: &str| {
                doc[key]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::internal(format!("the discovery document lacks {key}")))
            };
            let methods = doc["token_endpoint_auth_methods_supported"].as_array();
            let secret_in_body = methods.is_none_or(|m| {
                m.iter().any(|v| v.as_str() == Some("client_secret_post"))
                    || !m.iter().any(|v| v.as_str() == Some("client_secret_basic"))
            });
            Ok(Endpoints {
                authorization: text("authorization_endpoint")?,
                token: text("token_endpoint")?,
                jwks: Some(text("jwks_uri")?),
                secret_in_body,
            })
        }
    }
}

async fn fetch_json(req: Request) -> Result<Json> {
    let response = Fetch::Request(req).send().await?;
    let status = response.status_code();
    let text = crate::http::body_text(response).await?;
    if !(200..300).contains(&status) {
        return Err(Error::internal(format!("the provider answered {status}")));
    }
    serde_json::from_str(&text).map_err(|e| Error::internal_from("the provider's JSON", e))
}

fn get_request(url: &str, bearer: Option<&str>) -> Result<Request> {
    let headers = Headers::new();
    headers.set("accept", "application/json")?;
    headers.set("user-agent", "userdo-rs")?;
    if let Some(token) = bearer {
        headers.set("authorization", &format!("Bearer {token}"))?;
    }
    Ok(new_request(url, Method::Get, &headers, None)?)
}

/// A JSON document, from the isolate's cache when younger than an hour (unless `fresh`).
async fn cached_json(url: &str, fresh: bool) -> Result<Json> {
    let now = WorkerPlatform.now_ms();
    if !fresh
        && let Some(doc) = DOCUMENTS.with(|d| {
            d.borrow()
                .get(url)
                .filter(|(_, at)| now - at < CACHE_MS)
                .map(|(doc, _)| doc.clone())
        })
    {
        return Ok(doc);
    }
    let doc = fetch_json(get_request(url, None)?).await?;
    DOCUMENTS.with(|d| d.borrow_mut().insert(url.to_owned(), (doc.clone(), now)));
    Ok(doc)
}

/// The code exchange (with the PKCE verifier): the token endpoint's JSON answer.
async fn exchange(
    provider: &Provider,
    endpoints: &Endpoints,
    code: &str,
    state: &FlowState,
    url: &RequestUrl,
) -> Result<Json> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", &redirect_uri(url, &provider.id))
        .append_pair("code_verifier", &state.verifier)
        .append_pair("client_id", &provider.client_id);
    if endpoints.secret_in_body {
        form.append_pair("client_secret", &provider.client_secret);
    }
    let headers = Headers::new();
    headers.set("content-type", "application/x-www-form-urlencoded")?;
    headers.set("accept", "application/json")?;
    headers.set("user-agent", "userdo-rs")?;
    if !endpoints.secret_in_body {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = STANDARD.encode(format!(
            "{}:{}",
            encode(&provider.client_id),
            encode(&provider.client_secret)
        ));
        headers.set("authorization", &format!("Basic {basic}"))?;
    }
    let body = form.finish();
    let request = new_request(
        &endpoints.token,
        Method::Post,
        &headers,
        Some(body.as_str()),
    )?;
    let answer = fetch_json(request).await?;
    if let Some(error) = answer["error"].as_str() {
        return Err(Error::internal(format!(
            "the token endpoint refused: {error}"
        )));
    }
    Ok(answer)
}

/// The identity of an OpenID Connect sign-in, from its verified ID token.
async fn oidc_identity(
    provider: &Provider,
    issuer: &str,
    endpoints: &Endpoints,
    answer: &Json,
    state: &FlowState,
) -> std::result::Result<ExternalIdentity, Refused> {
    let invalid = |e: Error| Refused::because("invalid_id_token", e);
    let raw = answer["id_token"]
        .as_str()
        .ok_or_else(|| Refused::new("invalid_id_token"))?;
    let token = oauth::parse_id_token(raw).map_err(invalid)?;
    let jwks_url = endpoints
        .jwks
        .as_deref()
        .ok_or_else(|| Refused::new("provider_error"))?;
    let mut key = None;
    for fresh in [false, true] {
        let set = cached_json(jwks_url, fresh)
            .await
            .map_err(|e| Refused::because("provider_error", e))?;
        key = find_key(&set, &token.alg, token.kid.as_deref());
        if key.is_some() {
            break;
        }
    }
    let key = key.ok_or_else(|| Refused::new("invalid_id_token"))?;
    let valid = verify_signature(&token.alg, &key, token.signed.as_bytes(), &token.signature)
        .await
        .map_err(invalid)?;
    if !valid {
        return Err(Refused::new("invalid_id_token"));
    }
    let (subject, email, verified) = oauth::check_id_claims(
        &token.claims,
        issuer,
        &provider.client_id,
        &state.nonce,
        now_secs(),
    )
    .map_err(invalid)?;
    let email = email
        .and_then(|e| email::normalize(&e).ok())
        .ok_or_else(|| Refused::new("email_missing"))?;
    Ok(ExternalIdentity {
        provider: provider.id.clone(),
        subject,
        email,
        email_verified: verified,
    })
}

/// The key of `set` for `alg` and `kid` (any key of the right type when the token names none).
fn find_key(set: &Json, alg: &str, kid: Option<&str>) -> Option<Json> {
    let kty = if alg == "RS256" { "RSA" } else { "EC" };
    set["keys"]
        .as_array()?
        .iter()
        .filter(|k| k["kty"].as_str() == Some(kty))
        .filter(|k| k["use"].as_str().is_none_or(|u| u == "sig"))
        .filter(|k| k["alg"].as_str().is_none_or(|a| a == alg))
        .filter(|k| alg != "ES256" || k["crv"].as_str() == Some("P-256"))
        .find(|k| kid.is_none_or(|kid| k["kid"].as_str() == Some(kid)))
        .cloned()
}

fn js_error(what: &str) -> impl Fn(JsValue) -> Error + '_ {
    move |e| Error::internal(format!("WebCrypto {what}: {e:?}"))
}

/// Checks a JWS signature with the runtime's WebCrypto (`crypto.subtle`).
async fn verify_signature(alg: &str, jwk: &Json, signed: &[u8], signature: &[u8]) -> Result<bool> {
    let (import_alg, verify_alg, public) = match alg {
        "RS256" => (
            json!({"name": "RSASSA-PKCS1-v1_5", "hash": "SHA-256"}),
            json!({"name": "RSASSA-PKCS1-v1_5"}),
            json!({"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}),
        ),
        "ES256" => (
            json!({"name": "ECDSA", "namedCurve": "P-256"}),
            json!({"name": "ECDSA", "hash": "SHA-256"}),
            json!({"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]}),
        ),
        _ => return Ok(false),
    };
    let js = |v: &Json| js_sys::JSON::parse(&v.to_string()).map_err(js_error("argument"));
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .map_err(js_error("crypto"))?;
    let subtle = Reflect::get(&crypto, &JsValue::from_str("subtle")).map_err(js_error("subtle"))?;
    let method = |name: &str| -> Result<Function> {
        Reflect::get(&subtle, &JsValue::from_str(name))
            .map_err(js_error("method"))?
            .dyn_into::<Function>()
            .map_err(js_error("method"))
    };
    let args = Array::of5(
        &JsValue::from_str("jwk"),
        &js(&public)?,
        &js(&import_alg)?,
        &JsValue::FALSE,
        &Array::of1(&JsValue::from_str("verify")),
    );
    let promise: Promise = method("importKey")?
        .apply(&subtle, &args)
        .map_err(js_error("importKey"))?
        .dyn_into()
        .map_err(js_error("importKey"))?;
    let key = JsFuture::from(promise)
        .await
        .map_err(js_error("importKey"))?;
    let args = Array::of4(
        &js(&verify_alg)?,
        &key,
        &Uint8Array::from(signature),
        &Uint8Array::from(signed),
    );
    let promise: Promise = method("verify")?
        .apply(&subtle, &args)
        .map_err(js_error("verify"))?
        .dyn_into()
        .map_err(js_error("verify"))?;
    let ok = JsFuture::from(promise).await.map_err(js_error("verify"))?;
    Ok(ok.as_bool() == Some(true))
}

/// The identity of a GitHub sign-in: the user's id, and the primary email with its verified
/// flag from `/user/emails`.
async fn github_identity(
    provider: &Provider,
    api_url: &str,
    answer: &Json,
) -> std::result::Result<ExternalIdentity, Refused> {
    let token = answer["access_token"]
        .as_str()
        .ok_or_else(|| Refused::new("exchange_failed"))?;
    let api = |path: &str| {
        let url = format!("{api_url}{path}");
        async move { fetch_json(get_request(&url, Some(token))?).await }
    };
    let user = api("/user")
        .await
        .map_err(|e| Refused::because("provider_error", e))?;
    let subject = match &user["id"] {
        Json::Number(n) => n.to_string(),
        Json::String(s) if !s.is_empty() => s.clone(),
        _ => return Err(Refused::new("provider_error")),
    };
    let emails = api("/user/emails")
        .await
        .map_err(|e| Refused::because("provider_error", e))?;
    let primary = emails
        .as_array()
        .and_then(|list| list.iter().find(|e| e["primary"].as_bool() == Some(true)))
        .ok_or_else(|| Refused::new("email_missing"))?;
    let email = primary["email"]
        .as_str()
        .and_then(|e| email::normalize(e).ok())
        .ok_or_else(|| Refused::new("email_missing"))?;
    Ok(ExternalIdentity {
        provider: provider.id.clone(),
        subject,
        email,
        email_verified: primary["verified"].as_bool() == Some(true),
    })
}

/// Sends `call` to the object `target` and reads its [`Outcome`].
async fn outcome(ctx: &Ctx<'_>, target: &Target, call: Call) -> Result<Outcome> {
    let stub = super::forward::stub(ctx.namespace, target)?;
    let hop = Hop {
        orgs: None,
        caller: None,
        user_agent: String::new(),
        failures: None,
        finish: None,
        call,
    };
    let mut response = super::forward::send(&stub, &hop, false).await?;
    if response.status_code() != 200 {
        return Err(Error::internal(format!(
            "a sign-in step answered {}",
            response.status_code()
        )));
    }
    response
        .json()
        .await
        .map_err(|e| Error::internal_from("a sign-in step's answer", e))
}

/// The identity index's object for `identity`: which account it was last linked to (a hint;
/// the account's object decides).
fn index_stub(ctx: &Ctx<'_>, identity: &ExternalIdentity) -> Result<worker::Stub> {
    let name = oauth::identity_object_name(&identity.provider, &identity.subject);
    Ok(ctx.namespace.id_from_name(&name)?.get_stub()?)
}

async fn index_get(ctx: &Ctx<'_>, identity: &ExternalIdentity) -> Result<Option<String>> {
    let stub = index_stub(ctx, identity)?;
    let hop = Hop {
        orgs: None,
        caller: None,
        user_agent: String::new(),
        failures: None,
        finish: None,
        call: Call::IdentityIndex { set: None },
    };
    let mut response = super::forward::send(&stub, &hop, false).await?;
    let body: Json = response
        .json()
        .await
        .map_err(|e| Error::internal_from("the identity index", e))?;
    Ok(body["userId"].as_str().map(str::to_owned))
}

async fn index_set(ctx: &Ctx<'_>, identity: &ExternalIdentity, user_id: &str) {
    let hop = Hop {
        orgs: None,
        caller: None,
        user_agent: String::new(),
        failures: None,
        finish: None,
        call: Call::IdentityIndex {
            set: Some(user_id.to_owned()),
        },
    };
    let sent = match index_stub(ctx, identity) {
        Ok(stub) => super::forward::send(&stub, &hop, false).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        // The account has the identity; the next sign-in finds it by email again.
        worker::console_error!("userdo: the identity index was not updated: {e}");
    }
}

/// The account side: link (while signed in), or sign in to the linked account, else to the
/// account of the email (linked only when verified), else a new account.
async fn sign_in(
    identity: ExternalIdentity,
    state: &FlowState,
    ctx: &Ctx<'_>,
) -> std::result::Result<Option<Tokens>, Refused> {
    let failed = |e: Error| Refused::because("provider_error", e);
    let linked_to = index_get(ctx, &identity).await.map_err(failed)?;
    if let Some((user_id, session_id)) = &state.link {
        if let Some(other) = linked_to.as_ref().filter(|o| *o != user_id) {
            // Still linked there? That account decides.
            let check = Call::OAuthSignIn {
                identity: identity.clone(),
                by_email: false,
                check_only: true,
            };
            if let Outcome::Linked = outcome(ctx, &Target::User(other.clone()), check)
                .await
                .map_err(failed)?
            {
                return Err(Refused::new("identity_taken"));
            }
        }
        let call = Call::OAuthLink {
            session_id: session_id.clone(),
            identity: identity.clone(),
        };
        return match outcome(ctx, &Target::User(user_id.clone()), call)
            .await
            .map_err(failed)?
        {
            Outcome::Linked => {
                index_set(ctx, &identity, user_id).await;
                Ok(None)
            }
            Outcome::Refused(code) => Err(Refused::new(&code)),
            Outcome::SignedIn(_) => Err(Refused::new("provider_error")),
        };
    }
    if let Some(user_id) = &linked_to {
        let call = Call::OAuthSignIn {
            identity: identity.clone(),
            by_email: false,
            check_only: false,
        };
        match outcome(ctx, &Target::User(user_id.clone()), call)
            .await
            .map_err(failed)?
        {
            Outcome::SignedIn(tokens) => return Ok(Some(tokens)),
            Outcome::Refused(code) if code == "not_linked" => {}
            Outcome::Refused(code) => return Err(Refused::new(&code)),
            Outcome::Linked => return Err(Refused::new("provider_error")),
        }
    }
    let call = Call::OAuthSignIn {
        identity: identity.clone(),
        by_email: true,
        check_only: false,
    };
    match outcome(ctx, &Target::Email(identity.email.clone()), call)
        .await
        .map_err(failed)?
    {
        Outcome::SignedIn(tokens) => {
            if let Some(id) = tokens.user["id"].as_str() {
                index_set(ctx, &identity, id).await;
            }
            Ok(Some(tokens))
        }
        Outcome::Refused(code) => Err(Refused::new(&code)),
        Outcome::Linked => Err(Refused::new("provider_error")),
    }
}
