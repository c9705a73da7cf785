//! Access tokens (HS256 JWTs) and the opaque tokens (refresh, reset, verification, WebSocket
//! ticket).
//!
//! Access tokens pin the algorithm to HS256 on verification, check the header's `typ`, the claims'
//! `typ`, `iss`, `aud` and `exp`, and carry the session id (`sid`) that the user's object checks on
//! every request. Opaque tokens are random, carry a kind prefix and the user id (so the worker can
//! route them), and are stored only as their SHA-256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::email::hex;
use crate::error::{Error, Result};
use crate::platform::Platform;

/// The shortest accepted `JWT_SECRET`, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
const ACCESS_TYP: &str = "access";
/// The one header this module issues, `{"typ":"JWT","alg":"HS256"}` in base64url (the bytes
/// jsonwebtoken wrote, so tokens issued before and after read alike).
const HEADER_B64: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9";

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id (the user's Durable Object id).
    pub sub: String,
    /// The session id, checked against the live sessions in the user's object.
    pub sid: String,
    /// Issued at, in seconds since the epoch.
    pub iat: i64,
    /// Expiry, in seconds since the epoch.
    pub exp: i64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Token kind: always `"access"`.
    pub typ: String,
}

/// A JWT header as accepted: exactly `alg` and `typ`, nothing else (no `kid`, `jku`, `jwk`,
/// `crit`: nothing a header could use to choose a key or an algorithm).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    typ: String,
}

/// Signs and verifies access tokens with one HS256 key.
///
/// The JWT is written here rather than with a JWT crate: HS256 is the only algorithm ever
/// issued or accepted, and the crate's header parsing and algorithm dispatch cost 29.5 KiB
/// of the gzipped worker (issue 14). The MAC is `hmac`'s HMAC-SHA256 (the one pbkdf2 uses), its
/// comparison constant-time (`verify_slice`).
#[derive(Clone)]
pub struct TokenKeys {
    mac: Hmac<Sha256>,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Keys from a secret of at least [`MIN_SECRET_BYTES`] bytes.
    pub fn new(secret: &[u8], issuer: &str, audience: &str) -> Result<Self> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(Error::Config(format!(
                "JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes"
            )));
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret)
            .map_err(|_| Error::Config("JWT_SECRET is not a usable HMAC key".to_owned()))?;
        Ok(Self {
            mac,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// The HMAC-SHA256 of a token's signing input (`header.payload`).
    fn sign(&self, input: &str) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(input.as_bytes());
        mac
    }

    /// Issues an access token for a session, valid for `ttl_secs` from `now_secs`.
    pub(crate) fn issue_access(
        &self,
        sub: &str,
        sid: &str,
        now_secs: i64,
        ttl_secs: i64,
    ) -> Result<String> {
        let claims = AccessClaims {
            sub: sub.to_owned(),
            sid: sid.to_owned(),
            iat: now_secs,
            exp: now_secs + ttl_secs,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            typ: ACCESS_TYP.to_owned(),
        };
        let payload =
            serde_json::to_vec(&claims).map_err(|e| Error::internal_from("signing", e))?;
        let mut token = format!("{HEADER_B64}.{}", URL_SAFE_NO_PAD.encode(payload));
        let tag = self.sign(&token).finalize().into_bytes();
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut token);
        Ok(token)
    }

    /// Verifies an access token's signature, algorithm, kind, issuer, audience and expiry.
    /// It does not know whether the session is still live: the user's object checks that.
    ///
    /// The token is exactly three base64url segments (no padding, no stray bits); the MAC over
    /// the first two is checked first, in constant time, then the header must be exactly
    /// `{"alg":"HS256","typ":"JWT"}` (the algorithm is pinned, never read from the header), then
    /// the claims: every one required, `typ` `access`, `iss` and `aud` ours, `exp` after
    /// `now_secs`, a session id.
    pub fn verify_access(&self, token: &str, now_secs: i64) -> Result<AccessClaims> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::InvalidToken);
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| Error::InvalidToken)?;
        self.sign(&token[..header.len() + 1 + payload.len()])
            .verify_slice(&signature)
            .map_err(|_| Error::InvalidToken)?;
        let header: Header = decode_json(header)?;
        if header.alg != "HS256" || header.typ != "JWT" {
            return Err(Error::InvalidToken);
        }
        let claims: AccessClaims = decode_json(payload)?;
        if claims.typ != ACCESS_TYP
            || claims.iss != self.issuer
            || claims.aud != self.audience
            || claims.exp <= now_secs
            || claims.sid.is_empty()
        {
            return Err(Error::InvalidToken);
        }
        Ok(claims)
    }
}

