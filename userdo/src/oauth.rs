//! Sign-in with OpenID Connect and OAuth 2.0 providers, the parts with no runtime in them: the
//! providers from configuration, `returnTo`, the signed state cookie, the ID token's claims, and
//! the account side (identities linked to an account, accounts without a password).
//!
//! The worker runs the flow (the redirects, the code exchange, the signature check with the
//! runtime's WebCrypto); the user's object decides which account an identity signs in to.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::UserDo;
use crate::api::AuthResponse;
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::principal::ClientInfo;
use crate::store::{Statement, Store, Value};

/// How long the state cookie lives (10 minutes).
pub const STATE_TTL_SECS: i64 = 600;
/// The most providers a worker configures.
pub const MAX_PROVIDERS: usize = 20;

/// What kind of provider an id is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderKind {
    /// Any OpenID Connect issuer, found by discovery (`{issuer}/.well-known/openid-configuration`).
    Oidc {
        /// The issuer, exactly as its ID tokens name it.
        issuer: String,
    },
    /// GitHub: OAuth 2.0, the user from its API and the primary verified email from
    /// `/user/emails`.
    Github {
        /// The authorization endpoint.
        authorization_url: String,
        /// The token endpoint.
        token_url: String,
        /// The API's base (`https://api.github.com`).
        api_url: String,
    },
}

/// One configured provider.
#[derive(Clone, PartialEq, Eq)]
pub struct Provider {
    /// Its id, as in the paths (`/api/oauth/{id}/start`): lower-case letters, digits, `-`, `_`.
    pub id: String,
    /// Its name, for a "Sign in with ..." button.
    pub name: String,
    /// Where it is and how it speaks.
    pub kind: ProviderKind,
    /// The client id registered there.
    pub client_id: String,
    /// The client secret (a secret: never logged, never sent but to the token endpoint).
    pub client_secret: String,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// `{id, name}` of `GET /api/oauth/providers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProviderInfo {
    /// The id in the paths.
    pub id: String,
    /// The name to show.
    pub name: String,
}

