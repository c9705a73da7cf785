//! Password hashing: PBKDF2-HMAC-SHA256 stored as a PHC string (`$pbkdf2-sha256$i=…,l=32$salt$hash`),
//! so the iteration count can change later and old hashes are upgraded at the next login.
//!
//! The `pbkdf2` crate computes every derivation, unless the same derivation was [prepared]
//! beforehand: the runtime's WebCrypto (native code) computes a call's derivations before the
//! call, asynchronously, and the synchronous core then finds them here. A prepared result is a
//! pure function of (password, salt, rounds), so using it is never wrong; a missing one is
//! computed by the crate.

use std::cell::RefCell;

use pbkdf2::password_hash::PasswordVerifier;
use pbkdf2::password_hash::phc::{Output, PasswordHash, Salt};
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
/// The derived key's length in bytes.
pub const OUTPUT_BYTES: usize = 32;
const DUMMY_SALT: &[u8] = b"userdo-dummy-salt";

/// One PBKDF2-HMAC-SHA256 derivation a call will run: what a faster engine can compute first.
#[derive(Clone, PartialEq, Eq)]
pub struct Derivation {
    /// The password's UTF-8 bytes.
    pub password: Vec<u8>,
    /// The salt's raw bytes.
    pub salt: Vec<u8>,
    /// The iteration count.
    pub rounds: u32,
    /// Whether this is a new hash's derivation (its salt freshly drawn), which
    /// [`PasswordHasher::hash`] takes instead of drawing one.
    pub fresh: bool,
}

impl std::fmt::Debug for Derivation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("Derivation")
            .field("rounds", &self.rounds)
            .field("fresh", &self.fresh)
            .finish_non_exhaustive()
    }
}

thread_local! {
    static PREPARED: RefCell<Vec<(Derivation, [u8; OUTPUT_BYTES])>> = const { RefCell::new(Vec::new()) };
}

/// Derivations computed ahead of a call, until the guard drops (which forgets them, and the
/// passwords with them).
#[must_use = "the prepared derivations are forgotten when the guard drops"]
#[derive(Debug)]
pub struct Prepared(());

/// Makes `done` (each derivation with its output) available to the hasher until the guard drops.
/// The caller vouches that each output is PBKDF2-HMAC-SHA256 of its derivation.
pub fn prepared(done: Vec<(Derivation, [u8; OUTPUT_BYTES])>) -> Prepared {
    PREPARED.with(|p| p.borrow_mut().extend(done));
    Prepared(())
}

impl Drop for Prepared {
    fn drop(&mut self) {
        PREPARED.with(|p| p.borrow_mut().clear());
    }
}

/// PBKDF2-HMAC-SHA256 with the `pbkdf2` crate (never a prepared result): the reference the
/// runtime's engine is checked against.
pub fn derive_with_crate(password: &[u8], salt: &[u8], rounds: u32) -> [u8; OUTPUT_BYTES] {
    let mut out = [0u8; OUTPUT_BYTES];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, &mut out);
    out
}

/// A prepared derivation's output, or the crate's.
fn derive(password: &[u8], salt: &[u8], rounds: u32) -> [u8; OUTPUT_BYTES] {
    let found = PREPARED.with(|p| {
        p.borrow()
            .iter()
            .find(|(d, _)| d.rounds == rounds && d.salt == salt && d.password == password)
            .map(|(_, out)| *out)
    });
    found.unwrap_or_else(|| derive_with_crate(password, salt, rounds))
}