/// A base64url segment of JSON, deserialized; anything malformed is an invalid token.
fn decode_json<T: serde::de::DeserializeOwned>(segment: &str) -> Result<T> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| Error::InvalidToken)?;
    serde_json::from_slice(&bytes).map_err(|_| Error::InvalidToken)
}

/// The kinds of opaque token. Each kind has its own prefix and its own table, so one kind is
/// never accepted where another is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpaqueKind {
    /// A refresh token (30 days by default, rotated at each use).
    Refresh,
    /// A password-reset token (1 hour, single use).
    PasswordReset,
    /// An email-verification token (24 hours, single use).
    EmailVerification,
    /// A WebSocket ticket (60 seconds, single use).
    WsTicket,
}

impl OpaqueKind {
    fn prefix(self) -> &'static str {
        match self {
            OpaqueKind::Refresh => "urt",
            OpaqueKind::PasswordReset => "upr",
            OpaqueKind::EmailVerification => "uev",
            OpaqueKind::WsTicket => "uwt",
        }
    }
}

/// A new opaque token of `kind` for `user_id`: `prefix.user_id.secret`, where the secret is 32
/// random bytes in base64url. Only its [`hash_token`] is ever stored.
pub(crate) fn new_opaque(
    platform: &dyn Platform,
    kind: OpaqueKind,
    user_id: &str,
) -> Result<String> {
    let mut secret = [0u8; 32];
    platform.fill_random(&mut secret)?;
    Ok(format!(
        "{}.{}.{}",
        kind.prefix(),
        user_id,
        URL_SAFE_NO_PAD.encode(secret)
    ))
}

/// The user id an opaque token of `kind` names, if it has that kind's shape. Routing only: the
/// token is proven by its hash in the user's object.
pub fn opaque_user_id(kind: OpaqueKind, token: &str) -> Option<&str> {
    let mut parts = token.splitn(3, '.');
    let (prefix, user, secret) = (parts.next()?, parts.next()?, parts.next()?);
    let well_formed = prefix == kind.prefix()
        && is_user_id(user)
        && secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then_some(user)
}

