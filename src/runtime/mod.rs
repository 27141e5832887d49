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
        // workerd hands over a parsed and re-serialised URL: dot segments
        // are already resolved, so the path is compared as it stands.
        if url_path(&req.url()) == admin.path {
            let resp = admin::handle(Request::from(req), admin, config, queue, &ctx).await?;
            return Ok(resp.into());
        }
    }
    proxy::handle(req, config, queue, &ctx).await
}

/// The path of an absolute URL (`scheme://authority/path?query#fragment`).
fn url_path(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(url, |i| &url[i + 3..]);
    let from_path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    let end = from_path.find(['?', '#']).unwrap_or(from_path.len());
    &from_path[..end]
}

#[event(queue)]
async fn consume(batch: MessageBatch<JsValue>, env: Env, _ctx: Context) -> Result<()> {
    let config = env_config::get(&env);
    queue::consume(batch, &env, config).await;
    Ok(())
}
