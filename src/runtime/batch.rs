//! The late-annotation batch endpoint, `POST {ADMIN_PATH}` with a bearer
//! token, and at the same path and with the same token, `GET`: the status
//! check, the configuration in force. Performs what
//! [`crate::batch::endpoint`] decides: reads the body it asks for, logs,
//! enqueues or hands to direct delivery, and replies.

use futures_util::StreamExt;
use worker::{web_sys, Context, Headers, Queue, Request, Response, Result};

use crate::batch::endpoint::{
    self, Answer, BatchSend, Endpoint, Head, Method, OverCap, RequestHead, Verdict, HEADERS,
};
use crate::config::environment::Bindings;
use crate::config::Config;
use crate::request::admin::Admin;
use crate::runtime::clock::now_ms;
use crate::runtime::delivery::direct;
use crate::runtime::delivery::queue;
use crate::runtime::log;

/// The core's answer as a response.
fn reply(answer: Answer) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in HEADERS.into_iter().chain(answer.header) {
        headers.set(name, value)?;
    }
    Ok(Response::ok(answer.body)?
        .with_status(answer.status)
        .with_headers(headers))
}

/// Near the endpoint's path: 404.
pub fn not_found() -> Result<web_sys::Response> {
    Ok(reply(endpoint::not_found())?.into())
}

/// Under the path of an endpoint whose configuration is invalid: 503.
pub fn disabled() -> Result<web_sys::Response> {
    Ok(reply(endpoint::disabled())?.into())
}

pub async fn handle(
    mut req: Request,
    admin: &Admin,
    config: &'static Config,
    bindings: &Bindings,
    queue: Option<Queue>,
    ctx: &Context,
) -> Result<Response> {
    let endpoint = Endpoint {
        admin,
        config,
        bindings,
    };
    // workers-rs reads a method it does not know as GET.
    let method = match req.method() {
        worker::Method::Get => Method::Get,
        worker::Method::Post => Method::Post,
        _ => Method::Other,
    };
    let headers = req.headers();
    let (authorization, content_type, content_length) = (
        headers.get("authorization")?,
        headers.get("content-type")?,
        headers.get("content-length")?,
    );
    let head = endpoint.head(&RequestHead {
        method,
        authorization: authorization.as_deref(),
        content_type: content_type.as_deref(),
        content_length: content_length.as_deref(),
    });
    let (format, cap) = match head {
        Head::Answer(answer) => return reply(answer),
        Head::ReadBody { format, cap } => (format, cap),
    };
    let body = read_capped(&mut req, cap).await?;
    let batch = match endpoint.body(format, body, queue, now_ms()) {
        Verdict::Answer(answer) => return reply(answer),
        Verdict::Accepted(batch) => batch,
    };
    log::emit(&batch.event);
    match batch.send {
        BatchSend::Queue(queue, envelopes) => {
            let refused = queue::enqueue_all(&queue, &envelopes).await.err();
            let (failed, answer) =
                (batch.receipt).enqueued(refused.map(|(n, e)| (n, e.to_string())));
            failed.iter().for_each(log::emit);
            reply(answer)
        }
        BatchSend::Direct(deliveries) => {
            ctx.wait_until(direct::deliver_all(deliveries, &config.direct));
            reply(batch.receipt.answer())
        }
    }
}

/// The body's bytes, abandoned as soon as they pass `cap`.
async fn read_capped(
    req: &mut Request,
    cap: usize,
) -> Result<std::result::Result<Vec<u8>, OverCap>> {
    if req.inner().body().is_none() {
        return Ok(Ok(Vec::new()));
    }
    let mut bytes = Vec::new();
    let mut stream = req.stream()?;
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk?);
        if bytes.len() > cap {
            return Ok(Err(OverCap));
        }
    }
    Ok(Ok(bytes))
}
