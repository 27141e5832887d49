//! Service-account bearer tokens, one per isolate: signed with WebCrypto,
//! fetched by at most one exchange at a time, cached until shortly before
//! they expire. Requests without an outcome never reach this module.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{select, Either};

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::{future_to_promise, JsFuture};
use worker::{js_sys, Delay};

use crate::config::SERVICE_ACCOUNT_KEY;
use crate::error::{snippet_n, ConfigError};
use crate::google::annotate_call::{ApiTarget, CONTENT_TYPE};
use crate::google::auth::{
    jwt, parse_oauth_error, parse_token_response, token_request_body, AuthFailure, AuthMode,
    ServiceAccountAuth, Token, FORM_CONTENT_TYPE, JWT_LIFETIME_S, TOKEN_FETCH_TIMEOUT_MS,
};
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

/// A token fetch in flight, shared by every annotation that needs a token.
struct Pending {
    promise: js_sys::Promise,
    /// Which fetch this is: one abandoned as stale must not, when it ends
    /// after all, clear the fetch that replaced it.
    generation: u64,
    /// After this, a fetch that never settled (its request was cancelled)
    /// is abandoned rather than awaited forever.
    stale_at_ms: u64,
}

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

thread_local! {
    /// The private key, imported once as a non-extractable `CryptoKey`.
    static KEY: RefCell<Option<js_sys::Promise>> = const { RefCell::new(None) };
    static TOKEN: RefCell<Option<(Token, Bearer)>> = const { RefCell::new(None) };
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
    static GENERATION: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// What an annotate call to an API is sent with, as far as this module
/// can tell without waiting.
pub enum Authorization {
    /// At hand: no bearer for an API key (it is in the URL), or the
    /// service account's cached token.
    Ready(Option<Bearer>),
    /// The service account's token must be fetched first.
    Fetch,
}

pub fn authorization(api: &ApiTarget) -> Authorization {
    match api.service_account() {
        None => Authorization::Ready(None),
        Some(_) => match cached() {
            Some(bearer) => Authorization::Ready(Some(bearer)),
            None => Authorization::Fetch,
        },
    }
}

/// What an annotate call to `api` is sent with, a token fetched by
/// `deadline_ms` if none is at hand.
pub async fn authorize(api: &ApiTarget, deadline_ms: u64) -> Result<Option<Bearer>, AuthFailure> {
    match authorization(api) {
        Authorization::Ready(bearer) => Ok(bearer),
        Authorization::Fetch => bearer(api, deadline_ms).await.map(Some),
    }
}

/// The cached token while it is fresh: a warm isolate's calls start at once.
fn cached() -> Option<Bearer> {
    let now = now_ms();
    TOKEN.with(|t| {
        (t.borrow().as_ref())
            .filter(|(token, _)| token.is_fresh(now))
            .map(|(_, bearer)| bearer.clone())
    })
}

/// Drops `bearer` after Google refused it (401), unless it was replaced already.
pub fn forget(bearer: &Bearer) {
    TOKEN.with(|t| {
        let mut t = t.borrow_mut();
        if t.as_ref()
            .is_some_and(|(_, cached)| cached.token == bearer.token)
        {
            *t = None;
        }
    });
}

/// A bearer token by `deadline_ms`: the cached one, the one being fetched,
/// or a new fetch that every caller until it settles shares (a cold isolate
/// under load makes one exchange, not one per annotation).
async fn bearer(api: &ApiTarget, deadline_ms: u64) -> Result<Bearer, AuthFailure> {
    if let Some(bearer) = cached() {
        return Ok(bearer);
    }
    let now = now_ms();
    let left_ms = deadline_ms.saturating_sub(now);
    if left_ms == 0 {
        return Err(out_of_time());
    }
    let promise = PENDING.with(|p| {
        let mut p = p.borrow_mut();
        match p.as_ref() {
            Some(pending) if now < pending.stale_at_ms => pending.promise.clone(),
            _ => {
                let generation = GENERATION.with(|g| g.replace(g.get() + 1) + 1);
                let promise = fetch(api.clone(), TOKEN_FETCH_TIMEOUT_MS, generation);
                *p = Some(Pending {
                    promise: promise.clone(),
                    generation,
                    stale_at_ms: now + TOKEN_FETCH_TIMEOUT_MS + 5_000,
                });
                promise
            }
        }
    });
    // A caller that joined a fetch started with more time than it has left
    // stops waiting at its own deadline; the fetch goes on for the others.
    let settled = JsFuture::from(promise);
    let deadline = Delay::from(Duration::from_millis(left_ms));
    match select(settled, deadline).await {
        // The one the fetch cached, unless it was dropped since.
        Either::Left((Ok(token), _)) => {
            Ok(cached().unwrap_or_else(|| Bearer::new(&token.as_string().unwrap_or_default())))
        }
        Either::Left((Err(failure), _)) => Err(from_js(&failure)),
        Either::Right(_) => Err(out_of_time()),
    }
}

/// Waits until the shared token fetch in flight, if any, settles or is
/// abandoned as stale. Annotations that end call this before their
/// invocation's `waitUntil` (or queue handler) promise settles: the fetch is
/// I/O of the invocation that started it, which the runtime cancels when
/// that invocation ends, and a cancelled fetch never settles, so everyone
/// who joined it would wait out their attempt. An invocation that did not
/// start it waits no longer than its own annotations would have.
pub async fn outlive_fetch_in_flight() {
    let Some((promise, stale_at_ms)) = PENDING.with(|p| {
        (p.borrow().as_ref()).map(|pending| (pending.promise.clone(), pending.stale_at_ms))
    }) else {
        return;
    };
    let left_ms = stale_at_ms.saturating_sub(now_ms());
    if left_ms > 0 {
        let deadline = Delay::from(Duration::from_millis(left_ms));
        let _ = select(JsFuture::from(promise), deadline).await;
    }
}

/// No token by the attempt's deadline: a transient failure, retried.
fn out_of_time() -> AuthFailure {
    AuthFailure {
        status: None,
        error: "no token before the attempt's deadline".into(),
        key_refused: false,
    }
}

/// The shared fetch: caches the token, or logs why there is none.
fn fetch(api: ApiTarget, timeout_ms: u64, generation: u64) -> js_sys::Promise {
    future_to_promise(async move {
        let Some(sa) = api.service_account() else {
            return Err(JsValue::from_str("no service account"));
        };
        let result = new_token(sa, timeout_ms).await;
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            if p.as_ref()
                .is_some_and(|pending| pending.generation == generation)
            {
                *p = None;
            }
        });
        match result {
            Ok(token) => {
                let value = JsValue::from_str(&token.value);
                let bearer = Bearer::new(&token.value);
                TOKEN.with(|t| *t.borrow_mut() = Some((token, bearer)));
                Ok(value)
            }
            Err(failure) => {
                log::emit(&Event::AuthFailed {
                    status: failure.status,
                    error: snippet_n(&api.scrub(&failure.error), 300),
                    auth_mode: sa.mode.name(),
                });
                Err(to_js(&failure))
            }
        }
    })
}

