//! The Workers runtime shell: moves bytes between workerd and the core.
//!
//! [`request::proxy::handle`] runs one request through the phases of an
//! [`request::exchange::Exchange`]: read the request's tokens and forward it, filter
//! the origin's response, then annotate after the response: enqueue it
//! ([`delivery::queue`]) or deliver it ([`delivery::direct`]) under `ctx.wait_until`.
//! [`batch`] takes late annotations in batches; [`delivery::queue::consume`]
//! delivers queued ones.

mod batch;
mod bindings;
mod clock;
mod config;
mod delivery;
mod google;
mod log;
mod operate;
mod outcome;
mod request;

use crate::request::route::{route, Route};
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
    let config = config::get(&env);
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
    if to != Route::Proxy {
        // The proxy writes it once its response is made.
        config::log_first_line_soon(ctx.as_ref());
    }
    match to {
        Route::Proxy => request::proxy::handle(&req, config, env, ctx),
        Route::Batch(admin) => worker::wasm_bindgen_futures::future_to_promise(async move {
            let queue = delivery::queue::producer(&env);
            let resp = batch::handle(
                Request::from(req),
                admin,
                config,
                &config.bindings,
                queue,
                &ctx,
            )
            .await;
            Ok(request::responses::or_internal_error(resp.map(Into::into))?.into())
        }),
        Route::NotFound => request::responses::resolved(batch::not_found()),
        Route::Disabled => request::responses::resolved(batch::disabled()),
    }
}

#[event(queue)]
async fn consume(batch: MessageBatch<JsValue>, env: Env, _ctx: Context) -> Result<()> {
    let config = config::get(&env);
    config::log_first_line();
    delivery::queue::consume(batch, &env, config).await;
    Ok(())
}
