//! The annotate call: one attempt, and direct mode's retries under `waitUntil`.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{js_sys, web_sys, Delay};

use super::fetch::fetch_url;
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

/// Direct mode: attempts with backoff until delivered, refused, or out of
/// the budget that started at `started_ms` (when the response was handed back).
pub async fn annotate(
    api: &ApiTarget,
    id: AssessmentId,
    annotation: Annotation,
    started_ms: u64,
) -> DeliveryResult {
    let policy = RetryPolicy::default();
    let request = AnnotateRequest::new(api, &id, &annotation);
    let elapsed = || now_ms().saturating_sub(started_ms);
    let mut attempts = 0;
    let mut last = None;
    let result = loop {
        if attempts == 0 && !policy.can_start(elapsed()) {
            break DeliveryResult::GaveUp;
        }
        attempts += 1;
        let attempt = attempt(&request, policy.attempt_timeout(elapsed())).await;
        let outcome = disposition(attempt.status);
        let retry_after = attempt.retry_after_ms;
        last = Some(attempt);
        match outcome {
            Disposition::Delivered => break DeliveryResult::Delivered,
            Disposition::Final => break DeliveryResult::Rejected,
            Disposition::Retryable => {
                let jitter = js_sys::Math::random();
                match policy.next_delay(attempts, elapsed(), retry_after, jitter) {
                    Some(ms) => Delay::from(Duration::from_millis(ms)).await,
                    None => break DeliveryResult::GaveUp,
                }
            }
        }
    };
    let event = ended(
        api,
        id,
        &annotation,
        result,
        last.as_ref(),
        attempts,
        elapsed(),
        Mode::Direct,
        false,
    );
    logger::emit(&event);
    result
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
    match try_send(request, timeout_ms).await {
        Ok(attempt) => attempt,
        Err(e) => Attempt {
            status: None,
            retry_after_ms: None,
            body: String::new(),
            network_error: Some(e.to_string()),
        },
    }
}

/// The whole exchange, body included, is bounded by `timeout_ms`.
async fn try_send(request: &AnnotateRequest, timeout_ms: u64) -> Result<Attempt, worker::Error> {
    // The runtime's own timer signal: a Rust timer raced against the fetch
    // (AbortController, Delay, select) cost about 55 µs of CPU per call.
    // Aborting also ends a body still being read.
    let ms = u32::try_from(timeout_ms).unwrap_or(u32::MAX);
    let signal = web_sys::AbortSignal::timeout_with_u32(ms);
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    JSON_HEADERS.with(|headers| init.set_headers(headers));
    init.set_body(&JsValue::from_str(&request.body));
    init.set_signal(Some(&signal));
    match exchange(&request.url, &init).await {
        Err(_) if signal.aborted() => Err(worker::Error::RustError(format!(
            "no complete response within {timeout_ms} ms"
        ))),
        result => result,
    }
}

thread_local! {
    /// The annotate call's headers. fetch copies them, so one object serves
    /// every call.
    static JSON_HEADERS: JsValue = {
        let headers = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&headers, &"content-type".into(), &CONTENT_TYPE.into());
        headers.into()
    };
}

async fn exchange(url: &str, init: &web_sys::RequestInit) -> Result<Attempt, worker::Error> {
    let resp: web_sys::Response = JsFuture::from(js_sys::Promise::from(fetch_url(url, init)))
        .await?
        .unchecked_into();
    let status = resp.status();
    if (200..300).contains(&status) {
        return Ok(Attempt {
            status: Some(status),
            retry_after_ms: None,
            body: String::new(),
            network_error: None,
        });
    }
    // Only a failure's headers and body are worth reading (Google's error).
    let retry_after_ms = resp
        .headers()
        .get("retry-after")?
        .as_deref()
        .and_then(parse_retry_after);
    Ok(Attempt {
        status: Some(status),
        retry_after_ms,
        body: read_capped(&mut worker::Response::from(resp)).await,
        network_error: None,
    })
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
