//! The Workers runtime shell: moves bytes between workerd and the core.
//!
//! Phases, as in a proxy pipeline: read the request's tokens
//! ([`proxy::forward`]), filter the origin's response
//! ([`proxy::filter_response`]), then annotate after the response
//! ([`deliver::annotate`]) under `ctx.wait_until`.

mod deliver;
mod env_config;
mod logger;
mod proxy;

use worker::{event, Context, Env, Request, Response, Result};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let config = env_config::get(&env);
    proxy::handle(req, config, &ctx).await
}
