//! Request to the origin and response to the client, both streamed.

use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{js_sys, web_sys, Context, Queue, Result};

use super::{deliver, logger, queue, recent};
use crate::annotation::Annotation;
use crate::assessment_id::AssessmentId;
use crate::config::{origin_request_url, ApiTarget, Config, Origin};
use crate::dedup::AnnotationKey;
use crate::envelope::Envelope;
use crate::log::{DeliveryResult, Event};
use crate::outcome;
use crate::relay::is_relayable_status;
use crate::token_sources::{self, Extraction};

/// The proxy path works on the runtime's own `Request`/`Response` objects:
/// workers-rs' wrappers read method, URL, headers and `cf` into wasm on every
/// conversion and rebuild the response, which cost more CPU per request than
/// everything else the worker does (measured in BENCHMARKS.md).
pub async fn handle(
    req: web_sys::Request,
    config: &'static Config,
    queue: Option<Queue>,
    ctx: &Context,
) -> Result<web_sys::Response> {
    let incoming = req.headers();
    let extraction = token_sources::extract(
        &config.token_header,
        incoming.get(&config.token_header)?.as_deref(),
        incoming.get("cookie")?.as_deref(),
        &config.token_cookies,
    );
    let origin_url = match &config.origin {
        Origin::SameAsRequest => req.url(),
        Origin::Fixed(origin) => origin_request_url(origin, &req.url()),
        Origin::Invalid => return plain_text(502, "Bad gateway: origin misconfigured\n"),
    };
    let upstream = match forward(&req, &origin_url, config, &extraction).await {
        Ok(resp) => resp,
        Err(e) => {
            logger::emit(&Event::OriginUnreachable {
                error: e.to_string(),
            });
            return plain_text(502, "Bad gateway: origin unreachable\n");
        }
    };
    let status = upstream.status();
    if !is_relayable_status(status) {
        logger::emit(&Event::OriginInvalidStatus { status });
        return plain_text(502, "Bad gateway: invalid response from origin\n");
    }
    let Some(value) = upstream.headers().get(&config.outcome_header)? else {
        // Nothing to strip: the origin's response goes out as it came.
        return Ok(upstream);
    };
    let response = without_outcome(&upstream, config)?;
    schedule_annotation(&value, config, &extraction, queue, ctx);
    Ok(response)
}

/// The client's request, unchanged but for the control headers, with its
/// body streamed and redirects handed back rather than followed.
async fn forward(
    req: &web_sys::Request,
    url: &str,
    config: &Config,
    extraction: &Extraction,
) -> Result<web_sys::Response> {
    // Method, headers and streamed body are copied from the client's request,
    // as `new Request(url, request)` does: a RequestInit with a body throws
    // for GET and HEAD ("cannot have a body"), and a GET with a body is legal
    // HTTP. The copy's headers are its own, so they are edited in place.
    let outgoing = web_sys::Request::new_with_str_and_init(url, req.unchecked_ref())?;
    let headers = outgoing.headers();
    headers.delete(&config.outcome_header)?;
    if let Some(name) = &config.assessment_id_header {
        headers.delete(name)?;
        if let Some(id) = extraction.id() {
            headers.set(name, id.as_str())?;
        }
    }
    let init = web_sys::RequestInit::new();
    init.set_redirect(web_sys::RequestRedirect::Manual);
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let response = JsFuture::from(global.fetch_with_request_and_init(&outgoing, &init)).await?;
    Ok(response.unchecked_into())
}

/// The origin's response with the outcome header removed: the same status,
/// status text, streamed body and, for a 101, WebSocket.
fn without_outcome(upstream: &web_sys::Response, config: &Config) -> Result<web_sys::Response> {
    let headers = web_sys::Headers::new_with_headers(&upstream.headers())?;
    headers.delete(&config.outcome_header)?;
    let init = web_sys::ResponseInit::new();
    init.set_status(upstream.status());
    init.set_status_text(&upstream.status_text());
    init.set_headers(&headers);
    let websocket = js_sys::Reflect::get(upstream, &JsValue::from_str("webSocket"))?;
    if !websocket.is_null() && !websocket.is_undefined() {
        js_sys::Reflect::set(&init, &JsValue::from_str("webSocket"), &websocket)?;
    }
    Ok(web_sys::Response::new_with_opt_readable_stream_and_init(
        upstream.body().as_ref(),
        &init,
    )?)
}

fn schedule_annotation(
    value: &str,
    config: &'static Config,
    extraction: &Extraction,
    queue: Option<Queue>,
    ctx: &Context,
) {
    let outcome = match outcome::parse(value) {
        Ok(o) => o,
        Err(e) => return logger::emit(&Event::outcome_rejected(&config.outcome_header, &e)),
    };
    let Some(id) = outcome.assessment.or(extraction.id()) else {
        return logger::emit(&Event::OutcomeDropped {
            reason:
                "no assessment ID: no valid token in the request and no assessment= in the outcome",
            tokens_rejected: extraction.rejected.clone(),
            config_errors: Vec::new(),
        });
    };
    let api = match &config.api {
        Ok(api) => api,
        Err(errors) => {
            return logger::emit(&Event::OutcomeDropped {
                reason: "annotation disabled: configuration invalid",
                tokens_rejected: Vec::new(),
                config_errors: errors.iter().map(ToString::to_string).collect(),
            })
        }
    };
    let key = AnnotationKey::new(&id, &outcome.annotation);
    if !recent::should_send(key) {
        return logger::emit(&Event::AnnotationSuppressed {
            assessment: id,
            idempotency_key: key.to_hex(),
        });
    }
    ctx.wait_until(send(api, id, outcome.annotation, key, queue));
}

/// Runs after the response: enqueue in queue mode, else (or if the queue
/// fails) deliver directly within the `waitUntil` budget.
async fn send(
    api: &'static ApiTarget,
    id: AssessmentId,
    annotation: Annotation,
    key: AnnotationKey,
    queue: Option<Queue>,
) {
    let started = deliver::now_ms();
    if let Some(queue) = queue {
        let envelope = Envelope::new(id, &annotation, started);
        match queue::enqueue(&queue, &envelope, 0).await {
            Ok(()) => {
                return logger::emit(&Event::AnnotationEnqueued {
                    assessment: id,
                    idempotency_key: envelope.idempotency_key,
                })
            }
            Err(e) => logger::emit(&Event::EnqueueFailed {
                error: e.to_string(),
            }),
        }
    }
    if deliver::annotate(api, id, annotation, started).await == DeliveryResult::GaveUp {
        // Let an identical outcome try again rather than be suppressed.
        recent::forget(key);
    }
}

fn plain_text(status: u16, body: &str) -> Result<web_sys::Response> {
    let headers = web_sys::Headers::new()?;
    headers.set("content-type", "text/plain; charset=utf-8")?;
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers);
    Ok(web_sys::Response::new_with_opt_str_and_init(
        Some(body),
        &init,
    )?)
}
