//! The Workers runtime shell: moves bytes between workerd and the core.
//!
//! Phases, as in a proxy pipeline: read the request's tokens
//! ([`proxy::forward`]), filter the origin's response
//! ([`proxy::filter_response`]), then annotate after the response: enqueue
//! it ([`queue`]) or send it ([`deliver::annotate`]) under `ctx.wait_until`.
//! [`admin`] takes late annotations in batches; [`queue::consume`] delivers
//! queued ones.

mod admin;
mod bindings;
mod deliver;
mod env_config;
mod logger;
mod proxy;
mod queue;
mod recent;

use crate::config::request_path;
use crate::log::Event;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::{event, js_sys, web_sys, worker_sys, Context, Env, MessageBatch, Request, Result};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// The fetch handler, exported by hand rather than through `#[event(fetch)]`
/// (which wraps an `async fn`): the proxy path runs synchronously up to the
/// origin fetch and continues in one `.then`, without wasm-bindgen's future
/// machinery (BENCHMARKS.md has what that saved).
#[wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: Env, ctx: worker_sys::Context) -> js_sys::Promise {
    let config = env_config::get(&env);
    let ctx = Context::new(ctx);
    if let Some(admin) = &config.admin {
        if request_path(&req.url()) == admin.path {
            return worker::wasm_bindgen_futures::future_to_promise(async move {
                let queue = queue::producer(&env);
                let resp = admin::handle(Request::from(req), admin, config, queue, &ctx).await;
                Ok(or_internal_error(resp.map(Into::into))?.into())
            });
        }
    }
    proxy::handle(&req, config, env, ctx)
}

/// What the client gets when the worker itself fails (a runtime call threw):
/// a 500, and the reason in the log.
fn or_internal_error(resp: Result<web_sys::Response>) -> Result<web_sys::Response> {
    resp.or_else(|e| {
        logger::emit(&Event::WorkerError {
            error: e.to_string(),
        });
        proxy::plain_text(500, "Internal server error\n")
    })
}

#[event(queue)]
async fn consume(batch: MessageBatch<JsValue>, env: Env, _ctx: Context) -> Result<()> {
    let config = env_config::get(&env);
    queue::consume(batch, &env, config).await;
    Ok(())
}
