//! Direct mode: performs the annotate attempts and waits that
//! [`crate::delivery`] decides on, under `waitUntil`.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::future_to_promise;
use worker::{js_sys, web_sys, Delay};

use crate::delivery::result::{DeliveryResult, Mode};
use crate::delivery::retry::RetryPolicy;
use crate::delivery::{Attempt, Delivery, End, Step};
use crate::google::annotate_call::AnnotateRequest;
use crate::runtime::clock::now_ms;
use crate::runtime::delivery::attempt;
use crate::runtime::google::auth::{self, Authorization};
use crate::runtime::google::subrequest::drain_body;
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
/// per wake-up (profiled). A token to wait for first sends the whole
/// delivery to async Rust.
pub fn deliver_as_promise(
    delivery: Delivery<'static>,
    policy: &'static RetryPolicy,
    on_gave_up: impl FnOnce() + 'static,
) -> js_sys::Promise {
    let Some(timeout_ms) = first_attempt_timeout(&delivery, policy) else {
        on_gave_up();
        return js_sys::Promise::resolve(&JsValue::UNDEFINED);
    };
    let Authorization::Ready(bearer) = auth::authorization(delivery.api) else {
        return future_to_promise(async move {
            if deliver_within(delivery, policy, timeout_ms).await == DeliveryResult::GaveUp {
                on_gave_up();
            }
            Ok(JsValue::UNDEFINED)
        });
    };
    let request = delivery.request();
    let deadline_ms = now_ms() + timeout_ms;
    let (pending, post) = attempt::start(&request, bearer.as_ref(), timeout_ms);
    // One function for both outcomes (a fetch fulfils only with a Response),
    // so what it captured is freed once the fetch settles, whichever way.
    let settled = Closure::once_into_js(move |settled: JsValue| -> JsValue {
        let settled = settled
            .dyn_into::<web_sys::Response>()
            .map_err(|e| post.network_error(e));
        if let Ok(resp) = &settled {
            if let Some(first) = attempt::delivered(resp) {
                conclude(&delivery, DeliveryResult::Delivered, Some(&first), 1);
                // The promise waitUntil holds ends when the body is read.
                return drain_body(resp).into();
            }
        }
        future_to_promise(async move {
            let first = attempt::answer(delivery.api, &request, bearer, settled, deadline_ms).await;
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
    match first_attempt_timeout(&delivery, policy) {
        Some(timeout_ms) => deliver_within(delivery, policy, timeout_ms).await,
        None => DeliveryResult::GaveUp,
    }
}

/// The first attempt's timeout; when the budget has no room for one, the
/// annotation is logged as given up on.
fn first_attempt_timeout(delivery: &Delivery<'_>, policy: &RetryPolicy) -> Option<u64> {
    let timeout_ms = delivery.first_attempt_timeout(policy, now_ms());
    if timeout_ms.is_none() {
        conclude(delivery, DeliveryResult::GaveUp, None, 0);
    }
    timeout_ms
}

/// [`deliver`], its first attempt given `timeout_ms`.
async fn deliver_within(
    delivery: Delivery<'_>,
    policy: &RetryPolicy,
    timeout_ms: u64,
) -> DeliveryResult {
    let request = delivery.request();
    let first = attempt::attempt(delivery.api, &request, timeout_ms).await;
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
                last = attempt::attempt(delivery.api, request, timeout_ms).await;
            }
        }
    };
    conclude(delivery, result, Some(&last), attempts);
    // A token fetch this annotation started lives as long as this invocation.
    auth::outlive_fetch_in_flight().await;
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
