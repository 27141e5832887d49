//! Direct mode: performs the annotate attempts and waits that
//! [`crate::delivery`] decides on, under `waitUntil`.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::future_to_promise;
use worker::{js_sys, web_sys, Delay};

use crate::delivery::retry::{Disposition, RetryPolicy};
use crate::delivery::{Attempt, Delivery, DeliveryResult, End, Mode, Step};
use crate::google::annotate_call::{AnnotateRequest, ApiTarget, CONTENT_TYPE};
use crate::runtime::bindings::PendingResponse;
use crate::runtime::clock::now_ms;
use crate::runtime::google::auth::{self, Bearer};
use crate::runtime::google::subrequest::{self, cancel_body, read_capped, retry_after_ms, Post};
use crate::runtime::log;

/// Subrequests one invocation keeps in flight (the platform allows 6 connections).
pub const MAX_IN_FLIGHT: usize = 6;

/// [`deliver`] as the promise to hand to `waitUntil`; `on_gave_up` runs if
/// the budget ran out.
///
/// The first attempt runs on one promise continuation and, when it is
/// delivered (nearly always), ends there; only a failed one goes on in async
/// Rust (error body, backoff, retries). Awaiting every call through
/// wasm-bindgen's futures cost a promise, several closures and a microtask
/// per wake-up (profiled).
pub fn deliver_as_promise(
    delivery: Delivery<'static>,
    policy: &'static RetryPolicy,
    on_gave_up: impl FnOnce() + 'static,
) -> js_sys::Promise {
    let Some(timeout_ms) = delivery.first_attempt_timeout(policy, now_ms()) else {
        conclude(&delivery, DeliveryResult::GaveUp, None, 0);
        on_gave_up();
        return js_sys::Promise::resolve(&JsValue::UNDEFINED);
    };
    // The first attempt starts now only if it needs no token or has one.
    let bearer = match delivery.api.service_account() {
        None => None,
        Some(_) => match auth::cached() {
            Some(token) => Some(token),
            None => {
                return future_to_promise(async move {
                    if deliver(delivery, policy).await == DeliveryResult::GaveUp {
                        on_gave_up();
                    }
                    Ok(JsValue::UNDEFINED)
                })
            }
        },
    };
    let request = delivery.request();
    let deadline_ms = now_ms() + timeout_ms;
    let (pending, post) = start(&request, bearer.as_ref(), timeout_ms);
    // One function for both outcomes (a fetch fulfils only with a Response),
    // so what it captured is freed once the fetch settles, whichever way.
    let settled = Closure::once_into_js(move |settled: JsValue| -> JsValue {
        let settled = settled
            .dyn_into::<web_sys::Response>()
            .map_err(|e| post.network_error(e));
        if let Some(first) = settled.as_ref().ok().and_then(delivered) {
            conclude(&delivery, DeliveryResult::Delivered, Some(&first), 1);
            return JsValue::UNDEFINED;
        }
        future_to_promise(async move {
            let first = answer(delivery.api, &request, bearer, settled, deadline_ms).await;
            if retry_until_done(&delivery, policy, &request, first).await == DeliveryResult::GaveUp
            {
                on_gave_up();
            }
            Ok(JsValue::UNDEFINED)
        })
        .into()
    });
    pending.then_either(&settled, &settled)
}

/// Attempts with backoff until delivered, refused, or out of the budget
/// that started at `delivery.started_ms`; then the log line.
pub async fn deliver(delivery: Delivery<'_>, policy: &RetryPolicy) -> DeliveryResult {
    let Some(timeout_ms) = delivery.first_attempt_timeout(policy, now_ms()) else {
        conclude(&delivery, DeliveryResult::GaveUp, None, 0);
        return DeliveryResult::GaveUp;
    };
    let request = delivery.request();
    let first = attempt(delivery.api, &request, timeout_ms).await;
    retry_until_done(&delivery, policy, &request, first).await
}

/// Many deliveries, at most [`MAX_IN_FLIGHT`] at once, each within the
/// budget from its own `started_ms`.
pub async fn deliver_all(deliveries: Vec<Delivery<'_>>, policy: &RetryPolicy) {
    stream::iter(deliveries)
        .map(|delivery| deliver(delivery, policy))
        .buffer_unordered(MAX_IN_FLIGHT)
        .for_each(|_| async {})
        .await;
}

