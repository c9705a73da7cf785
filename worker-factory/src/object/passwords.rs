//! The derivations of a call's password checks and new hashes, computed before the call by the
//! runtime's WebCrypto (native code, several times faster than PBKDF2 in wasm) and handed to the
//! synchronous core through [`userdo::password::prepared`]. The `pbkdf2` crate stays the
//! reference: WebCrypto's answer is checked against it once per isolate, and any derivation not
//! prepared (above WebCrypto's limit in Workers, 100,000 rounds) is the crate's.

use userdo::password::{self, Derivation, Prepared};
use userdo::{Platform, Result};

use crate::app::UserCore;
use crate::hop::Call;

/// Workers' WebCrypto refuses PBKDF2 above this many rounds; beyond it the crate does the work.
pub(super) const WEBCRYPTO_MAX_ROUNDS: u32 = 100_000;

/// The derivations `call` will run in `core` (`signed_in`: the caller's session is live, so a
/// call that needs one gets as far as its password check).
pub(super) fn work(core: &UserCore, call: &Call, signed_in: bool) -> Result<Vec<Derivation>> {
    let hasher = &core.settings().hasher;
    let platform: &dyn Platform = core.platform();
    Ok(match call {
        // As the core checks before it hashes: a valid email, and no account yet.
        Call::Signup { email, password }
            if userdo::email::normalize(email).is_ok() && core.me().is_err() =>
        {
            hasher
                .fresh_derivation(platform, password)?
                .into_iter()
                .collect()
        }
        Call::Login { email, password } => core.check_derivations(Some(email), password, true)?,
        Call::ChangePassword { current, new } if signed_in => {
            // A new password of a refused length is an error before any hashing.
            match hasher.fresh_derivation(platform, new)? {
                Some(fresh) => {
                    let mut work = core.check_derivations(None, current, false)?;
                    work.push(fresh);
                    work
                }
                None => Vec::new(),
            }
        }
        Call::DeleteAccount { password } if signed_in => {
            core.check_derivations(None, password, false)?
        }
        // A reset (`ResetConfirm`) is not prepared: the core checks its token first, so a bad
        // one costs no hashing, and a good one is rare enough for the crate.
        _ => Vec::new(),
    })
}

/// Computes `work` with WebCrypto where it can, for the core to find until the guard drops.
pub(super) async fn prepare(work: Vec<Derivation>) -> Result<Option<Prepared>> {
    if work.is_empty() {
        return Ok(None);
    }
    let mut done = Vec::with_capacity(work.len());
    for derivation in work {
        if derivation.rounds > WEBCRYPTO_MAX_ROUNDS {
            continue;
        }
        let out = engine::derive(&derivation).await?;
        done.push((derivation, out));
    }
    Ok(Some(password::prepared(done)))
}

#[cfg(target_arch = "wasm32")]
mod engine {
    use std::cell::Cell;

    use userdo::password::{Derivation, OUTPUT_BYTES, derive_with_crate};
    use userdo::{Error, Result};
    use wasm_bindgen::{JsCast, JsValue};
    use worker::js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
    use worker::wasm_bindgen_futures::JsFuture;

    thread_local! {
        /// Whether this isolate's WebCrypto was found to agree with the crate.
        static CHECKED: Cell<bool> = const { Cell::new(false) };
    }

    /// PBKDF2-HMAC-SHA256 of `d` by `crypto.subtle.deriveBits`, once checked against the crate.
    pub(super) async fn derive(d: &Derivation) -> Result<[u8; OUTPUT_BYTES]> {
        if !CHECKED.with(Cell::get) {
            let (password, salt) = (b"userdo self-check", b"0123456789abcdef");
            if subtle_pbkdf2(password, salt, 2).await? != derive_with_crate(password, salt, 2) {
                return Err(Error::internal(
                    "WebCrypto's PBKDF2 disagrees with the pbkdf2 crate",
                ));
            }
            CHECKED.with(|c| c.set(true));
        }
        subtle_pbkdf2(&d.password, &d.salt, d.rounds).await
    }

    fn js_error(what: &'static str) -> impl Fn(JsValue) -> Error {
        move |e| Error::internal(format!("WebCrypto PBKDF2 {what}: {e:?}"))
    }

    async fn call(subtle: &JsValue, name: &'static str, args: &Array) -> Result<JsValue> {
        let promise: Promise = Reflect::get(subtle, &JsValue::from_str(name))
            .and_then(|f| f.dyn_into::<Function>())
            .and_then(|f| f.apply(subtle, args))
            .and_then(|p| p.dyn_into::<Promise>())
            .map_err(js_error(name))?;
        JsFuture::from(promise).await.map_err(js_error(name))
    }

    async fn subtle_pbkdf2(
        password: &[u8],
        salt: &[u8],
        rounds: u32,
    ) -> Result<[u8; OUTPUT_BYTES]> {
        let global = worker::js_sys::global();
        let subtle = Reflect::get(&global, &JsValue::from_str("crypto"))
            .and_then(|c| Reflect::get(&c, &JsValue::from_str("subtle")))
            .map_err(js_error("crypto.subtle"))?;
        let pbkdf2 = JsValue::from_str("PBKDF2");
        let key = call(
            &subtle,
            "importKey",
            &Array::of5(
                &JsValue::from_str("raw"),
                &Uint8Array::from(password),
                &pbkdf2,
                &JsValue::FALSE,
                &Array::of1(&JsValue::from_str("deriveBits")),
            ),
        )
        .await?;
        let algorithm = Object::new();
        for (name, value) in [
            ("name", pbkdf2),
            ("hash", JsValue::from_str("SHA-256")),
            ("salt", Uint8Array::from(salt).into()),
            ("iterations", JsValue::from(rounds)),
        ] {
            Reflect::set(&algorithm, &JsValue::from_str(name), &value)
                .map_err(js_error("algorithm"))?;
        }
        let bits = call(
            &subtle,
            "deriveBits",
            &Array::of3(&algorithm, &key, &JsValue::from(OUTPUT_BYTES as u32 * 8)),
        )
        .await?;
        let bytes = Uint8Array::new(&bits);
        let mut out = [0u8; OUTPUT_BYTES];
        if bytes.length() as usize != OUTPUT_BYTES {
            return Err(Error::internal(
                "WebCrypto PBKDF2 returned the wrong length",
            ));
        }
        bytes.copy_to(&mut out);
        Ok(out)
    }
}

/// Off wasm (host builds of the factory) there is no WebCrypto: the crate does every derivation.
#[cfg(not(target_arch = "wasm32"))]
mod engine {
    use userdo::Result;
    use userdo::password::{Derivation, OUTPUT_BYTES, derive_with_crate};

    pub(super) async fn derive(d: &Derivation) -> Result<[u8; OUTPUT_BYTES]> {
        Ok(derive_with_crate(&d.password, &d.salt, d.rounds))
    }
}
