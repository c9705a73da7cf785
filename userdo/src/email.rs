//! Email normalisation and the object name derived from it.

use sha2::{Digest, Sha256};
use validator::ValidateIp;

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
    let email = unicode::nfc(raw.trim()).to_lowercase();
    if email.is_empty() {
        return Err(Error::field("email", "is required"));
    }
    if email.len() > MAX_EMAIL_LEN || !is_email(&email) {
        return Err(Error::field("email", "must be a valid email address"));
    }
    Ok(email)
}

/// validator 0.21's `ValidateEmail::validate_email` (the HTML5 address shape, an IP literal
/// domain, an internationalised domain through IDNA), written without its regular expressions:
/// they were the only use of the `regex` crate in the worker (about 100 KiB of the gzipped
/// bundle) and were compiled at the first email of each isolate. A host property test checks that
/// both accept the same strings.
fn is_email(val: &str) -> bool {
    let Some((user_part, domain_part)) = val.rsplit_once('@') else {
        return false;
    };
    // RFC 5321's limits for each part, counted in characters as validator does.
    if user_part.chars().count() > 64 || domain_part.chars().count() > 255 {
        return false;
    }
    // ^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+\z
    let user_ok = !user_part.is_empty()
        && user_part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&b));
    if !user_ok {
        return false;
    }
    domain_part_ok(domain_part)
        || unicode::domain_to_ascii(domain_part).is_some_and(|ascii| domain_part_ok(&ascii))
}

/// NFC and UTS 46's domain to ASCII, the two Unicode steps of an email.
///
/// In the worker they are the runtime's own (V8's ICU: `String.prototype.normalize` and the
/// WHATWG URL parser's host processing), so the bundle carries no Unicode tables: ICU4X's were
/// about 52 KiB of it gzipped (issue 14). On the host (tests, tools) they are ICU4X's through
/// `icu_normalizer` and `idna`, which implement the same two standards; the e2e tests check the
/// worker's answers for the cases the host tests check here.
#[cfg(not(target_arch = "wasm32"))]
mod unicode {
    const NFC: icu_normalizer::ComposingNormalizerBorrowed<'static> =
        icu_normalizer::ComposingNormalizerBorrowed::new_nfc();

    pub(super) fn nfc(s: &str) -> std::borrow::Cow<'_, str> {
        NFC.normalize(s)
    }

    /// `idna::domain_to_ascii`: what validator's email rule applies.
    pub(super) fn domain_to_ascii(domain: &str) -> Option<String> {
        idna::domain_to_ascii(domain).ok()
    }
}

#[cfg(target_arch = "wasm32")]
mod unicode {
    use wasm_bindgen::prelude::wasm_bindgen;

    #[wasm_bindgen]
    extern "C" {
        /// The runtime's WHATWG `URL`.
        type URL;
        #[wasm_bindgen(constructor, catch)]
        fn new(url: &str) -> Result<URL, wasm_bindgen::JsValue>;
        #[wasm_bindgen(method, getter)]
        fn hostname(this: &URL) -> String;
    }

    pub(super) fn nfc(s: &str) -> String {
        String::from(js_sys::JsString::from(s).normalize("NFC"))
    }

    /// The URL Standard's domain to ASCII (UTS 46, as `idna::domain_to_ascii` implements it), run
    /// by parsing `http://{domain}/`. A domain with an ASCII character outside letters, digits,
    /// `-` and `.` is refused first: the parser would read `/`, `:`, `@` or `%` as other parts of
    /// a URL, and the caller refuses such a domain anyway (an ASCII character that UTS 46 passes
    /// through stays in its answer, which must be letters, digits, `-` and `.`).
    pub(super) fn domain_to_ascii(domain: &str) -> Option<String> {
        let plain = |b: u8| !b.is_ascii() || b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
        if !domain.bytes().all(plain) {
            return None;
        }
        URL::new(&format!("http://{domain}/"))
            .ok()
            .map(|url| url.hostname())
    }
}