/// The providers of `OAUTH_PROVIDERS` (a comma list of ids), each from `OAUTH_<ID>_ISSUER` or
/// `OAUTH_<ID>_PRESET` (`github`, `google`) with `OAUTH_<ID>_CLIENT_ID` and
/// `OAUTH_<ID>_CLIENT_SECRET`; `OAUTH_<ID>_NAME` names it. The GitHub preset's endpoints can be
/// moved (GitHub Enterprise, tests) with `OAUTH_<ID>_AUTHORIZATION_URL`, `_TOKEN_URL` and
/// `_API_URL`. A mistake is a configuration error naming the variable.
pub fn providers_from_vars(var: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Provider>> {
    let Some(list) = var("OAUTH_PROVIDERS").filter(|l| !l.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let mut providers: Vec<Provider> = Vec::new();
    for id in list.split(',').map(str::trim).filter(|id| !id.is_empty()) {
        let valid = id.len() <= 32
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid {
            return Err(Error::Config(format!(
                "OAUTH_PROVIDERS: {id:?} is not an id (lower-case letters, digits, - and _)"
            )));
        }
        if providers.iter().any(|p| p.id == id) {
            return Err(Error::Config(format!("OAUTH_PROVIDERS names {id} twice")));
        }
        let key = id.to_ascii_uppercase().replace('-', "_");
        let get = |suffix: &str| {
            var(&format!("OAUTH_{key}_{suffix}"))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let need = |suffix: &str| {
            get(suffix).ok_or_else(|| {
                Error::Config(format!("OAUTH_{key}_{suffix} is needed for the provider {id}"))
            })
        };
        let (kind, default_name) = match (get("ISSUER"), get("PRESET").as_deref()) {
            (Some(issuer), None) => (ProviderKind::Oidc { issuer }, id.to_owned()),
            (None, Some("google")) => (
                ProviderKind::Oidc {
                    issuer: "https://accounts.google.com".to_owned(),
                },
                "Google".to_owned(),
            ),
            (None, Some("github")) => (
                ProviderKind::Github {
                    authorization_url: get("AUTHORIZATION_URL").unwrap_or_else(|| {
                        "https://github.com/login/oauth/authorize".to_owned()
                    }),
                    token_url: get("TOKEN_URL").unwrap_or_else(|| {
                        "https://github.com/login/oauth/access_token".to_owned()
                    }),
                    api_url: get("API_URL")
                        .unwrap_or_else(|| "https://api.github.com".to_owned())
                        .trim_end_matches('/')
                        .to_owned(),
                },
                "GitHub".to_owned(),
            ),
            (None, Some(other)) => {
                return Err(Error::Config(format!(
                    "OAUTH_{key}_PRESET: {other:?} is not a preset (github, google)"
                )));
            }
            (Some(_), Some(_)) => {
                return Err(Error::Config(format!(
                    "the provider {id} has both OAUTH_{key}_ISSUER and OAUTH_{key}_PRESET"
                )));
            }
            (None, None) => {
                return Err(Error::Config(format!(
                    "the provider {id} needs OAUTH_{key}_ISSUER or OAUTH_{key}_PRESET"
                )));
            }
        };
        providers.push(Provider {
            id: id.to_owned(),
            name: get("NAME").unwrap_or(default_name),
            kind,
            client_id: need("CLIENT_ID")?,
            client_secret: need("CLIENT_SECRET")?,
        });
        if providers.len() > MAX_PROVIDERS {
            return Err(Error::Config(format!(
                "OAUTH_PROVIDERS: at most {MAX_PROVIDERS} providers"
            )));
        }
    }
    Ok(providers)
}

/// Checks `returnTo`: a path on this origin (one leading `/`, not `//` nor `/\`), or an absolute
/// URL on an origin in `allowed`; nothing given is `/`. Anything else is 400 `invalid_query`.
pub fn check_return_to(raw: Option<&str>, allowed: &[String]) -> Result<String> {
    let Some(raw) = raw else {
        return Ok("/".to_owned());
    };
    let refuse = || {
        Error::InvalidQuery(
            "returnTo must be a path on this site or a URL on an allowed origin".into(),
        )
    };
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) || raw.len() > 2048 {
        return Err(refuse());
    }
    if let Some(rest) = raw.strip_prefix('/') {
        if rest.starts_with('/') || rest.starts_with('\\') {
            return Err(refuse());
        }
        return Ok(raw.to_owned());
    }
    let origin = origin_of(raw).ok_or_else(refuse)?;
    if allowed.iter().any(|a| a.trim_end_matches('/') == origin) {
        Ok(raw.to_owned())
    } else {
        Err(refuse())
    }
}

/// The origin (`scheme://host[:port]`) of an absolute `http`/`https` URL, lower-cased.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') || authority.contains('\\') {
        return None;
    }
    Some(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// `returnTo` with `oauth_error=code` added to its query (before any fragment).
pub fn with_error(return_to: &str, code: &str) -> String {
    let (base, fragment) = match return_to.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (return_to, None),
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut out = format!("{base}{sep}oauth_error={code}");
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// The PKCE S256 challenge of `verifier`.
pub fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A random URL-safe string of 32 bytes (state, nonce, PKCE verifier).
pub fn random_string(platform: &dyn Platform) -> Result<String> {
    let mut bytes = [0u8; 32];
    platform.fill_random(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What the state cookie carries from `/start` to `/callback`, signed so the browser cannot
/// change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowState {
    /// The provider's id.
    pub provider: String,
    /// The `state` sent to the provider.
    pub state: String,
    /// The `nonce` sent to the provider (OpenID Connect).
    pub nonce: String,
    /// The PKCE verifier.
    pub verifier: String,
    /// Where to go afterwards (checked at `/start`).
    pub return_to: String,
    /// Linking: the signed-in user and session that asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<(String, String)>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
}

type HmacSha256 = Hmac<Sha256>;

fn state_mac(secret: &[u8]) -> HmacSha256 {
    // A key of its own, derived from the token secret: a state cookie is no token of any kind.
    let mut derive = <HmacSha256 as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| {
        <HmacSha256 as KeyInit>::new_from_slice(b"userdo").expect("HMAC takes any key")
    });
    derive.update(b"userdo oauth state v1");
    let key = derive.finalize().into_bytes();
    <HmacSha256 as KeyInit>::new_from_slice(&key).expect("HMAC takes any key")
}

impl FlowState {
    /// The cookie value: `payload.mac`, both base64url.
    pub fn seal(&self, secret: &[u8]) -> Result<String> {
        let json = serde_json::to_vec(self).map_err(|e| Error::internal_from("state", e))?;
        let payload = URL_SAFE_NO_PAD.encode(json);
        let mut mac = state_mac(secret);
        mac.update(payload.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        Ok(format!("{payload}.{tag}"))
    }

    /// The state of a cookie value, if its MAC holds (compared in constant time) and it has
    /// not expired at `now_secs`.
    pub fn open(value: &str, secret: &[u8], now_secs: i64) -> Option<FlowState> {
        let (payload, tag) = value.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = state_mac(secret);
        mac.update(payload.as_bytes());
        mac.verify_slice(&tag).ok()?;
        let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let state: FlowState = serde_json::from_slice(&json).ok()?;
        (state.exp > now_secs).then_some(state)
    }
}

/// Whether two strings are equal, in time that depends only on their lengths.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// An ID token split into its parts, before its signature is checked.
#[derive(Debug, Clone)]
pub struct IdToken {
    /// `RS256` or `ES256`.
    pub alg: String,
    /// The key id, if the header names one.
    pub kid: Option<String>,
    /// `header.payload`, the signed bytes.
    pub signed: String,
    /// The signature.
    pub signature: Vec<u8>,
    /// The claims.
    pub claims: serde_json::Value,
}

/// Splits an ID token; the algorithm must be RS256 or ES256 (never `none`, never HMAC).
pub fn parse_id_token(token: &str) -> Result<IdToken> {
    let bad = || Error::InvalidToken;
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).map_err(|_| bad())?)
            .map_err(|_| bad())?;
    let alg = header["alg"].as_str().ok_or_else(bad)?.to_owned();
    if alg != "RS256" && alg != "ES256" {
        return Err(bad());
    }
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?)
            .map_err(|_| bad())?;
    if !claims.is_object() {
        return Err(bad());
    }
    Ok(IdToken {
        alg,
        kid: header["kid"].as_str().map(str::to_owned),
        signed: token[..header_len(token)].to_owned(),
        signature: URL_SAFE_NO_PAD.decode(signature).map_err(|_| bad())?,
        claims,
    })
}

fn header_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(0)
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalIdentity {
    /// The provider's id (in this worker's configuration).
    pub provider: String,
    /// The provider's stable id of the user (`sub`).
    pub subject: String,
    /// Their email, normalised.
    pub email: String,
    /// Whether the provider says the email is verified.
    pub email_verified: bool,
}

/// Checks an ID token's claims (its signature checked already): `iss` is the issuer, `aud` (or
/// one of them, with `azp` then) is the client, `exp` is ahead (30 s of clock skew allowed),
/// `nonce` is the flow's; answers who signed in.
pub fn check_id_claims(
    claims: &serde_json::Value,
    issuer: &str,
    client_id: &str,
    nonce: &str,
    now_secs: i64,
) -> Result<(String, Option<String>, bool)> {
    let bad = || Error::InvalidToken;
    if claims["iss"].as_str() != Some(issuer) {
        return Err(bad());
    }
    let audience_ok = match &claims["aud"] {
        serde_json::Value::String(aud) => aud == client_id,
        serde_json::Value::Array(auds) => {
            auds.iter().any(|a| a.as_str() == Some(client_id))
                && (auds.len() == 1 || claims["azp"].as_str() == Some(client_id))
        }
        _ => false,
    };
    if !audience_ok {
        return Err(bad());
    }
    let exp = claims["exp"].as_i64().ok_or_else(bad)?;
    if exp + 30 < now_secs {
        return Err(bad());
    }
    if claims["iat"].as_i64().is_some_and(|iat| iat > now_secs + 300) {
        return Err(bad());
    }
    match claims["nonce"].as_str() {
        Some(n) if same(n, nonce) => {}
        _ => return Err(bad()),
    }
    let subject = claims["sub"]
        .as_str()
        .filter(|s| !s.is_empty() && s.len() <= 255)
        .ok_or_else(bad)?
        .to_owned();
    let email = claims["email"].as_str().map(str::to_owned);
    let verified = match &claims["email_verified"] {
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::String(s) => s == "true",
        _ => false,
    };
    Ok((subject, email, verified))
}

/// An identity linked to the account: `{provider, email, linkedAt}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// The provider's id.
    pub provider: String,
    /// The email the provider gave at the last sign-in.
    pub email: String,
    /// When it was linked, in milliseconds since the Unix epoch.
    pub linked_at: i64,
}

