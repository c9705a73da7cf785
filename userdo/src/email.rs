//! Email normalisation and the object name derived from it.

use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;
use validator::ValidateEmail;

use crate::error::{Error, Result};

/// The longest email address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// Trims, applies Unicode NFC and lower-cases an email, then checks that it is an address.
///
/// ```
/// assert_eq!(userdo::email::normalize("  Alice@Example.COM ").unwrap(), "alice@example.com");
/// assert!(userdo::email::normalize("not an email").is_err());
/// ```
pub fn normalize(raw: &str) -> Result<String> {
    let email: String = raw.trim().nfc().collect::<String>().to_lowercase();
    if email.is_empty() {
        return Err(Error::field("email", "is required"));
    }
    if email.len() > MAX_EMAIL_LEN || !email.validate_email() {
        return Err(Error::field("email", "must be a valid email address"));
    }
    Ok(email)
}

/// The Durable Object name for a normalised email: its SHA-256 in hex, so no email appears in an
/// object name or a log line.
pub fn object_name(normalized_email: &str) -> String {
    hex(&Sha256::digest(normalized_email.as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_space_and_unicode_form() {
        assert_eq!(normalize(" Bob@Example.com\n").unwrap(), "bob@example.com");
        // "ä" as a + combining diaeresis (NFD) and as one code point (NFC) are the same account.
        let nfd = normalize("bob@ca\u{308}fe.de").unwrap();
        assert_eq!(nfd, normalize("bob@C\u{c4}FE.de").unwrap());
        assert_eq!(nfd, "bob@c\u{e4}fe.de");
    }

    #[test]
    fn rejects_non_addresses_and_overlong_input() {
        for bad in ["", "   ", "a@", "@b.com", "a b@c.com", "no-at-sign"] {
            assert!(normalize(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("{}@example.com", "a".repeat(300));
        assert!(normalize(&long).is_err());
    }

    #[test]
    fn object_name_is_the_sha256_of_the_normalised_email() {
        assert_eq!(
            object_name("alice@example.com"),
            "ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976"
        );
        assert!(!object_name("alice@example.com").contains("alice"));
    }
}
