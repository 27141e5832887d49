//! The Workers runtime shell: moves bytes between workerd and the core.
//!
//! Phases, as in a proxy pipeline: read the request's tokens
//! ([`proxy::forward`]), filter the origin's response
//! ([`proxy::filter_response`]), then annotate after the response: enqueue
//! it ([`queue`]) or send it ([`deliver::annotate`]) under `ctx.wait_until`.
//! [`admin`] takes late annotations in batches; [`queue::consume`] delivers
//! queued ones.

mod admin;
mod deliver;
mod env_config;
mod logger;
mod proxy;
mod queue;
mod recent;

use crate::config::request_path;
use wasm_bindgen::JsValue;
use worker::{event, web_sys, Context, Env, MessageBatch, Request, Result};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
    let config = env_config::get(&env);
    let queue = queue::producer(&env);
    if let Some(admin) = &config.admin {
        if request_path(&req.url()) == admin.path {
            let resp = admin::handle(Request::from(req), admin, config, queue, &ctx).await?;
            return Ok(resp.into());
        }
    }
    proxy::handle(req, config, queue, &ctx).await
}

#[event(queue)]
async fn consume(batch: MessageBatch<JsValue>, env: Env, _ctx: Context) -> Result<()> {
    let config = env_config::get(&env);
    queue::consume(batch, &env, config).await;
    Ok(())
}