/// Signs a JWT and, in exchange mode, trades it for an access token.
async fn new_token(sa: &ServiceAccountAuth, timeout_ms: u64) -> Result<Token, AuthFailure> {
    let now = now_ms();
    let assertion = signed_jwt(sa, now / 1000).await?;
    if sa.mode == AuthMode::SelfSignedJwt {
        return Ok(Token::new(assertion, now, JWT_LIFETIME_S * 1000));
    }
    let headers = subrequest::headers(FORM_CONTENT_TYPE, None);
    let body = token_request_body(&assertion);
    let (pending, post) = Post::start(&sa.token_uri, &headers, &body, timeout_ms);
    let resp = post.settle(pending).await.map_err(|e| AuthFailure {
        status: None,
        error: format!("token endpoint: {e}"),
        key_refused: false,
    })?;
    let status = resp.status();
    let text = read_capped(resp).await;
    if status != 200 {
        let why = parse_oauth_error(&text).unwrap_or_else(|| format!("HTTP {status}"));
        return Err(AuthFailure {
            status: Some(status),
            error: format!("token endpoint answered {status}: {why}"),
            key_refused: false,
        });
    }
    parse_token_response(&text, now_ms()).map_err(|error| AuthFailure {
        status: None,
        error,
        key_refused: false,
    })
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
    KEY.with(|k| {
        k.borrow_mut()
            .get_or_insert_with(|| {
                let algorithm = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&algorithm, &"name".into(), &RS256.into());
                let _ = js_sys::Reflect::set(&algorithm, &"hash".into(), &"SHA-256".into());
                let usages = js_sys::Array::of1(&"sign".into());
                let der = js_sys::Uint8Array::from(sa.account.private_key_der.as_slice());
                import_key("pkcs8", &der, &algorithm, false, &usages)
                    .unwrap_or_else(|e| js_sys::Promise::reject(&e))
            })
            .clone()
    })
}

/// A refused key is a configuration problem, logged once per isolate; the
/// key's bytes are never part of any message.
fn key_refused() -> AuthFailure {
    thread_local! {
        static LOGGED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if !LOGGED.with(|l| l.replace(true)) {
        let error = ConfigError::new(
            SERVICE_ACCOUNT_KEY,
            "private_key was refused by WebCrypto as an RSA PKCS#8 signing key; annotation is disabled",
        );
        log::emit(&Event::config_invalid(&[error], false));
    }
    AuthFailure::key_refused()
}

/// An [`AuthFailure`] as the shared promise's rejection, and back.
fn to_js(failure: &AuthFailure) -> JsValue {
    let array = js_sys::Array::new();
    array.push(&failure.status.map_or(JsValue::NULL, JsValue::from));
    array.push(&failure.error.as_str().into());
    array.push(&failure.key_refused.into());
    array.into()
}

fn from_js(value: &JsValue) -> AuthFailure {
    let array: &js_sys::Array = value.unchecked_ref();
    if !js_sys::Array::is_array(value) {
        return AuthFailure {
            status: None,
            error: "token fetch failed".into(),
            key_refused: false,
        };
    }
    AuthFailure {
        status: array.get(0).as_f64().map(|s| s as u16),
        error: array.get(1).as_string().unwrap_or_default(),
        key_refused: array.get(2).as_bool().unwrap_or(false),
    }
}
