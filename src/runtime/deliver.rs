//! The annotate call with retries, run under `ctx.wait_until`.

use std::time::Duration;

use futures_util::future::{select, Either};
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

use super::logger;
use crate::annotate_call::{parse_google_error, AnnotateRequest, CONTENT_TYPE};
use crate::annotation::Annotation;
use crate::assessment_id::AssessmentId;
use crate::config::ApiTarget;
use crate::log::{DeliveryResult, Event};
use crate::retry::{disposition, parse_retry_after, Disposition, RetryPolicy};

/// What one attempt produced.
struct Attempt {
    status: Option<u16>,
    retry_after_ms: Option<u64>,
    body: String,
    network_error: Option<String>,
}

pub async fn annotate(api: &'static ApiTarget, id: AssessmentId, annotation: Annotation) {
    let policy = RetryPolicy::default();
    let request = AnnotateRequest::new(api, &id, &annotation);
    let start = js_sys::Date::now();
    let elapsed = || (js_sys::Date::now() - start).max(0.0) as u64;
    let mut attempts = 0;
    let (result, last) = loop {
        attempts += 1;
        let attempt = send_once(&request, policy.attempt_timeout(elapsed())).await;
        match disposition(attempt.status) {
            Disposition::Delivered => break (DeliveryResult::Delivered, attempt),
            Disposition::Final => break (DeliveryResult::Rejected, attempt),
            Disposition::Retryable => {
                let jitter = js_sys::Math::random();
                match policy.next_delay(attempts, elapsed(), attempt.retry_after_ms, jitter) {
                    Some(ms) => Delay::from(Duration::from_millis(ms)).await,
                    None => break (DeliveryResult::GaveUp, attempt),
                }
            }
        }
    };
    logger::emit(&Event::Annotation {
        assessment: id,
        label: annotation.label,
        reasons: annotation.reasons,
        result,
        status: last.status,
        attempts,
        ms: elapsed(),
        error: match result {
            DeliveryResult::Delivered => None,
            _ => parse_google_error(&last.body),
        },
        network_error: last.network_error.map(|e| api.scrub(&e)),
    });
}

async fn send_once(request: &AnnotateRequest, timeout_ms: u64) -> Attempt {
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

async fn try_send(request: &AnnotateRequest, timeout_ms: u64) -> worker::Result<Attempt> {
    let headers = Headers::new();
    headers.set("content-type", CONTENT_TYPE)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(request.body.as_str().into()));
    let req = Request::new_with_init(&request.url, &init)?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(req);
    let sending = Box::pin(fetch.send_with_signal(&signal));
    let timer = Delay::from(Duration::from_millis(timeout_ms));
    let mut resp = match select(sending, timer).await {
        Either::Left((resp, _)) => resp?,
        Either::Right(_) => {
            controller.abort();
            return Err(worker::Error::RustError(format!(
                "no response within {timeout_ms} ms"
            )));
        }
    };
    let status = resp.status_code();
    let retry_after_ms = resp
        .headers()
        .get("retry-after")?
        .as_deref()
        .and_then(parse_retry_after);
    // Only a failure's body is worth reading (Google's error message).
    let body = if (200..300).contains(&status) {
        String::new()
    } else {
        resp.text().await.unwrap_or_default()
    };
    Ok(Attempt {
        status: Some(status),
        retry_after_ms,
        body,
        network_error: None,
    })
}
