//! Access tokens (HS256 JWTs) and the opaque tokens (refresh, reset, verification, WebSocket
//! ticket).
//!
//! Access tokens pin the algorithm to HS256 on verification, check the header's `typ`, the claims'
//! `typ`, `iss`, `aud` and `exp`, and carry the session id (`sid`) that the user's object checks on
//! every request. Opaque tokens are random, carry a kind prefix and the user id (so the worker can
//! route them), and are stored only as their SHA-256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::email::hex;
use crate::error::{Error, Result};
use crate::platform::Platform;

/// The shortest accepted `JWT_SECRET`, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
const ACCESS_TYP: &str = "access";

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

/// Signs and verifies access tokens with one HS256 key.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
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
        hs256::install();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Expiry is checked below against the platform clock, so tests can move time.
        validation.validate_exp = false;
        validation.leeway = 0;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
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
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::internal_from("signing", e))
    }

    /// Verifies an access token's signature, algorithm, kind, issuer, audience and expiry.
    /// It does not know whether the session is still live: the user's object checks that.
    pub fn verify_access(&self, token: &str, now_secs: i64) -> Result<AccessClaims> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::InvalidToken)?;
        if header.alg != Algorithm::HS256 || header.typ.as_deref() != Some("JWT") {
            return Err(Error::InvalidToken);
        }
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|_| Error::InvalidToken)?;
        let claims = data.claims;
        if claims.typ != ACCESS_TYP || claims.exp <= now_secs || claims.sid.is_empty() {
            return Err(Error::InvalidToken);
        }
        Ok(claims)
    }
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

/// An HS256-only crypto provider for jsonwebtoken: its `rust_crypto` feature would link RSA,
/// ECDSA and EdDSA too (about 700 KB of wasm) for an algorithm we never accept.
mod hs256 {
    use hmac::{Hmac, KeyInit, Mac};
    use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
    use jsonwebtoken::errors::{ErrorKind, Result};
    use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
    use sha2::Sha256;
    use signature::{Signer, Verifier};

    struct Hs256(Hmac<Sha256>);

    impl Signer<Vec<u8>> for Hs256 {
        fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
            let mut mac = self.0.clone();
            mac.update(msg);
            Ok(mac.finalize().into_bytes().to_vec())
        }
    }

    impl Verifier<Vec<u8>> for Hs256 {
        fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> std::result::Result<(), signature::Error> {
            let mut mac = self.0.clone();
            mac.update(msg);
            // verify_slice compares in constant time.
            mac.verify_slice(sig).map_err(|_| signature::Error::new())
        }
    }

    impl JwtSigner for Hs256 {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }

    impl JwtVerifier for Hs256 {
        fn algorithm(&self) -> Algorithm {
            Algorithm::HS256
        }
    }

    fn mac(alg: &Algorithm, family: AlgorithmFamily, secret: &[u8]) -> Result<Hs256> {
        if *alg != Algorithm::HS256 || family != AlgorithmFamily::Hmac {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        Hmac::<Sha256>::new_from_slice(secret)
            .map(Hs256)
            .map_err(|_| ErrorKind::InvalidKeyFormat.into())
    }

    fn signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
        Ok(Box::new(mac(alg, key.family(), key.as_bytes())?))
    }

    fn verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
        Ok(Box::new(mac(alg, key.family(), key.try_get_as_bytes()?)?))
    }

    static PROVIDER: CryptoProvider = CryptoProvider {
        signer_factory: signer,
        verifier_factory: verifier,
        key_utils: KeyUtils::new_unimplemented(),
    };

    /// Installs the provider once per process; a provider installed earlier is kept.
    pub(super) fn install() {
        let _ = PROVIDER.install_default();
    }
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
        use hmac::{Hmac, KeyInit, Mac};
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
