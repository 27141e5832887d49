//! Request to the origin and response to the client, both streamed.

use wasm_bindgen::JsCast;
use worker::{web_sys, Context, Fetch, Headers, Queue, Request, Response, Result};

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

pub async fn handle(
    req: Request,
    config: &'static Config,
    queue: Option<Queue>,
    ctx: &Context,
) -> Result<Response> {
    let extraction = token_sources::extract(
        &config.token_header,
        req.headers().get(&config.token_header)?.as_deref(),
        req.headers().get("cookie")?.as_deref(),
        &config.token_cookies,
    );
    let origin_url = match &config.origin {
        Origin::SameAsRequest => req.inner().url(),
        Origin::Fixed(origin) => origin_request_url(origin, &req.inner().url()),
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
    let status = upstream.status_code();
    if !is_relayable_status(status) {
        logger::emit(&Event::OriginInvalidStatus { status });
        return plain_text(502, "Bad gateway: invalid response from origin\n");
    }
    let outcome_value = upstream.headers().get(&config.outcome_header)?;
    let response = filter_response(upstream, config)?;
    if let Some(value) = outcome_value {
        schedule_annotation(&value, config, &extraction, queue, ctx);
    }
    Ok(response)
}

/// The client's request, unchanged but for the control headers, with its
/// body streamed and redirects handed back rather than followed.
async fn forward(
    req: &Request,
    url: &str,
    config: &Config,
    extraction: &Extraction,
) -> Result<Response> {
    let headers = req.headers().clone();
    headers.delete(&config.outcome_header)?;
    if let Some(name) = &config.assessment_id_header {
        headers.delete(name)?;
        if let Some(id) = extraction.id() {
            headers.set(name, id.as_str())?;
        }
    }
    // Method and streamed body are copied from the client's request, as
    // `new Request(url, request)` does: a RequestInit with a body throws for
    // GET and HEAD ("cannot have a body"), so a GET with a body (legal HTTP)
    // got a 502 and an origin_unreachable log line blaming the origin.
    let copy = web_sys::Request::new_with_str_and_init(url, req.inner().unchecked_ref())?;
    let init = web_sys::RequestInit::new();
    init.set_headers(&headers.0);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    let outgoing = web_sys::Request::new_with_request_and_init(&copy, &init)?;
    Fetch::Request(Request::from(outgoing)).send().await
}

/// The origin's response with the outcome header removed, always.
fn filter_response(upstream: Response, config: &Config) -> Result<Response> {
    let headers: Headers = upstream.headers().clone();
    headers.delete(&config.outcome_header)?;
    Ok(upstream.with_headers(headers))
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

fn plain_text(status: u16, body: &str) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "text/plain; charset=utf-8")?;
    Ok(Response::ok(body)?
        .with_status(status)
        .with_headers(headers))
}