/// Whether `s` has the shape of a user id (a Durable Object id: 64 lowercase hex digits).
pub fn is_user_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The SHA-256 of a token, in hex: what is stored instead of the token.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A random identifier (16 bytes, hex) for sessions and rows.
pub(crate) fn random_id(platform: &dyn Platform) -> Result<String> {
    let mut bytes = [0u8; 16];
    platform.fill_random(&mut bytes)?;
    Ok(hex(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::SystemPlatform;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use serde_json::json;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_800_000_000;

    fn keys() -> TokenKeys {
        TokenKeys::new(SECRET, "userdo", "userdo").unwrap()
    }

    fn sign_raw(header: &serde_json::Value, claims: &serde_json::Value, secret: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", B64.encode(mac.finalize().into_bytes()))
    }

    fn claims() -> serde_json::Value {
        json!({"sub": "u", "sid": "s", "iat": NOW, "exp": NOW + 900, "iss": "userdo", "aud": "userdo", "typ": "access"})
    }

    #[test]
    fn issues_and_verifies_an_access_token() {
        let token = keys().issue_access("user1", "sess1", NOW, 900).unwrap();
        let c = keys().verify_access(&token, NOW + 1).unwrap();
        assert_eq!(
            (c.sub.as_str(), c.sid.as_str(), c.exp),
            ("user1", "sess1", NOW + 900)
        );
    }

    #[test]
    fn a_short_secret_is_a_configuration_error() {
        assert!(matches!(
            TokenKeys::new(b"short", "i", "a"),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn rejects_an_expired_token() {
        let token = keys().issue_access("u", "s", NOW, 900).unwrap();
        assert!(matches!(
            keys().verify_access(&token, NOW + 900),
            Err(Error::InvalidToken)
        ));
    }

    #[test]
    fn rejects_alg_none() {
        let unsigned = format!(
            "{}.{}.",
            B64.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
            B64.encode(claims().to_string())
        );
        assert!(matches!(
            keys().verify_access(&unsigned, NOW),
            Err(Error::InvalidToken)
        ));
    }

    #[test]
    fn rejects_another_key_and_a_tampered_payload() {
        let forged = sign_raw(
            &json!({"alg": "HS256", "typ": "JWT"}),
            &claims(),
            b"another-secret-another-secret-xx",
        );
        assert!(matches!(
            keys().verify_access(&forged, NOW),
            Err(Error::InvalidToken)
        ));
        let good = sign_raw(&json!({"alg": "HS256", "typ": "JWT"}), &claims(), SECRET);
        assert!(keys().verify_access(&good, NOW).is_ok());
        let mut parts: Vec<&str> = good.split('.').collect();
        let evil = B64.encode(json!({"sub": "admin", "sid": "s", "iat": NOW, "exp": NOW + 900, "iss": "userdo", "aud": "userdo", "typ": "access"}).to_string());
        parts[1] = &evil;
        assert!(matches!(
            keys().verify_access(&parts.join("."), NOW),
            Err(Error::InvalidToken)
        ));
    }

    #[test]
    fn rejects_other_algorithms_kinds_issuers_and_audiences() {
        let hs512 = sign_raw(&json!({"alg": "HS512", "typ": "JWT"}), &claims(), SECRET);
        assert!(keys().verify_access(&hs512, NOW).is_err());
        for (field, value) in [("typ", "refresh"), ("iss", "evil"), ("aud", "evil")] {
            let mut c = claims();
            c[field] = json!(value);
            let t = sign_raw(&json!({"alg": "HS256", "typ": "JWT"}), &c, SECRET);
            assert!(
                keys().verify_access(&t, NOW).is_err(),
                "{field}={value} accepted"
            );
        }
        let wrong_header_typ = sign_raw(
            &json!({"alg": "HS256", "typ": "refresh"}),
            &claims(),
            SECRET,
        );
        assert!(keys().verify_access(&wrong_header_typ, NOW).is_err());
        let mut no_exp = claims();
        no_exp.as_object_mut().unwrap().remove("exp");
        let t = sign_raw(&json!({"alg": "HS256", "typ": "JWT"}), &no_exp, SECRET);
        assert!(keys().verify_access(&t, NOW).is_err());
    }

    const HS256: fn() -> serde_json::Value = || json!({"alg": "HS256", "typ": "JWT"});

    fn refused(token: &str) -> bool {
        matches!(keys().verify_access(token, NOW), Err(Error::InvalidToken))
    }

    #[test]
    fn issues_the_header_jsonwebtoken_wrote() {
        let token = keys().issue_access("u", "s", NOW, 900).unwrap();
        let header = token.split('.').next().unwrap();
        assert_eq!(header, HEADER_B64);
        assert_eq!(
            B64.decode(header).unwrap(),
            br#"{"typ":"JWT","alg":"HS256"}"#
        );
        let payload = B64.decode(token.split('.').nth(1).unwrap()).unwrap();
        let payload: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(
            payload,
            json!({"sub": "u", "sid": "s", "iat": NOW, "exp": NOW + 900, "iss": "userdo", "aud": "userdo", "typ": "access"})
        );
        // Signed by hand, in the other key order: the same claims verify.
        assert!(
            keys()
                .verify_access(&sign_raw(&HS256(), &claims(), SECRET), NOW)
                .is_ok()
        );
    }

    #[test]
    fn refuses_every_algorithm_but_hs256_even_when_signed_with_the_key() {
        for alg in [
            "none", "None", "RS256", "HS512", "HS384", "ES256", "EdDSA", "hs256", "",
        ] {
            let t = sign_raw(&json!({"alg": alg, "typ": "JWT"}), &claims(), SECRET);
            assert!(refused(&t), "alg {alg} accepted");
        }
        for alg in [json!(null), json!(256), json!(["HS256"])] {
            let t = sign_raw(&json!({"alg": alg, "typ": "JWT"}), &claims(), SECRET);
            assert!(refused(&t), "alg {alg} accepted");
        }
        // Unsigned, with and without a trailing dot.
        for alg in ["none", "HS256"] {
            let h = B64.encode(json!({"alg": alg, "typ": "JWT"}).to_string());
            let c = B64.encode(claims().to_string());
            assert!(refused(&format!("{h}.{c}.")));
            assert!(refused(&format!("{h}.{c}")));
        }
    }

    #[test]
    fn refuses_a_missing_or_wrong_header_typ_and_any_other_header_field() {
        for header in [
            json!({"alg": "HS256"}),
            json!({"typ": "JWT"}),
            json!({"alg": "HS256", "typ": "jwt"}),
            json!({"alg": "HS256", "typ": "access"}),
            json!({"alg": "HS256", "typ": null}),
            json!({"alg": "HS256", "typ": "JWT", "kid": "1"}),
            json!({"alg": "HS256", "typ": "JWT", "jku": "https://evil.example/keys"}),
            json!({"alg": "HS256", "typ": "JWT", "crit": ["exp"]}),
            json!({}),
            json!([]),
            json!("HS256"),
        ] {
            let t = sign_raw(&header, &claims(), SECRET);
            assert!(refused(&t), "header {header} accepted");
        }
        let dup = format!(
            "{}.{}",
            B64.encode(r#"{"alg":"HS256","typ":"JWT","alg":"none"}"#),
            B64.encode(claims().to_string())
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
        mac.update(dup.as_bytes());
        let dup = format!("{dup}.{}", B64.encode(mac.finalize().into_bytes()));
        assert!(refused(&dup), "a duplicated alg accepted");
    }

    #[test]
    fn refuses_a_tampered_signature_header_or_payload() {
        let good = keys().issue_access("u", "s", NOW, 900).unwrap();
        assert!(!refused(&good));
        let (rest, sig) = good.rsplit_once('.').unwrap();
        // Every single-character change of the signature, and a truncated or extended one.
        for i in 0..sig.len() {
            let mut bytes = sig.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let t = format!("{rest}.{}", String::from_utf8(bytes).unwrap());
            assert!(refused(&t), "signature changed at {i} accepted");
        }
        assert!(refused(&format!("{rest}.{}", &sig[..sig.len() - 1])));
        assert!(refused(&format!("{rest}.{}", &sig[..sig.len() - 2])));
        assert!(refused(&format!("{rest}.{sig}A")));
        assert!(refused(&format!("{rest}.{sig}AAAA")));
        assert!(refused(&format!("{rest}.{sig}=")));
        assert!(refused(&format!("{rest}.")));
        // The other key's signature over the same input.
        let other =
            TokenKeys::new(b"another-secret-another-secret-xx", "userdo", "userdo").unwrap();
        let theirs = other.issue_access("u", "s", NOW, 900).unwrap();
        assert!(refused(&theirs));
        // A payload or header swapped under a valid signature.
        let parts: Vec<&str> = good.split('.').collect();
        let longer = B64.encode(json!({"sub": "u", "sid": "s", "iat": NOW, "exp": NOW + 90_000, "iss": "userdo", "aud": "userdo", "typ": "access"}).to_string());
        assert!(refused(&[parts[0], &longer, parts[2]].join(".")));
        let other_header = B64.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
        assert!(refused(&[&other_header, parts[1], parts[2]].join(".")));
        // The last character of a segment carries spare bits: a non-canonical encoding of the
        // same bytes is refused, not read as the same token.
        let last = sig.as_bytes()[sig.len() - 1];
        let sibling = (last as char).to_string();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let idx = alphabet.find(&sibling).unwrap();
        let mangled = alphabet.as_bytes()[idx ^ 1] as char;
        assert!(refused(&format!("{}{mangled}", &good[..good.len() - 1])));
    }

    #[test]
    fn refuses_expiry_now_or_past_and_wrong_issuer_audience_or_kind() {
        let keys = keys();
        let t = keys.issue_access("u", "s", NOW - 1000, 900).unwrap();
        assert!(matches!(
            keys.verify_access(&t, NOW),
            Err(Error::InvalidToken)
        ));
        let t = keys.issue_access("u", "s", NOW, 0).unwrap();
        assert!(matches!(
            keys.verify_access(&t, NOW),
            Err(Error::InvalidToken)
        ));
        let t = keys.issue_access("u", "s", NOW, 900).unwrap();
        assert!(keys.verify_access(&t, NOW + 899).is_ok());
        assert!(keys.verify_access(&t, NOW + 900).is_err());
        for issuer in ["evil", "userdo "] {
            let theirs = TokenKeys::new(SECRET, issuer, "userdo").unwrap();
            let t = theirs.issue_access("u", "s", NOW, 900).unwrap();
            assert!(refused(&t), "issuer {issuer} accepted");
            let theirs = TokenKeys::new(SECRET, "userdo", issuer).unwrap();
            let t = theirs.issue_access("u", "s", NOW, 900).unwrap();
            assert!(refused(&t), "audience {issuer} accepted");
        }
        for (field, value) in [
            ("aud", json!(["userdo"])),
            ("exp", json!(1.8e10)),
            ("exp", json!("9999999999")),
            ("iat", json!(null)),
            ("sub", json!(1)),
            ("sid", json!("")),
            ("typ", json!("Access")),
        ] {
            let mut c = claims();
            c[field] = value.clone();
            assert!(
                refused(&sign_raw(&HS256(), &c, SECRET)),
                "{field}={value} accepted"
            );
        }
        for field in ["sub", "sid", "iat", "exp", "iss", "aud", "typ"] {
            let mut c = claims();
            c.as_object_mut().unwrap().remove(field);
            assert!(
                refused(&sign_raw(&HS256(), &c, SECRET)),
                "no {field} accepted"
            );
        }
    }

    #[test]
    fn refuses_malformed_tokens_without_panicking() {
        let signed = |header: &str, payload: &str| {
            let input = format!("{header}.{payload}");
            let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
            mac.update(input.as_bytes());
            format!("{input}.{}", B64.encode(mac.finalize().into_bytes()))
        };
        let h = B64.encode(HS256().to_string());
        let c = B64.encode(claims().to_string());
        let not_json = B64.encode("not json");
        let truncated = B64.encode(&claims().to_string()[..20]);
        let padded = format!("{c}==");
        for t in [
            String::new(),
            ".".into(),
            "..".into(),
            "...".into(),
            "a.b.c".into(),
            "a.b.c.d".into(),
            h.clone(),
            format!("{h}.{c}"),
            signed(&h, &not_json),
            signed(&not_json, &c),
            signed(&h, &truncated),
            signed(&h, "!!!"),
            signed("!!!", &c),
            signed(&h, &padded),
            signed(&format!("{h}="), &c),
            signed(&h, &format!("+{}", &c[1..])),
            signed(&h, ""),
            signed("", &c),
            format!("{}.x", signed(&h, &c)),
            format!("{h}.{c}.é"),
            "é.é.é".into(),
            signed(&h, &B64.encode([0xff, 0xfe, 0x00])),
        ] {
            assert!(refused(&t), "{t:?} accepted");
        }
    }

    #[test]
    fn opaque_tokens_name_their_kind_and_user() {
        let user = "a".repeat(64);
        let t = new_opaque(&SystemPlatform, OpaqueKind::Refresh, &user).unwrap();
        assert_eq!(opaque_user_id(OpaqueKind::Refresh, &t), Some(user.as_str()));
        assert_eq!(opaque_user_id(OpaqueKind::PasswordReset, &t), None);
        assert_eq!(opaque_user_id(OpaqueKind::Refresh, "garbage"), None);
        let other = new_opaque(&SystemPlatform, OpaqueKind::Refresh, &user).unwrap();
        assert_ne!(t, other);
        assert_eq!(hash_token(&t).len(), 64);
        assert_ne!(hash_token(&t), hash_token(&other));
    }
}
