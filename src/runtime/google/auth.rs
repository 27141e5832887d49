//! Service-account bearer tokens, one per isolate: signs with WebCrypto
//! and makes the token fetches that
//! [`crate::google::service_account`] decides on. Requests without an
//! outcome never reach this module.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{select, Either};

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::{future_to_promise, JsFuture};
use worker::{js_sys, Delay};

use crate::google::annotate_call::{ApiTarget, CONTENT_TYPE};
use crate::google::service_account::jwt::{jwt, Signed, FORM_CONTENT_TYPE};
use crate::google::service_account::token::{
    read_exchange_answer, AuthFailure, Token, TokenCache, TOKEN_FETCH_TIMEOUT_MS,
};
use crate::google::service_account::ServiceAccountAuth;
use crate::log::Event;
use crate::runtime::clock::now_ms;
use crate::runtime::google::subrequest::{self, read_capped, Post};
use crate::runtime::log;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = importKey, catch)]
    fn import_key(
        format: &str,
        key: &js_sys::Uint8Array,
        algorithm: &JsValue,
        extractable: bool,
        usages: &js_sys::Array,
    ) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], catch)]
    fn sign(
        algorithm: &str,
        key: &JsValue,
        data: &js_sys::Uint8Array,
    ) -> Result<js_sys::Promise, JsValue>;
}

const RS256: &str = "RSASSA-PKCS1-v1_5";

/// A token and the annotate call's headers that carry it, made once per
/// token: a warm call costs what an API-key call costs.
#[derive(Clone)]
pub struct Bearer {
    token: Rc<str>,
    pub headers: JsValue,
}

impl Bearer {
    fn new(token: &str) -> Self {
        Bearer {
            token: token.into(),
            headers: subrequest::headers(CONTENT_TYPE, Some(token)),
        }
    }
}

/// A token fetch in flight, shared by every annotation that needs a token
/// until it settles. Its result stays in Rust, typed; the waiters wait on
/// a JS promise that settles once the result is written, so each resumes
/// as from any other I/O it awaits, scheduled by the runtime rather than
/// from inside the fetch's own continuation.
#[derive(Clone)]
struct SharedFetch {
    settled: js_sys::Promise,
    result: Rc<RefCell<Option<Result<Bearer, AuthFailure>>>>,
}

/// What this module keeps for the isolate's life.
struct Isolate {
    /// The private key, imported once as a non-extractable `CryptoKey`.
    key: Option<js_sys::Promise>,
    /// Whether WebCrypto's refusal of the key was logged.
    refusal_logged: bool,
    tokens: TokenCache<Bearer, SharedFetch>,
}

thread_local! {
    static ISOLATE: RefCell<Isolate> = const {
        RefCell::new(Isolate {
            key: None,
            refusal_logged: false,
            tokens: TokenCache::new(),
        })
    };
}

/// The isolate's state, borrowed for `f`, which must not await or call
/// back into this function.
fn isolate<R>(f: impl FnOnce(&mut Isolate) -> R) -> R {
    ISOLATE.with(|i| f(&mut i.borrow_mut()))
}

/// What an annotate call to an API is sent with, as far as this module
/// can tell without waiting.
pub enum Authorization<'a> {
    /// At hand: no bearer for an API key (it is in the URL), or the
    /// service account's cached token.
    Ready(Option<Bearer>),
    /// This service account's token must be fetched first.
    Fetch(&'a ServiceAccountAuth),
}

pub fn authorization(api: &ApiTarget) -> Authorization<'_> {
    match api.service_account() {
        None => Authorization::Ready(None),
        Some(sa) => match isolate(|i| i.tokens.fresh(now_ms())) {
            Some(bearer) => Authorization::Ready(Some(bearer)),
            None => Authorization::Fetch(sa),
        },
    }
}

/// What an annotate call to `api` is sent with, a token fetched by
/// `deadline_ms` if none is at hand: the cached one, the one being
/// fetched, or a new fetch that every caller until it settles shares.
pub async fn authorize(api: &ApiTarget, deadline_ms: u64) -> Result<Option<Bearer>, AuthFailure> {
    let sa = match authorization(api) {
        Authorization::Ready(bearer) => return Ok(bearer),
        Authorization::Fetch(sa) => sa,
    };
    let now = now_ms();
    let left_ms = deadline_ms.saturating_sub(now);
    if left_ms == 0 {
        return Err(AuthFailure::out_of_time());
    }
    let fetch =
        isolate(|i| (i.tokens).fetch(now, |generation| SharedFetch::start(sa.clone(), generation)));
    // A caller that joined a fetch started with more time than it has left
    // stops waiting at its own deadline; the fetch goes on for the others.
    let deadline = Delay::from(Duration::from_millis(left_ms));
    match select(JsFuture::from(fetch.settled.clone()), deadline).await {
        // The one the fetch cached, unless it was dropped since.
        Either::Left(_) => fetch
            .result()
            .map(|bearer| Some(isolate(|i| i.tokens.fresh(now_ms())).unwrap_or(bearer))),
        Either::Right(_) => Err(AuthFailure::out_of_time()),
    }
}

