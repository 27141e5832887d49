//! The proxy's flow for one request, streamed both ways: the request phase
//! up to the origin fetch runs synchronously, the response and annotation
//! phases in one `.then` continuation. Async Rust here (an exported
//! `async fn` awaiting a `JsFuture`) cost a promise, several closures and a
//! microtask per wake-up on every request, more CPU than the proxying itself.
//!
//! It works on the runtime's own `Request`/`Response` objects: workers-rs'
//! wrappers read method, URL, headers and `cf` into wasm on every conversion
//! and rebuild the response, which cost more CPU per request than everything
//! else the worker does (measured in BENCHMARKS.md).

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::{js_sys, web_sys, Context, Env};

use crate::config::Config;
use crate::runtime::bindings::PendingResponse;
use crate::runtime::log;
use crate::runtime::request::exchange::Exchange;
use crate::runtime::request::responses::{
    or_internal_error, origin_unreachable, plain_text, resolved,
};

pub fn handle(
    req: &web_sys::Request,
    config: &'static Config,
    env: Env,
    ctx: Context,
) -> js_sys::Promise {
    let exchange = Exchange::begin(req, config, env, ctx);
    let answered = |response| {
        exchange.response_made();
        resolved(response)
    };
    if let Some(refusal) = exchange.refuse_loop() {
        if let Some(event) = &refusal.log {
            log::emit(event);
        }
        return answered(plain_text(refusal.status, refusal.body));
    }
    let url = match exchange.target_url(req) {
        Ok(url) => url,
        Err(why) => return answered(plain_text(502, why)),
    };
    let pending = match exchange.forward(req, &url) {
        Ok(pending) => pending,
        Err(e) => return answered(origin_unreachable(exchange.hop(), e)),
    };
    when_settled(&pending, AwaitingOrigin { exchange })
}

/// The response and annotation phases, waiting for the origin's answer.
/// A JS object owns it rather than a Rust closure: wasm-bindgen keeps a
/// closure handed to `then` in its table until the closure is called, so a
/// fetch that never settles (the client went away and the runtime cancelled
/// the request) kept its exchange for the isolate's life. A JS object is
/// collected with the promise, and its finalizer frees the exchange.
#[wasm_bindgen]
pub struct AwaitingOrigin {
    exchange: Exchange,
}

#[wasm_bindgen]
impl AwaitingOrigin {
    /// The fetch settled: a `Response`, or why there is none (a fetch
    /// fulfils only with a Response).
    pub fn settle(self, settled: JsValue) -> Result<JsValue, JsValue> {
        let response = match settled.dyn_into::<web_sys::Response>() {
            Ok(from_origin) => or_internal_error(self.exchange.respond(from_origin)),
            Err(error) => origin_unreachable(self.exchange.hop(), error),
        };
        self.exchange.response_made();
        response.map(JsValue::from).map_err(JsValue::from)
    }
}

#[wasm_bindgen(inline_js = "
export function whenSettled(pending, next) {
  const settle = (settled) => next.settle(settled);
  return pending.then(settle, settle);
}")]
extern "C" {
    /// `pending.then(settle, settle)` with a JS arrow that calls
    /// `next.settle`: the continuation is reachable only from the promise, so
    /// if the promise is dropped unsettled (a cancelled request) the garbage
    /// collector frees `next`, Rust state included.
    #[wasm_bindgen(js_name = whenSettled)]
    fn when_settled(pending: &PendingResponse, next: AwaitingOrigin) -> js_sys::Promise;
}
