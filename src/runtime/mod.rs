//! The Workers runtime shell: moves bytes between workerd and the core.
//!
//! [`proxy::handle`] runs one request through the phases of an
//! [`exchange::Exchange`]: read the request's tokens and forward it, filter
//! the origin's response, then annotate after the response: enqueue it
//! ([`queue`]) or deliver it ([`direct`]) under `ctx.wait_until`.
//! [`batch_endpoint`] takes late annotations in batches; [`queue::consume`]
//! delivers queued ones.

mod auth;
mod batch_endpoint;
mod bindings;
mod clock;
mod direct;
mod env_config;
mod exchange;
mod logger;
mod metrics;
mod proxy;
mod queue;
mod recent;
mod responses;
mod rules;
mod subrequest;

use crate::route::{route, Route};
use crate::url::request_path;
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
    // The URL and `Authorization` are copied into wasm only when the batch
    // endpoint's path and token are reserved at all.
    let to = match config.reserved {
        Some(_) => {
            let authorization = req.headers().get("authorization").ok().flatten();
            route(config, request_path(&req.url()), authorization.as_deref())
        }
        None => Route::Proxy,
    };
    match to {
        Route::Proxy => proxy::handle(&req, config, env, ctx),
        Route::Batch(admin) => worker::wasm_bindgen_futures::future_to_promise(async move {
            let queue = queue::producer(&env);
            let bindings = env_config::bindings(&env);
            let resp =
                batch_endpoint::handle(Request::from(req), admin, config, bindings, queue, &ctx)
                    .await;
            Ok(responses::or_internal_error(resp.map(Into::into))?.into())
        }),
        Route::NotFound => responses::resolved(batch_endpoint::refusal(404)),
        Route::Disabled => responses::resolved(batch_endpoint::refusal(503)),
    }
}

#[event(queue)]
async fn consume(batch: MessageBatch<JsValue>, env: Env, _ctx: Context) -> Result<()> {
    let config = env_config::get(&env);
    queue::consume(batch, &env, config).await;
    Ok(())
}