/// Drops `bearer` after Google refused it (401), unless it was replaced already.
pub fn forget(bearer: &Bearer) {
    isolate(|i| i.tokens.forget(&bearer.token));
}

/// Waits until the shared token fetch in flight, if any, settles or is
/// abandoned as stale. Annotations that end call this before their
/// invocation's `waitUntil` (or queue handler) promise settles: the fetch is
/// I/O of the invocation that started it, which the runtime cancels when
/// that invocation ends, and a cancelled fetch never settles, so everyone
/// who joined it would wait out their attempt. An invocation that did not
/// start it waits no longer than its own annotations would have.
pub async fn outlive_fetch_in_flight() {
    if let Some((fetch, left_ms)) = isolate(|i| i.tokens.in_flight(now_ms())) {
        let deadline = Delay::from(Duration::from_millis(left_ms));
        let _ = select(JsFuture::from(fetch.settled), deadline).await;
    }
}

impl SharedFetch {
    /// Starts the fetch of `generation`: it caches the token, or logs why
    /// there is none, whoever is still waiting.
    fn start(sa: ServiceAccountAuth, generation: u64) -> Self {
        let result = Rc::new(RefCell::new(None));
        let slot = Rc::clone(&result);
        let settled = future_to_promise(async move {
            let settled = match new_token(&sa).await {
                Ok(token) => {
                    let bearer = Bearer::new(&token.value);
                    isolate(|i| i.tokens.settled(generation, Some((token, bearer.clone()))));
                    Ok(bearer)
                }
                Err(failure) => {
                    isolate(|i| i.tokens.settled(generation, None));
                    log::emit(&failure.event(&sa));
                    Err(failure)
                }
            };
            *slot.borrow_mut() = Some(settled);
            Ok(JsValue::UNDEFINED)
        });
        SharedFetch { settled, result }
    }

    /// What the fetch produced, once `settled` has.
    fn result(&self) -> Result<Bearer, AuthFailure> {
        // Written before the promise settles, so always there.
        (self.result.borrow().clone()).unwrap_or_else(|| Err(AuthFailure::out_of_time()))
    }
}

/// Signs a JWT and, in exchange mode, trades it for an access token.
async fn new_token(sa: &ServiceAccountAuth) -> Result<Token, AuthFailure> {
    let now = now_ms();
    let assertion = signed_jwt(sa, now / 1000).await?;
    let (url, body) = match sa.use_signed(assertion, now) {
        Signed::Token(token) => return Ok(token),
        Signed::Exchange { url, body } => (url, body),
    };
    let headers = subrequest::headers(FORM_CONTENT_TYPE, None);
    let (pending, post) = Post::start(url, &headers, &body, TOKEN_FETCH_TIMEOUT_MS);
    let resp = post
        .settle(pending)
        .await
        .map_err(AuthFailure::unreachable)?;
    let status = resp.status();
    let text = read_capped(resp).await;
    read_exchange_answer(status, &text, now_ms())
}

/// `base64url(header).base64url(claims).base64url(RS256 signature)`.
async fn signed_jwt(sa: &ServiceAccountAuth, now_s: u64) -> Result<String, AuthFailure> {
    let key = JsFuture::from(private_key(sa))
        .await
        .map_err(|_| key_refused())?;
    let input = sa.signing_input(now_s);
    let data = js_sys::Uint8Array::from(input.as_bytes());
    let signed = match sign(RS256, &key, &data) {
        Ok(promise) => JsFuture::from(promise).await,
        Err(e) => Err(e),
    };
    let signature = signed.map_err(|_| AuthFailure::key_refused())?;
    Ok(jwt(&input, &js_sys::Uint8Array::new(&signature).to_vec()))
}

/// The import, started once per isolate.
fn private_key(sa: &ServiceAccountAuth) -> js_sys::Promise {
    isolate(|i| {
        (i.key.get_or_insert_with(|| {
            let algorithm = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&algorithm, &"name".into(), &RS256.into());
            let _ = js_sys::Reflect::set(&algorithm, &"hash".into(), &"SHA-256".into());
            let usages = js_sys::Array::of1(&"sign".into());
            let der = js_sys::Uint8Array::from(sa.account.private_key_der.as_slice());
            import_key("pkcs8", &der, &algorithm, false, &usages)
                .unwrap_or_else(|e| js_sys::Promise::reject(&e))
        }))
        .clone()
    })
}

/// A refused key is a configuration problem, logged once per isolate; the
/// key's bytes are never part of any message.
fn key_refused() -> AuthFailure {
    if !isolate(|i| std::mem::replace(&mut i.refusal_logged, true)) {
        let error = AuthFailure::key_refused_config_error();
        log::emit(&Event::config_invalid(&[error], false));
    }
    AuthFailure::key_refused()
}