/// Takes a prepared new hash for `password` at `rounds`: its salt and output.
fn take_fresh(password: &[u8], rounds: u32) -> Option<(Vec<u8>, [u8; OUTPUT_BYTES])> {
    PREPARED.with(|p| {
        let mut p = p.borrow_mut();
        let at = p
            .iter()
            .position(|(d, _)| d.fresh && d.rounds == rounds && d.password == password)?;
        let (d, out) = p.swap_remove(at);
        Some((d.salt, out))
    })
}

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

    /// Hashes a password with a fresh 16-byte salt, as a PHC string (a prepared new hash's salt
    /// and output, if there is one).
    pub fn hash(&self, platform: &dyn Platform, password: &str) -> Result<String> {
        let rounds = self.iterations();
        let (salt, out) = match take_fresh(password.as_bytes(), rounds) {
            Some(fresh) => fresh,
            None => {
                let mut salt = vec![0u8; SALT_BYTES];
                platform.fill_random(&mut salt)?;
                let out = derive(password.as_bytes(), &salt, rounds);
                (salt, out)
            }
        };
        self.phc_string(&salt, &out)
    }

    fn phc_string(&self, salt: &[u8], out: &[u8]) -> Result<String> {
        let salt = Salt::new(salt).map_err(|e| Error::internal_from("password hashing", e))?;
        let hash = Output::new(out).map_err(|e| Error::internal_from("password hashing", e))?;
        let params = self
            .params
            .try_into()
            .map_err(|e| Error::internal_from("password hashing", e))?;
        Ok(PasswordHash {
            algorithm: Algorithm::Pbkdf2Sha256.into(),
            version: None,
            params,
            salt: Some(salt),
            hash: Some(hash),
        }
        .to_string())
    }

    /// A new hash's derivation, with a freshly drawn salt, for a faster engine to compute before
    /// [`hash`](Self::hash) runs. None for a password whose length is refused before hashing.
    pub fn fresh_derivation(
        &self,
        platform: &dyn Platform,
        password: &str,
    ) -> Result<Option<Derivation>> {
        if check_length("password", password).is_err() {
            return Ok(None);
        }
        let mut salt = vec![0u8; SALT_BYTES];
        platform.fill_random(&mut salt)?;
        Ok(Some(Derivation {
            password: password.as_bytes().to_vec(),
            salt,
            rounds: self.iterations(),
            fresh: true,
        }))
    }

    /// The derivation [`verify`](Self::verify) of `password` against `stored` runs (the dummy's
    /// for an empty `stored`). None for a password too long to be hashed, or a stored hash of
    /// another algorithm.
    pub fn verify_derivation(&self, password: &str, stored: &str) -> Option<Derivation> {
        if password.len() > MAX_PASSWORD_CHARS * 4 {
            return None;
        }
        if stored.is_empty() {
            return Some(self.dummy_derivation(password));
        }
        let hash = PasswordHash::new(stored).ok()?;
        if hash.algorithm.as_str() != Algorithm::Pbkdf2Sha256.to_str() {
            return None;
        }
        let params = Params::try_from(&hash).ok()?;
        Some(Derivation {
            password: password.as_bytes().to_vec(),
            salt: hash.salt?.as_ref().to_vec(),
            rounds: params.rounds(),
            fresh: false,
        })
    }

    /// The derivation [`verify_dummy`](Self::verify_dummy) runs.
    pub fn dummy_derivation(&self, password: &str) -> Derivation {
        Derivation {
            password: password.as_bytes().to_vec(),
            salt: DUMMY_SALT.to_vec(),
            rounds: self.iterations(),
            fresh: false,
        }
    }

    /// Whether a stored hash uses the current parameters (an empty one, no password, does not).
    pub fn is_current(&self, stored: &str) -> bool {
        PasswordHash::new(stored).is_ok_and(|hash| {
            hash.algorithm.as_str() == Algorithm::Pbkdf2Sha256.to_str()
                && Params::try_from(&hash).ok() == Some(self.params)
        })
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
        let is_sha256 = hash.algorithm.as_str() == Algorithm::Pbkdf2Sha256.to_str();
        let params = Params::try_from(&hash).ok();
        let matches = match (is_sha256, params, hash.salt, &hash.hash) {
            (true, Some(params), Some(salt), Some(expected)) if expected.len() == OUTPUT_BYTES => {
                let out = derive(password.as_bytes(), salt.as_ref(), params.rounds());
                // `Output`'s equality is constant-time.
                Output::new(&out).ok().as_ref() == Some(expected)
            }
            // Anything else this crate reads (another digest or output length): its own verify.
            _ => Pbkdf2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok(),
        };
        if !matches {
            return Ok(Verified::Mismatch);
        }
        let current = params == Some(self.params) && is_sha256;
        Ok(if current {
            Verified::Match
        } else {
            Verified::MatchNeedsRehash
        })
    }

    /// Spends the same work as [`verify`](Self::verify) and always fails: used when there is no
    /// account, so the answer and its timing do not reveal whether the account exists.
    pub fn verify_dummy(&self, password: &str) -> Verified {
        let out = derive(password.as_bytes(), DUMMY_SALT, self.iterations());
        // The result is discarded; the point is the cost.
        std::hint::black_box(out);
        Verified::Mismatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::SystemPlatform;
    use pbkdf2::password_hash::CustomizedPasswordHasher;

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
    fn the_crate_gives_rfc_7914s_pbkdf2_hmac_sha256_vector() {
        // RFC 7914, section 11: P = "passwd", S = "salt", c = 1 (the first 32 bytes of dkLen 64).
        let out = derive_with_crate(b"passwd", b"salt", 1);
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn the_stored_string_is_the_crates_own_phc_encoding() {
        let hasher = PasswordHasher::new(1000).unwrap();
        let salt = [7u8; SALT_BYTES];
        let ours = hasher
            .phc_string(&salt, &derive_with_crate(b"password1", &salt, 1000))
            .unwrap();
        let crates = Pbkdf2::default()
            .hash_password_customized(b"password1", &salt, None, None, hasher.params)
            .unwrap()
            .to_string();
        assert_eq!(ours, crates);
    }

    #[test]
    fn a_prepared_derivation_is_used_and_forgotten_when_the_guard_drops() {
        let hasher = PasswordHasher::new(1000).unwrap();
        let stored = hasher.hash(&SystemPlatform, "password1").unwrap();
        let derivation = hasher.verify_derivation("password1", &stored).unwrap();
        assert_eq!(derivation.rounds, 1000);
        assert!(!derivation.fresh);
        // A wrong output for exactly this derivation is believed, which shows it is looked up.
        let guard = prepared(vec![(derivation.clone(), [0u8; OUTPUT_BYTES])]);
        assert_eq!(
            hasher.verify("password1", &stored).unwrap(),
            Verified::Mismatch
        );
        // Another password is not this derivation: the crate computes it.
        assert_eq!(
            hasher.verify("password2", &stored).unwrap(),
            Verified::Mismatch
        );
        drop(guard);
        assert_eq!(
            hasher.verify("password1", &stored).unwrap(),
            Verified::Match
        );
        // The right output gives the same answer as the crate.
        let out = derive_with_crate(&derivation.password, &derivation.salt, 1000);
        let _guard = prepared(vec![(derivation, out)]);
        assert_eq!(
            hasher.verify("password1", &stored).unwrap(),
            Verified::Match
        );
    }

    #[test]
    fn a_prepared_new_hash_gives_its_salt_once() {
        let hasher = PasswordHasher::new(1000).unwrap();
        let fresh = hasher
            .fresh_derivation(&SystemPlatform, "password1")
            .unwrap()
            .unwrap();
        assert!(fresh.fresh);
        assert_eq!(fresh.salt.len(), SALT_BYTES);
        let out = derive_with_crate(&fresh.password, &fresh.salt, fresh.rounds);
        let _guard = prepared(vec![(fresh.clone(), out)]);
        let first = hasher.hash(&SystemPlatform, "password1").unwrap();
        assert_eq!(first, hasher.phc_string(&fresh.salt, &out).unwrap());
        assert_eq!(hasher.verify("password1", &first).unwrap(), Verified::Match);
        let second = hasher.hash(&SystemPlatform, "password1").unwrap();
        assert_ne!(first, second, "a prepared salt is used once");
        // Refused lengths are never prepared.
        assert!(
            hasher
                .fresh_derivation(&SystemPlatform, "short")
                .unwrap()
                .is_none()
        );
        assert!(
            hasher
                .verify_derivation(&"a".repeat(5000), &first)
                .is_none()
        );
    }

    #[test]
    fn the_dummy_and_a_passwordless_account_derive_the_same_work() {
        let hasher = PasswordHasher::new(1000).unwrap();
        let dummy = hasher.dummy_derivation("password1");
        assert_eq!(
            hasher.verify_derivation("password1", ""),
            Some(dummy.clone())
        );
        assert_eq!(dummy.rounds, hasher.iterations());
        assert!(!hasher.is_current(""));
        let stored = hasher.hash(&SystemPlatform, "password1").unwrap();
        assert!(hasher.is_current(&stored));
        assert!(!PasswordHasher::new(2000).unwrap().is_current(&stored));
    }

    #[test]
    fn too_few_iterations_is_a_configuration_error() {
        assert!(matches!(PasswordHasher::new(10), Err(Error::Config(_))));
    }
}
