//! The annotate call: one attempt, and direct mode's retries under `waitUntil`.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::{future_to_promise, JsFuture};
use worker::{js_sys, web_sys, Delay};

use super::bindings::{fetch_url, set_method};
use super::logger;
use crate::annotate_call::{parse_google_error, AnnotateRequest, GoogleError, CONTENT_TYPE};
use crate::annotation::Annotation;
use crate::assessment_id::AssessmentId;
use crate::config::ApiTarget;
use crate::log::{DeliveryResult, Event, Mode};
use crate::retry::{disposition, parse_retry_after, Disposition, RetryPolicy};

/// Subrequests one invocation keeps in flight (the platform allows 6 connections).
pub const MAX_IN_FLIGHT: usize = 6;
/// Most of an error body read (Google's are a few hundred bytes).
const MAX_ERROR_BODY: usize = 16 * 1024;

/// What one attempt produced.
pub struct Attempt {
    pub status: Option<u16>,
    pub retry_after_ms: Option<u64>,
    pub body: String,
    pub network_error: Option<String>,
}

impl Attempt {
    fn answered(status: u16, retry_after_ms: Option<u64>, body: String) -> Self {
        Attempt {
            status: Some(status),
            retry_after_ms,
            body,
            network_error: None,
        }
    }

    fn failed(network_error: String) -> Self {
        Attempt {
            status: None,
            retry_after_ms: None,
            body: String::new(),
            network_error: Some(network_error),
        }
    }
}

pub fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

/// The log line for an annotation that ended after `attempts` attempts.
#[allow(clippy::too_many_arguments)]
pub fn ended(
    api: &ApiTarget,
    id: AssessmentId,
    annotation: &Annotation,
    result: DeliveryResult,
    last: Option<&Attempt>,
    attempts: u32,
    ms: u64,
    mode: Mode,
    dead_lettered: bool,
) -> Event {
    Event::Annotation {
        assessment: id,
        label: annotation.label,
        reasons: annotation.reasons.clone(),
        result,
        status: last.and_then(|a| a.status),
        attempts,
        ms,
        error: match (result, last) {
            (DeliveryResult::Delivered, _) | (_, None) => None,
            (_, Some(a)) => google_error(api, a),
        },
        network_error: last
            .and_then(|a| a.network_error.as_deref())
            .map(|e| api.scrub(e)),
        mode,
        dead_lettered,
    }
}

/// Google's error from a failed attempt, its message scrubbed of the key
/// (an API base that echoes the request URL would otherwise leak it).
pub fn google_error(api: &ApiTarget, attempt: &Attempt) -> Option<GoogleError> {
    parse_google_error(&attempt.body).map(|mut e| {
        e.message = api.scrub(&e.message);
        e
    })
}

/// Direct mode, for one outcome: the promise to hand to `waitUntil`.
///
/// The first attempt runs on one promise continuation and, when it is
/// delivered (nearly always), ends there; only a failed one goes on in async
/// Rust (error body, backoff, retries). Awaiting every call through
/// wasm-bindgen's futures cost a promise, several closures and a microtask
/// per wake-up (profiled). `on_gave_up` runs if the budget ran out.
pub fn annotate_first_fast(
    api: &'static ApiTarget,
    id: AssessmentId,
    annotation: Annotation,
    started_ms: u64,
    on_gave_up: impl FnOnce() + 'static,
) -> js_sys::Promise {
    let policy = RetryPolicy::default();
    let elapsed = now_ms().saturating_sub(started_ms);
    if !policy.can_start(elapsed) {
        return future_to_promise(async move {
            annotate(api, id, annotation, started_ms).await;
            on_gave_up();
            Ok(JsValue::UNDEFINED)
        });
    }
    let request = AnnotateRequest::new(api, &id, &annotation);
    let timeout_ms = policy.attempt_timeout(elapsed);
    let (init, signal) = request_init(&request, timeout_ms);
    let pending = fetch_url(&request.url, &init);
    // One function for both outcomes (a fetch fulfils only with a Response),
    // so what it captured is freed once the fetch settles, whichever way.
    let settled = Closure::once_into_js(move |settled: JsValue| -> JsValue {
        let settled = settled.dyn_into::<web_sys::Response>();
        if let Ok(resp) = &settled {
            let status = resp.status();
            if disposition(Some(status)) == Disposition::Delivered {
                let first = Attempt::answered(status, None, String::new());
                conclude(
                    api,
                    id,
                    &annotation,
                    DeliveryResult::Delivered,
                    &first,
                    1,
                    started_ms,
                );
                return JsValue::UNDEFINED;
            }
        }
        future_to_promise(async move {
            let first = match settled {
                Ok(resp) => read_failure(resp).await,
                Err(e) => Attempt::failed(network_error(e, &signal, timeout_ms)),
            };
            if retry_after(api, id, annotation, &request, started_ms, first).await
                == DeliveryResult::GaveUp
            {
                on_gave_up();
            }
            Ok(JsValue::UNDEFINED)
        })
        .into()
    });
    pending.then_either(&settled, &settled)
}

/// Direct mode: attempts with backoff until delivered, refused, or out of
/// the budget that started at `started_ms` (when the response was handed back).
pub async fn annotate(
    api: &ApiTarget,
    id: AssessmentId,
    annotation: Annotation,
    started_ms: u64,
) -> DeliveryResult {
    let policy = RetryPolicy::default();
    let elapsed = now_ms().saturating_sub(started_ms);
    if !policy.can_start(elapsed) {
        let event = ended(
            api,
            id,
            &annotation,
            DeliveryResult::GaveUp,
            None,
            0,
            elapsed,
            Mode::Direct,
            false,
        );
        logger::emit(&event);
        return DeliveryResult::GaveUp;
    }
    let request = AnnotateRequest::new(api, &id, &annotation);
    let first = attempt(&request, policy.attempt_timeout(elapsed)).await;
    retry_after(api, id, annotation, &request, started_ms, first).await
}

