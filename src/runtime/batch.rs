//! The late-annotation batch endpoint, `POST {ADMIN_PATH}` with a bearer
//! token, and at the same path and with the same token, `GET`: the status
//! check, the configuration in force.

use futures_util::StreamExt;
use serde::Serialize;
use worker::{web_sys, Context, Headers, Method, Queue, Request, Response, Result};

use crate::batch::{self, BatchError, Format, RejectedItem};
use crate::config::environment::Bindings;
use crate::config::Config;
use crate::delivery::envelope::Envelope;
use crate::delivery::Delivery;
use crate::log::{Event, Mode};
use crate::operate::status::status;
use crate::request::admin::Admin;
use crate::runtime::clock::now_ms;
use crate::runtime::delivery::direct;
use crate::runtime::delivery::queue;
use crate::runtime::log;

#[derive(Serialize)]
struct Receipt {
    accepted: usize,
    rejected: Vec<RejectedItem>,
}

#[derive(Serialize)]
struct Failure<'a> {
    error: &'a str,
}

/// The queue failed part-way: which request items to send again.
#[derive(Serialize)]
struct PartlyEnqueued<'a> {
    error: &'a str,
    accepted: usize,
    not_enqueued: Vec<usize>,
    rejected: Vec<RejectedItem>,
}

fn json<T: Serialize>(status: u16, body: &T) -> Result<Response> {
    json_text(status, serde_json::to_string(body)?)
}

fn json_text(status: u16, body: String) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json; charset=utf-8")?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::ok(body)?
        .with_status(status)
        .with_headers(headers))
}

fn error(status: u16, message: &str) -> Result<Response> {
    json(status, &Failure { error: message })
}

/// An answer under the endpoint's reserved path that is not the endpoint:
/// 404 near it, 503 while its configuration is invalid.
pub fn refusal(status: u16) -> Result<web_sys::Response> {
    let message = match status {
        404 => "no such endpoint: the batch endpoint is at exactly its configured path",
        _ => "the batch endpoint is disabled: ADMIN_TOKEN or ADMIN_PATH is invalid (see the worker's log)",
    };
    Ok(error(status, message)?.into())
}

pub async fn handle(
    mut req: Request,
    admin: &Admin,
    config: &'static Config,
    bindings: &Bindings,
    queue: Option<Queue>,
    ctx: &Context,
) -> Result<Response> {
    let method = req.method();
    if method != Method::Post && method != Method::Get {
        let resp = error(405, "use POST to send annotations, GET for the status")?;
        resp.headers().set("allow", "GET, POST")?;
        return Ok(resp);
    }
    if !admin.authorized(req.headers().get("authorization")?.as_deref()) {
        let resp = error(401, "missing or wrong bearer token")?;
        resp.headers()
            .set("www-authenticate", "Bearer realm=\"recaptcha-annotations\"")?;
        return Ok(resp);
    }
    if method == Method::Get {
        return json_text(200, status(config, bindings));
    }
    let content_type = req.headers().get("content-type")?.unwrap_or_default();
    let Some(format) = Format::from_content_type(&content_type) else {
        let e = BatchError::UnsupportedContentType;
        return error(e.status(), &e.to_string());
    };
    let body = match read_limited(&mut req).await? {
        Ok(body) => body,
        Err(e) => return error(e.status(), &e.to_string()),
    };
    let (accepted, rejected) = match batch::parse(&body, format) {
        Ok(parsed) => parsed,
        Err(e) => return error(e.status(), &e.to_string()),
    };
    let api = match &config.api {
        Ok(api) => api,
        Err(_) => {
            return error(
                503,
                "annotation is disabled: the worker's configuration is invalid (see its log)",
            )
        }
    };
    let count = accepted.len();
    let mode = if queue.is_some() {
        Mode::Queue
    } else {
        Mode::Direct
    };
    log::emit(&Event::BatchReceived {
        accepted: count,
        rejected: rejected.len(),
        mode,
    });
    match queue {
        Some(queue) => {
            let now = now_ms();
            let envelopes: Vec<Envelope> = accepted
                .iter()
                .map(|a| Envelope::new(a.assessment, &a.annotation, now))
                .collect();
            // Accepted means enqueued: the reply waits for the queue.
            if let Err((sent, e)) = queue::enqueue_all(&queue, &envelopes).await {
                log::emit(&Event::EnqueueFailed {
                    error: e.to_string(),
                });
                return json(
                    503,
                    &PartlyEnqueued {
                        error: "the queue refused part of the batch: send the items in not_enqueued again",
                        accepted: sent,
                        not_enqueued: accepted[sent..].iter().map(|a| a.index).collect(),
                        rejected,
                    },
                );
            }
        }
        None => {
            let started_ms = now_ms();
            let deliveries = accepted
                .into_iter()
                .map(|a| Delivery {
                    api,
                    id: a.assessment,
                    annotation: a.annotation,
                    started_ms,
                })
                .collect();
            ctx.wait_until(direct::deliver_all(deliveries, &config.direct));
        }
    }
    json(
        202,
        &Receipt {
            accepted: count,
            rejected,
        },
    )
}

/// The body as text, refusing it as soon as it passes the size limit.
async fn read_limited(req: &mut Request) -> Result<std::result::Result<String, BatchError>> {
    let declared = req
        .headers()
        .get("content-length")?
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > batch::MAX_BYTES) {
        return Ok(Err(BatchError::TooLarge));
    }
    if req.inner().body().is_none() {
        return Ok(Ok(String::new()));
    }
    let mut bytes = Vec::new();
    let mut stream = req.stream()?;
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk?);
        if bytes.len() > batch::MAX_BYTES {
            return Ok(Err(BatchError::TooLarge));
        }
    }
    Ok(String::from_utf8(bytes).map_err(|_| BatchError::NotJson("body is not UTF-8".into())))
}