/// A host name of labels (`^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?` each, joined by
/// dots), or an address literal ending the string (`\[([a-fA-F0-9:\.]+)\]\z`) that parses as
/// an IP address.
fn domain_part_ok(domain: &str) -> bool {
    let label_ok = |label: &[u8]| match label {
        [] => false,
        [only] => only.is_ascii_alphanumeric(),
        [first, middle @ .., last] => {
            label.len() <= 63
                && first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && middle
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
    };
    if domain.split('.').all(|label| label_ok(label.as_bytes())) {
        return true;
    }
    // The literal need not start the string (the expression is not anchored there); its class
    // holds no `[`, so the only candidate opens at the last `[`.
    let Some(rest) = domain.strip_suffix(']') else {
        return false;
    };
    let Some((_, inner)) = rest.rsplit_once('[') else {
        return false;
    };
    !inner.is_empty()
        && inner
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        && inner.validate_ip()
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

    /// The NFC of every code point, after a letter and before a combining mark, is the one
    /// `unicode-normalization` (the crate this step used before) gives: no email changes its
    /// account.
    #[test]
    fn nfc_is_the_one_unicode_normalization_gives_for_every_code_point() {
        use unicode_normalization::UnicodeNormalization;
        let mut differ = Vec::new();
        for c in (0..=0x10_ffff_u32).filter_map(char::from_u32) {
            for s in [format!("a{c}"), format!("{c}\u{301}")] {
                let ours = unicode::nfc(&s);
                let theirs: String = s.nfc().collect();
                if ours != theirs {
                    differ.push(s);
                }
            }
        }
        assert!(
            differ.is_empty(),
            "{} differ, e.g. {:?}",
            differ.len(),
            &differ[..differ.len().min(20)]
        );
    }

    proptest::proptest! {
        /// Strings of combining marks, Hangul jamo, precomposed letters and singletons: NFC as
        /// `unicode-normalization` gives it.
        #[test]
        fn nfc_agrees_with_unicode_normalization(
            s in "[a-zA-Z@.\u{300}-\u{36f}\u{1100}-\u{1112}\u{1161}-\u{1175}\u{11a8}-\u{11c2}\u{ac00}-\u{ac20}\u{c0}-\u{17f}\u{1e00}-\u{1eff}\u{2126}\u{212b}\u{f900}-\u{f910}\u{0958}-\u{095f}\u{093c}\u{0915}-\u{0939}\u{05b0}-\u{05c7}\u{0590}-\u{05ff}\u{1f00}-\u{1fff}\u{0345}\u{0344}\u{0f73}\u{0f75}\u{0f81}]{0,16}"
        ) {
            use unicode_normalization::UnicodeNormalization;
            let theirs: String = s.nfc().collect();
            let ours = unicode::nfc(&s);
            proptest::prop_assert_eq!(ours.as_ref(), theirs.as_str());
        }
    }

    #[test]
    fn rejects_non_addresses_and_overlong_input() {
        for bad in ["", "   ", "a@", "@b.com", "a b@c.com", "no-at-sign"] {
            assert!(normalize(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("{}@example.com", "a".repeat(300));
        assert!(normalize(&long).is_err());
    }

    /// Internationalised domains and whether an address at each is accepted: validator's answers,
    /// and the worker's (the runtime's Unicode steps), which `e2e/tests/auth.test.mjs` checks
    /// against the same list.
    const UNICODE_DOMAINS: [(&str, bool); 12] = [
        ("b\u{fc}cher.example", true),
        (
            "\u{ff25}\u{ff38}\u{ff21}\u{ff2d}\u{ff30}\u{ff2c}\u{ff25}.com",
            true,
        ),
        ("exa\u{ad}mple.com", true),
        (
            "domain.with.idn.tld.\u{909}\u{926}\u{93e}\u{939}\u{930}\u{923}.\u{92a}\u{930}\u{940}\u{915}\u{94d}\u{937}\u{93e}",
            true,
        ),
        ("\u{fc}", true),
        ("a\u{301}b.example", true),
        ("b\u{fc}_cher.example", false),
        ("b\u{fc}cher..example", false),
        ("b\u{fc}cher.example.", false),
        ("b\u{fc}cher.exam ple", false),
        ("\u{fffd}.example", false),
        ("a\u{5d0}.example", false),
    ];

    #[test]
    fn unicode_domains_are_answered_as_validator_answers() {
        use validator::ValidateEmail;
        for (domain, accepted) in UNICODE_DOMAINS {
            let raw = format!("u@{domain}");
            assert_eq!(raw.validate_email(), accepted, "validator on {raw:?}");
            assert_eq!(normalize(&raw).is_ok(), accepted, "{raw:?}");
        }
    }

    /// The cases of validator's own email test (taken from Django's), and a few more.
    #[test]
    fn is_email_agrees_with_validator_on_its_test_cases() {
        use validator::ValidateEmail;
        let long_label = format!("a@{}.com", "x".repeat(63));
        let too_long_label = format!("a@{}.com", "x".repeat(64));
        let long_user = format!("{}@example.com", "u".repeat(65));
        let cases = [
            "email@here.com",
            "weirder-email@here.and.there.com",
            "!def!xyz%abc@example.com",
            "email@[127.0.0.1]",
            "email@[2001:dB8::1]",
            "email@[2001:dB8:0:0:0:0:0:1]",
            "email@[::fffF:127.0.0.1]",
            "example@valid-----hyphens.com",
            "example@valid-with-hyphens.com",
            "test@domain.with.idn.tld.उदाहरण.परीक्षा",
            "\"test@test\"@example.com",
            "a@atm.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "a@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.atm",
            "a@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbb.atm",
            "a@atm.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "",
            "abc",
            "abc@",
            "a @x.cz",
            "abc@.com",
            "something@@somewhere.com",
            "email@127.0.0.1",
            "email@[127.0.0.256]",
            "email@[2001:db8::12345]",
            "email@[2001:db8:0:0:0:0:1]",
            "email@[::ffff:127.0.0.256]",
            "example@invalid-.com",
            "example@-invalid.com",
            "example@invalid.com-",
            "example@inv-.alid-.com",
            "example@inv-.-alid.com",
            "test@example.com\n\n<script src=\"x.js\">",
            "\"\\\u{11}\"@here.com",
            "trailingdot@shouldfail.com.",
            "a@b.com\n",
            "a\n@b.com",
            "\"test@test\"\n@example.com",
            "John.Doe@exam_ple.com",
            "a@[127.0.0.1]x",
            "a@x[127.0.0.1]",
            "a@[x[127.0.0.1]",
            "a@[]",
            "a@[[::1]]",
            "a@Bücher.example",
            "a@xn--bcher-kva.example",
            "a@ＥＸＡＭＰＬＥ.com",
            "a@exa\u{ad}mple.com",
            "ä@example.com",
            &long_label,
            &too_long_label,
            &long_user,
        ];
        for case in cases {
            assert_eq!(is_email(case), case.validate_email(), "{case:?}");
        }
    }

    proptest::proptest! {
        /// Strings drawn from the characters that matter to either rule agree with validator.
        #[test]
        fn is_email_agrees_with_validator(
            s in "[a-zA-Z0-9@.\\[\\]:\\-_!~ äÄü\u{ad}\u{301}ＡＸ।उ]{0,24}"
        ) {
            use validator::ValidateEmail;
            proptest::prop_assert_eq!(is_email(&s), s.validate_email(), "{:?}", s);
        }

        /// The same for strings shaped like addresses, IP literals included.
        #[test]
        fn address_shaped_strings_agree_with_validator(
            user in "[a-z0-9.!#%+\\-ä\"]{0,6}",
            domain in "[a-fA-F0-9:.\\-xä]{0,12}|\\[[a-fA-F0-9:.x]{0,20}\\]|[a-z]{1,3}\\[[0-9.:]{1,16}\\]"
        ) {
            use validator::ValidateEmail;
            let s = format!("{user}@{domain}");
            proptest::prop_assert_eq!(is_email(&s), s.validate_email(), "{:?}", s);
        }
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