/// Direct mode after the first attempt: backoff and further attempts until
/// delivered, refused, or out of the budget; then the log line.
async fn retry_after(
    api: &ApiTarget,
    id: AssessmentId,
    annotation: Annotation,
    request: &AnnotateRequest,
    started_ms: u64,
    first: Attempt,
) -> DeliveryResult {
    let policy = RetryPolicy::default();
    let elapsed = || now_ms().saturating_sub(started_ms);
    let mut attempts = 1;
    let mut last = first;
    let result = loop {
        match disposition(last.status) {
            Disposition::Delivered => break DeliveryResult::Delivered,
            Disposition::Final => break DeliveryResult::Rejected,
            Disposition::Retryable => {
                let jitter = js_sys::Math::random();
                match policy.next_delay(attempts, elapsed(), last.retry_after_ms, jitter) {
                    Some(ms) => Delay::from(Duration::from_millis(ms)).await,
                    None => break DeliveryResult::GaveUp,
                }
                attempts += 1;
                last = attempt(request, policy.attempt_timeout(elapsed())).await;
            }
        }
    };
    conclude(api, id, &annotation, result, &last, attempts, started_ms);
    result
}

/// Direct mode's log line for an annotation that ended.
fn conclude(
    api: &ApiTarget,
    id: AssessmentId,
    annotation: &Annotation,
    result: DeliveryResult,
    last: &Attempt,
    attempts: u32,
    started_ms: u64,
) {
    let ms = now_ms().saturating_sub(started_ms);
    let event = ended(
        api,
        id,
        annotation,
        result,
        Some(last),
        attempts,
        ms,
        Mode::Direct,
        false,
    );
    logger::emit(&event);
}

/// Direct mode for many annotations: at most [`MAX_IN_FLIGHT`] at once, all
/// within one budget from `started_ms`.
pub async fn annotate_many(
    api: &ApiTarget,
    items: Vec<(AssessmentId, Annotation)>,
    started_ms: u64,
) {
    stream::iter(items)
        .map(|(id, annotation)| annotate(api, id, annotation, started_ms))
        .buffer_unordered(MAX_IN_FLIGHT)
        .for_each(|_| async {})
        .await;
}

/// One POST to the annotate endpoint, abandoned after `timeout_ms`.
pub async fn attempt(request: &AnnotateRequest, timeout_ms: u64) -> Attempt {
    let (init, signal) = request_init(request, timeout_ms);
    let pending = js_sys::Promise::from(fetch_url(&request.url, &init));
    match JsFuture::from(pending).await {
        Ok(resp) => {
            let resp: web_sys::Response = resp.unchecked_into();
            if disposition(Some(resp.status())) == Disposition::Delivered {
                Attempt::answered(resp.status(), None, String::new())
            } else {
                read_failure(resp).await
            }
        }
        Err(e) => Attempt::failed(network_error(e, &signal, timeout_ms)),
    }
}

/// The annotate call's init, and the signal that ends it after `timeout_ms`:
/// the runtime's own timer (a Rust timer raced against the fetch cost about
/// 55 µs of CPU per call). Aborting also ends a body still being read.
fn request_init(
    request: &AnnotateRequest,
    timeout_ms: u64,
) -> (web_sys::RequestInit, web_sys::AbortSignal) {
    let signal =
        web_sys::AbortSignal::timeout_with_u32(u32::try_from(timeout_ms).unwrap_or(u32::MAX));
    let init = web_sys::RequestInit::new();
    JSON_POST.with(|(method, headers)| {
        set_method(&init, method);
        init.set_headers(headers);
    });
    init.set_body(&JsValue::from_str(&request.body));
    init.set_signal(Some(&signal));
    (init, signal)
}

thread_local! {
    /// The annotate call's method and headers, made once: fetch copies them.
    static JSON_POST: (js_sys::JsString, JsValue) = {
        let headers = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&headers, &"content-type".into(), &CONTENT_TYPE.into());
        ("POST".into(), headers.into())
    };
}

fn network_error(e: JsValue, signal: &web_sys::AbortSignal, timeout_ms: u64) -> String {
    if signal.aborted() {
        format!("no complete response within {timeout_ms} ms")
    } else {
        worker::Error::from(e).to_string()
    }
}

/// A response that was not a success: its status, Retry-After and (capped)
/// body, which carries Google's error.
async fn read_failure(resp: web_sys::Response) -> Attempt {
    let retry_after_ms = resp
        .headers()
        .get("retry-after")
        .ok()
        .flatten()
        .as_deref()
        .and_then(parse_retry_after);
    let status = resp.status();
    Attempt::answered(
        status,
        retry_after_ms,
        read_capped(&mut worker::Response::from(resp)).await,
    )
}

/// At most [`MAX_ERROR_BODY`] bytes of a response body, as text.
async fn read_capped(resp: &mut worker::Response) -> String {
    let Ok(mut stream) = resp.stream() else {
        return String::new();
    };
    let mut bytes = Vec::new();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = MAX_ERROR_BODY - bytes.len();
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() >= MAX_ERROR_BODY {
            break;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