/// What signing in with an identity came to.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SignInOutcome {
    /// A new session.
    SignedIn(AuthResponse),
    /// The identity is linked to the account (link mode; no new session).
    Linked,
    /// Refused, with the `oauth_error` code to show.
    Refused(String),
}

/// The identity index's own table: one row, the account an identity is linked to. It lives in an
/// object of its own per identity (named by [`identity_object_name`]), as a hint: the account's
/// object decides.
const IDENTITY_LINK_TABLE: &str = "CREATE TABLE IF NOT EXISTS _userdo_identity_link (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    user_id TEXT NOT NULL
)";

/// The name of the object that records which account `(provider, subject)` is linked to.
pub fn identity_object_name(provider: &str, subject: &str) -> String {
    let digest = Sha256::digest(format!("userdo identity\0{provider}\0{subject}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The account the identity index's object records, if any.
pub fn identity_link(store: &dyn Store) -> Result<Option<String>> {
    let exists = store.query(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_userdo_identity_link'",
        &[],
    )?;
    if exists.is_empty() {
        return Ok(None);
    }
    let rows = store.query("SELECT user_id FROM _userdo_identity_link", &[])?;
    rows.first()
        .map(|r| Ok(r.text(0)?.to_owned()))
        .transpose()
}

/// Records in the identity index's object that the identity is linked to `user_id`.
pub fn set_identity_link(store: &dyn Store, user_id: &str) -> Result<()> {
    store.execute(IDENTITY_LINK_TABLE, &[])?;
    store.execute(
        "INSERT INTO _userdo_identity_link (singleton, user_id) VALUES (1, ?)
         ON CONFLICT (singleton) DO UPDATE SET user_id = excluded.user_id",
        &[user_id.into()],
    )?;
    Ok(())
}

impl<S: Store, P: Platform> UserDo<S, P> {
    /// Signs in with `identity`: to this account when the identity is linked to it; with
    /// `by_email` (this is the object of the identity's email), also by linking it to the
    /// account of that email when the provider says the email is verified, or by creating the
    /// account (without a password) when there is none. `on_created` runs in the new account's
    /// transaction, as for a signup.
    pub fn oauth_sign_in(
        &self,
        identity: &ExternalIdentity,
        by_email: bool,
        client: &ClientInfo,
        on_created: &mut dyn FnMut(&crate::api::User) -> Result<()>,
    ) -> Result<SignInOutcome> {
        let now = self.platform.now_ms();
        let Some(account) = self.account()? else {
            if !by_email {
                return Ok(SignInOutcome::Refused("not_linked".into()));
            }
            let link = link_statement(identity, now);
            let auth = self.create_account(
                &identity.email,
                "",
                identity.email_verified,
                vec![link],
                client,
                on_created,
            )?;
            return Ok(SignInOutcome::SignedIn(auth));
        };
        let mut statements = Vec::new();
        match self.linked_subject(&identity.provider)? {
            Some(subject) if same(&subject, &identity.subject) => {
                statements.push(Statement::new(
                    "UPDATE _userdo_identities SET email = ? WHERE provider = ?",
                    vec![
                        identity.email.as_str().into(),
                        identity.provider.as_str().into(),
                    ],
                ));
            }
            Some(_) => return Ok(SignInOutcome::Refused("identity_taken".into())),
            None => {
                if !by_email || account.user.email != identity.email {
                    return Ok(SignInOutcome::Refused("not_linked".into()));
                }
                if !identity.email_verified {
                    return Ok(SignInOutcome::Refused("email_not_verified".into()));
                }
                statements.push(link_statement(identity, now));
            }
        }
        let (session, auth) = self.open_session(account.user, client)?;
        statements.extend(session);
        self.store.atomic(statements)?;
        Ok(SignInOutcome::SignedIn(auth))
    }

    /// Links `identity` to this account for the live session `session_id` (link mode).
    pub fn oauth_link(&self, session_id: &str, identity: &ExternalIdentity) -> Result<SignInOutcome> {
        if self.account()?.is_none() || !self.session_is_live(session_id)? {
            return Err(Error::SessionRevoked);
        }
        match self.linked_subject(&identity.provider)? {
            Some(subject) if same(&subject, &identity.subject) => Ok(SignInOutcome::Linked),
            Some(_) => Ok(SignInOutcome::Refused("identity_taken".into())),
            None => {
                self.store
                    .atomic(vec![link_statement(identity, self.platform.now_ms())])?;
                Ok(SignInOutcome::Linked)
            }
        }
    }

    fn linked_subject(&self, provider: &str) -> Result<Option<String>> {
        let rows = self.store.query(
            "SELECT subject FROM _userdo_identities WHERE provider = ?",
            &[provider.into()],
        )?;
        rows.first()
            .map(|r| Ok(r.text(0)?.to_owned()))
            .transpose()
    }

    /// The identities linked to the account, oldest first.
    pub fn identities(&self) -> Result<Vec<Identity>> {
        self.store
            .query(
                "SELECT provider, email, linked_at FROM _userdo_identities ORDER BY linked_at, provider",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(Identity {
                    provider: r.text(0)?.to_owned(),
                    email: r.text(1)?.to_owned(),
                    linked_at: r.int(2)?,
                })
            })
            .collect()
    }

    /// Unlinks the identity of `provider`: 404 when none is linked, 409 when it is the account's
    /// last way to sign in (no password, no other identity).
    pub fn unlink_identity(&self, provider: &str) -> Result<()> {
        if self.linked_subject(provider)?.is_none() {
            return Err(Error::NotFound("no identity of this provider is linked".into()));
        }
        let rows = self.store.query(
            "SELECT (SELECT password_hash FROM _userdo_account) = '', (SELECT COUNT(*) FROM _userdo_identities)",
            &[],
        )?;
        let (no_password, count) = rows
            .first()
            .map(|r| Ok::<_, Error>((r.int(0).unwrap_or(0) != 0, r.int(1)?)))
            .transpose()?
            .unwrap_or((false, 0));
        if no_password && count <= 1 {
            return Err(Error::Conflict(
                "this is the account's last way to sign in: set a password (by a reset) or link \
                 another provider first"
                    .into(),
            ));
        }
        self.store.execute(
            "DELETE FROM _userdo_identities WHERE provider = ?",
            &[provider.into()],
        )?;
        Ok(())
    }
}

fn link_statement(identity: &ExternalIdentity, now: i64) -> Statement {
    Statement::new(
        "INSERT INTO _userdo_identities (provider, subject, email, linked_at) VALUES (?, ?, ?, ?)",
        vec![
            identity.provider.as_str().into(),
            identity.subject.as_str().into(),
            identity.email.as_str().into(),
            Value::Integer(now),
        ],
    )
}
