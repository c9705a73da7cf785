//! Deployment settings, read from the worker's variables and secrets.

use crate::error::{Error, Result};
use crate::password::{DEFAULT_ITERATIONS, PasswordHasher};
use crate::ratelimit::Limit;
use crate::token::TokenKeys;

/// Access-token lifetime by default: 15 minutes.
pub const DEFAULT_ACCESS_TTL_SECS: i64 = 15 * 60;
/// Refresh-token (and session) lifetime by default: 30 days.
pub const DEFAULT_REFRESH_TTL_SECS: i64 = 30 * 24 * 60 * 60;
/// The change feed's bound in bytes by default: 16 MiB.
pub const DEFAULT_EVENT_LOG_MAX_BYTES: i64 = 16 * 1024 * 1024;
/// The `iss` and `aud` of access tokens.
pub const TOKEN_ISSUER: &str = "userdo";

/// The rate limits of the auth endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failed logins per email (`RATE_LIMIT_LOGIN_FAILURES`, default 10 per 15 minutes).
    pub login_failures: Limit,
    /// Login attempts per client IP (`RATE_LIMIT_LOGIN_PER_IP`, default 100 per 15 minutes).
    pub login_per_ip: Limit,
    /// Signups per client IP (`RATE_LIMIT_SIGNUP_PER_IP`, default 20 per hour).
    pub signup_per_ip: Limit,
    /// Password-reset requests per client IP (`RATE_LIMIT_RESET_PER_IP`, default 10 per hour).
    pub reset_per_ip: Limit,
    /// Mail (reset and verification requests together) per account and email address
    /// (`RATE_LIMIT_MAIL`, default 5 per hour), counted the same for an email with no account.
    pub mail_per_account: Limit,
}

/// Keys, hashing cost, token lifetimes and rate limits.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Signs and verifies access tokens.
    pub keys: TokenKeys,
    /// Hashes passwords.
    pub hasher: PasswordHasher,
    /// Access-token lifetime in seconds.
    pub access_ttl_secs: i64,
    /// Refresh-token lifetime in seconds.
    pub refresh_ttl_secs: i64,
    /// Rate limits.
    pub limits: Limits,
    /// The most bytes of event data the change feed keeps (`EVENT_LOG_MAX_BYTES`, default
    /// 16 MiB); older events go first, even within the count and age the log otherwise keeps.
    pub event_log_max_bytes: i64,
    /// Seals the sign-in providers' state cookie (derived from `JWT_SECRET`).
    pub state_key: crate::oauth::StateKey,
}

impl Settings {
    /// Reads `JWT_SECRET`, `ACCESS_TOKEN_TTL`, `REFRESH_TOKEN_TTL` and `PBKDF2_ITERATIONS` through
    /// `var`. A missing or short secret, or a malformed number, is a [`Error::Config`].
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let secret = var("JWT_SECRET").filter(|s| !s.is_empty()).ok_or_else(|| {
            Error::Config("JWT_SECRET is not set: add it as a secret (at least 32 bytes)".into())
        })?;
        let keys = TokenKeys::new(secret.as_bytes(), TOKEN_ISSUER, TOKEN_ISSUER)?;
        let state_key = crate::oauth::StateKey::derive(secret.as_bytes());
        let number = |name: &str, default: i64, min: i64, max: i64| -> Result<i64> {
            match var(name).filter(|s| !s.trim().is_empty()) {
                None => Ok(default),
                Some(raw) => raw
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (min..=max).contains(n))
                    .ok_or_else(|| {
                        Error::Config(format!("{name} must be a whole number from {min} to {max}"))
                    }),
            }
        };
        let iterations = number(
            "PBKDF2_ITERATIONS",
            DEFAULT_ITERATIONS.into(),
            1_000,
            10_000_000,
        )?;
        let limit = |name: &str, default: Limit| -> Result<Limit> {
            match var(name).filter(|s| !s.trim().is_empty()) {
                None => Ok(default),
                Some(raw) => Limit::parse(name, &raw),
            }
        };
        let limits = Limits {
            login_failures: limit(
                "RATE_LIMIT_LOGIN_FAILURES",
                Limit {
                    max: 10,
                    window_secs: 900,
                },
            )?,
            login_per_ip: limit(
                "RATE_LIMIT_LOGIN_PER_IP",
                Limit {
                    max: 100,
                    window_secs: 900,
                },
            )?,
            signup_per_ip: limit(
                "RATE_LIMIT_SIGNUP_PER_IP",
                Limit {
                    max: 20,
                    window_secs: 3600,
                },
            )?,
            reset_per_ip: limit(
                "RATE_LIMIT_RESET_PER_IP",
                Limit {
                    max: 10,
                    window_secs: 3600,
                },
            )?,
            mail_per_account: limit(
                "RATE_LIMIT_MAIL",
                Limit {
                    max: 5,
                    window_secs: 3600,
                },
            )?,
        };
        Ok(Self {
            limits,
            event_log_max_bytes: number(
                "EVENT_LOG_MAX_BYTES",
                DEFAULT_EVENT_LOG_MAX_BYTES,
                1024,
                1 << 30,
            )?,
            keys,
            state_key,
            hasher: PasswordHasher::new(iterations as u32)?,
            access_ttl_secs: number("ACCESS_TOKEN_TTL", DEFAULT_ACCESS_TTL_SECS, 30, 24 * 3600)?,
            refresh_ttl_secs: number(
                "REFRESH_TOKEN_TTL",
                DEFAULT_REFRESH_TTL_SECS,
                60,
                365 * 24 * 3600,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn defaults_follow_the_security_requirements() {
        let s = Settings::from_vars(vars(&[("JWT_SECRET", &"k".repeat(32))])).unwrap();
        assert_eq!(s.hasher.iterations(), 600_000);
        assert_eq!(s.access_ttl_secs, 900);
        assert_eq!(s.refresh_ttl_secs, 2_592_000);
        assert_eq!(s.event_log_max_bytes, 16 * 1024 * 1024);
        assert_eq!(
            s.limits.login_failures,
            Limit {
                max: 10,
                window_secs: 900
            }
        );
        assert_eq!(
            s.limits.mail_per_account,
            Limit {
                max: 5,
                window_secs: 3600
            }
        );
    }

    #[test]
    fn missing_short_or_malformed_settings_are_clear_errors() {
        let missing = Settings::from_vars(vars(&[])).unwrap_err();
        assert!(missing.to_string().contains("JWT_SECRET"), "{missing}");
        assert!(matches!(
            Settings::from_vars(vars(&[("JWT_SECRET", "short")])),
            Err(Error::Config(_))
        ));
        let bad = Settings::from_vars(vars(&[
            ("JWT_SECRET", &"k".repeat(32)),
            ("ACCESS_TOKEN_TTL", "soon"),
        ]));
        assert!(bad.unwrap_err().to_string().contains("ACCESS_TOKEN_TTL"));
    }
}