/// After the first attempt: the waits and further attempts the core asks
/// for, then the log line.
async fn retry_until_done(
    delivery: &Delivery<'_>,
    policy: &RetryPolicy,
    request: &AnnotateRequest,
    first: Attempt,
) -> DeliveryResult {
    let mut attempts = 1;
    let mut last = first;
    let result = loop {
        let elapsed = delivery.elapsed(now_ms());
        match last.next_direct(policy, attempts, elapsed, js_sys::Math::random()) {
            Step::Done(result) => break result,
            Step::RetryIn(ms) => {
                Delay::from(Duration::from_millis(ms)).await;
                attempts += 1;
                let timeout_ms = policy.attempt_timeout(delivery.elapsed(now_ms()));
                last = attempt(delivery.api, request, timeout_ms).await;
            }
        }
    };
    conclude(delivery, result, Some(&last), attempts);
    // A token fetch this annotation started lives as long as this invocation.
    if delivery.api.service_account().is_some() {
        auth::outlive_fetch_in_flight().await;
    }
    result
}

/// Direct mode's log line for an annotation that ended.
fn conclude(
    delivery: &Delivery<'_>,
    result: DeliveryResult,
    last: Option<&Attempt>,
    attempts: u32,
) {
    log::emit(&delivery.ended(
        now_ms(),
        End {
            result,
            last,
            attempts,
            mode: Mode::Direct,
            dead_lettered: false,
        },
    ));
}

/// One annotate call, with its bearer token when a service account signs
/// the calls, abandoned after `timeout_ms` in all: waiting for a token, the
/// call, and after a 401 a new token and the call again share that time.
/// Both modes and the batch endpoint make their calls through this (the
/// fast first attempt through its parts, [`start`] and [`answer`]).
pub async fn attempt(api: &ApiTarget, request: &AnnotateRequest, timeout_ms: u64) -> Attempt {
    let deadline_ms = now_ms() + timeout_ms;
    let bearer = match api.service_account() {
        None => None,
        Some(_) => match auth::bearer(api, deadline_ms).await {
            Ok(token) => Some(token),
            Err(failure) => return Attempt::unauthenticated(failure),
        },
    };
    let Some(left_ms) = time_left(deadline_ms) else {
        return Attempt::failed(OUT_OF_TIME.into());
    };
    let (pending, post) = start(request, bearer.as_ref(), left_ms);
    let settled = post.settle(pending).await;
    answer(api, request, bearer, settled, deadline_ms).await
}

const OUT_OF_TIME: &str = "no time left in the attempt for the call";

/// What is left until `deadline_ms`, if anything.
fn time_left(deadline_ms: u64) -> Option<u64> {
    Some(deadline_ms.saturating_sub(now_ms())).filter(|&ms| ms > 0)
}

fn start(
    request: &AnnotateRequest,
    bearer: Option<&Bearer>,
    timeout_ms: u64,
) -> (PendingResponse, Post) {
    let headers = match bearer {
        None => JSON_HEADERS.with(Clone::clone),
        Some(bearer) => bearer.headers.clone(),
    };
    Post::start(&request.url, &headers, &request.body, timeout_ms)
}

/// What a settled call produced. A 401 for a service account's token (it
/// was revoked, or the clock is off) drops it, and the call is made once
/// more with a new one, by the same deadline.
async fn answer(
    api: &ApiTarget,
    request: &AnnotateRequest,
    bearer: Option<Bearer>,
    settled: Result<web_sys::Response, String>,
    deadline_ms: u64,
) -> Attempt {
    let first = read_answer(settled).await;
    let Some(refused) = bearer.filter(|_| first.status == Some(401)) else {
        return first;
    };
    auth::forget(&refused);
    let bearer = match auth::bearer(api, deadline_ms).await {
        Ok(bearer) => bearer,
        Err(failure) => return Attempt::unauthenticated(failure),
    };
    let Some(left_ms) = time_left(deadline_ms) else {
        return Attempt::failed(OUT_OF_TIME.into());
    };
    let (pending, post) = start(request, Some(&bearer), left_ms);
    read_answer(post.settle(pending).await).await
}

/// A success at once; otherwise the status, `Retry-After` and (capped)
/// body, which carries Google's error; or why there was no response.
async fn read_answer(settled: Result<web_sys::Response, String>) -> Attempt {
    match settled {
        Ok(resp) => match delivered(&resp) {
            Some(success) => success,
            None => {
                let status = resp.status();
                let retry_after = retry_after_ms(&resp);
                Attempt::answered(status, retry_after, read_capped(resp).await)
            }
        },
        Err(e) => Attempt::failed(e),
    }
}

/// A success, told without awaiting anything; its body is cancelled.
fn delivered(resp: &web_sys::Response) -> Option<Attempt> {
    let attempt = Attempt::answered(resp.status(), None, String::new());
    if attempt.disposition() != Disposition::Delivered {
        return None;
    }
    cancel_body(resp);
    Some(attempt)
}

thread_local! {
    /// The annotate call's headers with an API key, made once: fetch copies them.
    static JSON_HEADERS: JsValue = subrequest::headers(CONTENT_TYPE, None);
}
