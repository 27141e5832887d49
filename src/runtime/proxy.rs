//! Request to the origin and response to the client, both streamed.
//!
//! The request phase runs synchronously up to the origin fetch; the response
//! phase is one `.then` continuation. Async Rust here (an exported `async fn`
//! awaiting a `JsFuture`) cost a promise, several closures and a microtask
//! per wake-up on every request, more CPU than the proxying itself.

use std::cell::OnceCell;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use worker::{js_sys, web_sys, Context, Env, Queue, Result};

use super::bindings::{
    self, fetch_request, fetch_url, header_delete, header_get, header_has, header_set, Names,
    PendingResponse,
};
use super::{deliver, logger, or_internal_error, queue, recent};
use crate::annotation::Annotation;
use crate::assessment_id::AssessmentId;
use crate::config::{origin_request_url, ApiTarget, Config, Origin};
use crate::dedup::AnnotationKey;
use crate::envelope::Envelope;
use crate::log::{DeliveryResult, Event};
use crate::outcome;
use crate::relay::is_relayable_status;
use crate::token_sources::{self, Extraction};

thread_local! {
    /// `{ redirect: "manual" }`: redirects are handed to the client, not
    /// followed. fetch only reads it, so one object serves every request.
    static MANUAL_REDIRECT: OnceCell<web_sys::RequestInit> = const { OnceCell::new() };
}

/// The proxy path works on the runtime's own `Request`/`Response` objects:
/// workers-rs' wrappers read method, URL, headers and `cf` into wasm on every
/// conversion and rebuild the response, which cost more CPU per request than
/// everything else the worker does (measured in BENCHMARKS.md).
pub fn handle(
    req: &web_sys::Request,
    config: &'static Config,
    env: Env,
    ctx: Context,
) -> js_sys::Promise {
    let names = bindings::names(config);
    let incoming = req.headers();
    let extraction = token_sources::extract(
        &config.token_header,
        header_get(&incoming, &names.token)
            .ok()
            .flatten()
            .as_deref(),
        header_get(&incoming, &names.cookie)
            .ok()
            .flatten()
            .as_deref(),
        &config.token_cookies,
    );
    let origin_url = match &config.origin {
        Origin::SameAsRequest => req.url(),
        Origin::Fixed(origin) => origin_request_url(origin, &req.url()),
        Origin::Invalid => return resolved(plain_text(502, "Bad gateway: origin misconfigured\n")),
    };
    let pending = match forward(req, &origin_url, names, &extraction) {
        Ok(pending) => pending,
        Err(e) => return resolved(origin_unreachable(e)),
    };
    // One function for both outcomes (a fetch fulfils only with a Response),
    // so what it captured is freed once the fetch settles, whichever way.
    let settled = Closure::once_into_js(move |settled: JsValue| {
        let response = match settled.dyn_into::<web_sys::Response>() {
            Ok(upstream) => {
                let filtered = filter_response(upstream, config, names, &extraction, &env, &ctx);
                or_internal_error(filtered)
            }
            Err(error) => origin_unreachable(error),
        };
        response.map(JsValue::from).map_err(JsValue::from)
    });
    pending.then_either(&settled, &settled)
}

/// A response the worker made itself, as the handler's promise. Should even
/// that throw, the promise rejects and the runtime answers 500.
pub(super) fn resolved(response: Result<web_sys::Response>) -> js_sys::Promise {
    match response {
        Ok(response) => js_sys::Promise::resolve(&JsValue::from(response)),
        Err(e) => js_sys::Promise::reject(&e.into()),
    }
}

fn origin_unreachable(error: JsValue) -> Result<web_sys::Response> {
    logger::emit(&Event::OriginUnreachable {
        error: worker::Error::from(error).to_string(),
    });
    plain_text(502, "Bad gateway: origin unreachable\n")
}

