//! Password hashing: PBKDF2-HMAC-SHA256 stored as a PHC string (`$pbkdf2-sha256$i=…,l=32$salt$hash`),
//! so the iteration count can change later and old hashes are upgraded at the next login.

use pbkdf2::password_hash::{CustomizedPasswordHasher, PasswordVerifier};
use pbkdf2::phc::PasswordHash;
use pbkdf2::{Algorithm, Params, Pbkdf2};

use crate::error::{Error, Result};
use crate::platform::Platform;

/// OWASP's recommendation for PBKDF2-HMAC-SHA256.
pub const DEFAULT_ITERATIONS: u32 = 600_000;
/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password, in characters (checked before any hashing).
pub const MAX_PASSWORD_CHARS: usize = 1024;
const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;

/// Checks a password's length in characters, before it is ever hashed.
pub(crate) fn check_length(field: &str, password: &str) -> Result<()> {
    // Bytes bound characters from above, so a huge input is rejected without counting it.
    if password.len() > MAX_PASSWORD_CHARS * 4 {
        return Err(length_error(field));
    }
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(length_error(field));
    }
    Ok(())
}

fn length_error(field: &str) -> Error {
    Error::field(
        field,
        format!("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"),
    )
}

/// Hashes and verifies passwords at a configured iteration count.
#[derive(Debug, Clone, Copy)]
pub struct PasswordHasher {
    params: Params,
}

/// What a verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// The password matches and the hash uses the current parameters.
    Match,
    /// The password matches but the hash should be recomputed with the current parameters.
    MatchNeedsRehash,
    /// The password does not match.
    Mismatch,
}

impl PasswordHasher {
    /// A hasher at `iterations` rounds (at least 1,000, the crate's floor).
    pub fn new(iterations: u32) -> Result<Self> {
        let params = Params::new_with_output_len(iterations, OUTPUT_BYTES)
            .map_err(|e| Error::Config(format!("PBKDF2_ITERATIONS={iterations}: {e}")))?;
        Ok(Self { params })
    }

    /// The configured iteration count.
    pub fn iterations(&self) -> u32 {
        self.params.rounds()
    }

    /// Hashes a password with a fresh 16-byte salt, as a PHC string.
    pub fn hash(&self, platform: &dyn Platform, password: &str) -> Result<String> {
        let mut salt = [0u8; SALT_BYTES];
        platform.fill_random(&mut salt)?;
        self.hash_with_salt(password, &salt)
    }

    fn hash_with_salt(&self, password: &str, salt: &[u8]) -> Result<String> {
        Pbkdf2::default()
            .hash_password_customized(password.as_bytes(), salt, None, None, self.params)
            .map(|h| h.to_string())
            .map_err(|e| Error::internal_from("password hashing", e))
    }

    /// Verifies a password against a stored PHC string, in constant time.
    pub fn verify(&self, password: &str, stored: &str) -> Result<Verified> {
        if stored.is_empty() {
            // An account made by a sign-in provider has no password: every password is wrong,
            // after the same work as a real check.
            return Ok(self.verify_dummy(password));
        }
        let hash = PasswordHash::new(stored)
            .map_err(|e| Error::internal_from("stored password hash unreadable", e))?;
        if Pbkdf2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_err()
        {
            return Ok(Verified::Mismatch);
        }
        let current = Params::try_from(&hash).ok() == Some(self.params)
            && hash.algorithm.as_str() == Algorithm::Pbkdf2Sha256.to_str();
        Ok(if current {
            Verified::Match
        } else {
            Verified::MatchNeedsRehash
        })
    }

    /// Spends the same work as [`verify`](Self::verify) and always fails: used when there is no
    /// account, so the answer and its timing do not reveal whether the account exists.
    pub fn verify_dummy(&self, password: &str) -> Verified {
        let mut out = [0u8; OUTPUT_BYTES];
        Pbkdf2::new(Algorithm::Pbkdf2Sha256, self.params).hash_password_into(
            password.as_bytes(),
            b"userdo-dummy-salt",
            &mut out,
        );
        // The result is discarded; the point is the cost.
        std::hint::black_box(out);
        Verified::Mismatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::SystemPlatform;

    #[test]
    fn hashes_are_phc_strings_with_salt_and_iterations() {
        let hasher = PasswordHasher::new(1000).unwrap();
        let a = hasher.hash(&SystemPlatform, "correct horse").unwrap();
        let b = hasher.hash(&SystemPlatform, "correct horse").unwrap();
        assert!(a.starts_with("$pbkdf2-sha256$i=1000,l=32$"), "{a}");
        assert_ne!(a, b, "salts must differ");
        assert_eq!(hasher.verify("correct horse", &a).unwrap(), Verified::Match);
        assert_eq!(
            hasher.verify("wrong horse", &a).unwrap(),
            Verified::Mismatch
        );
    }

    #[test]
    fn default_is_owasp_600k() {
        let hasher = PasswordHasher::new(DEFAULT_ITERATIONS).unwrap();
        assert_eq!(hasher.iterations(), 600_000);
    }

    #[test]
    fn outdated_parameters_ask_for_a_rehash() {
        let old = PasswordHasher::new(1000).unwrap();
        let new = PasswordHasher::new(2000).unwrap();
        let stored = old.hash(&SystemPlatform, "password1").unwrap();
        assert_eq!(
            new.verify("password1", &stored).unwrap(),
            Verified::MatchNeedsRehash
        );
        assert_eq!(
            new.verify("password2", &stored).unwrap(),
            Verified::Mismatch
        );
    }

    #[test]
    fn length_is_checked_in_characters_before_hashing() {
        assert!(check_length("password", "1234567").is_err());
        assert!(check_length("password", "12345678").is_ok());
        assert!(check_length("password", &"é".repeat(1024)).is_ok());
        assert!(check_length("password", &"a".repeat(1025)).is_err());
        assert!(check_length("password", &"a".repeat(1_000_000)).is_err());
    }

    #[test]
    fn too_few_iterations_is_a_configuration_error() {
        assert!(matches!(PasswordHasher::new(10), Err(Error::Config(_))));
    }
}