/// The client's request, unchanged but for the control headers, with its
/// body streamed and redirects handed back rather than followed.
///
/// Usually `fetch(url, { method, headers, body, redirect })`, as the
/// simplest pass-through Worker does, with the client's own headers when
/// there is nothing to edit. `new Request(url, request)` would copy the same
/// things but cost about as much CPU again as the fetch itself (profiled), so
/// it is kept for what an init cannot carry: a GET or HEAD with a body (legal
/// HTTP; an init with one throws "cannot have a body").
fn forward(
    req: &web_sys::Request,
    url: &str,
    names: &Names,
    extraction: &Extraction,
) -> std::result::Result<PendingResponse, JsValue> {
    let body = req.body();
    if body.is_some() && matches!(req.method().as_str(), "GET" | "HEAD") {
        let outgoing = web_sys::Request::new_with_str_and_init(url, req.unchecked_ref())?;
        // The copy's headers are its own, so they are edited in place.
        edit_control_headers(&outgoing.headers(), names, extraction)?;
        return Ok(MANUAL_REDIRECT.with(|cell| {
            let init = cell.get_or_init(|| {
                let init = web_sys::RequestInit::new();
                init.set_redirect(web_sys::RequestRedirect::Manual);
                init
            });
            fetch_request(&outgoing, init)
        }));
    }
    let incoming = req.headers();
    let headers = if needs_edit(&incoming, names, extraction)? {
        let copy = web_sys::Headers::new_with_headers(&incoming)?;
        edit_control_headers(&copy, names, extraction)?;
        copy
    } else {
        incoming
    };
    let init = web_sys::RequestInit::new();
    bindings::copy_method(req, &init);
    init.set_headers(&headers);
    init.set_body(&body.map_or(JsValue::NULL, JsValue::from));
    init.set_redirect(web_sys::RequestRedirect::Manual);
    Ok(fetch_url(url, &init))
}

/// Whether the origin must get other headers than the client sent: a
/// control header to remove, or an assessment ID to add.
fn needs_edit(
    incoming: &web_sys::Headers,
    names: &Names,
    extraction: &Extraction,
) -> std::result::Result<bool, JsValue> {
    Ok(header_has(incoming, &names.outcome)?
        || match &names.assessment_id {
            Some(name) => extraction.id().is_some() || header_has(incoming, name)?,
            None => false,
        })
}

/// Removes what only the origin may say (the outcome header) and what only
/// the worker may say (the assessment ID header), then sets the ID.
fn edit_control_headers(
    headers: &web_sys::Headers,
    names: &Names,
    extraction: &Extraction,
) -> std::result::Result<(), JsValue> {
    header_delete(headers, &names.outcome)?;
    if let Some(name) = &names.assessment_id {
        header_delete(headers, name)?;
        if let Some(id) = extraction.id() {
            header_set(headers, name, id.as_str())?;
        }
    }
    Ok(())
}

/// The response phase: an origin response without an outcome header goes out
/// as it came; one with it goes out without it, and the outcome is scheduled.
fn filter_response(
    upstream: web_sys::Response,
    config: &'static Config,
    names: &Names,
    extraction: &Extraction,
    env: &Env,
    ctx: &Context,
) -> Result<web_sys::Response> {
    let status = upstream.status();
    if !is_relayable_status(status) {
        logger::emit(&Event::OriginInvalidStatus { status });
        return plain_text(502, "Bad gateway: invalid response from origin\n");
    }
    let Some(value) = header_get(&upstream.headers(), &names.outcome)? else {
        return Ok(upstream);
    };
    let response = without_outcome(&upstream, names)?;
    // The queue binding is looked up only when there is something to send.
    schedule_annotation(&value, config, extraction, queue::producer(env), ctx);
    Ok(response)
}

/// The origin's response with the outcome header removed: the same status,
/// status text, streamed body and, for a 101, WebSocket.
fn without_outcome(upstream: &web_sys::Response, names: &Names) -> Result<web_sys::Response> {
    let headers = web_sys::Headers::new_with_headers(&upstream.headers())?;
    header_delete(&headers, &names.outcome)?;
    let init = web_sys::ResponseInit::new();
    init.set_status(upstream.status());
    init.set_headers(&headers);
    bindings::copy_response_parts(upstream, &init);
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
    let started = deliver::now_ms();
    match queue {
        Some(queue) => ctx.wait_until(send_queued(
            api,
            id,
            outcome.annotation,
            key,
            queue,
            started,
        )),
        None => {
            let sent =
                deliver::annotate_first_fast(api, id, outcome.annotation, started, move || {
                    // Let an identical outcome try again rather than be suppressed.
                    recent::forget(key)
                });
            // Only throws outside a request, which this is not.
            let _ = ctx.as_ref().wait_until(&sent);
        }
    }
}

/// Queue mode, after the response: enqueue, or if the queue fails deliver
/// directly within the `waitUntil` budget.
async fn send_queued(
    api: &'static ApiTarget,
    id: AssessmentId,
    annotation: Annotation,
    key: AnnotationKey,
    queue: Queue,
    started: u64,
) {
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
    if deliver::annotate(api, id, annotation, started).await == DeliveryResult::GaveUp {
        recent::forget(key);
    }
}

pub(super) fn plain_text(status: u16, body: &str) -> Result<web_sys::Response> {
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
