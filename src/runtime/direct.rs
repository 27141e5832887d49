//! Direct mode: performs the annotate attempts and waits that
//! [`crate::delivery`] decides on, under `waitUntil`.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::{future_to_promise, JsFuture};
use worker::{js_sys, web_sys, Delay};

use super::bindings::{fetch_url, set_method, PendingResponse};
use super::logger;
use crate::annotate_call::{AnnotateRequest, CONTENT_TYPE};
use crate::delivery::{Attempt, Delivery, End, Step};
use crate::log::{DeliveryResult, Mode};
use crate::retry::{parse_retry_after, Disposition, RetryPolicy};

/// Subrequests one invocation keeps in flight (the platform allows 6 connections).
pub const MAX_IN_FLIGHT: usize = 6;
/// Most of an error body read (Google's are a few hundred bytes).
const MAX_ERROR_BODY: usize = 16 * 1024;

pub fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

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
    let request = delivery.request();
    let (pending, call) = Call::start(&request, timeout_ms);
    // One function for both outcomes (a fetch fulfils only with a Response),
    // so what it captured is freed once the fetch settles, whichever way.
    let settled = Closure::once_into_js(move |settled: JsValue| -> JsValue {
        let settled = settled.dyn_into::<web_sys::Response>();
        if let Some(first) = delivered(&settled) {
            conclude(&delivery, DeliveryResult::Delivered, Some(&first), 1);
            return JsValue::UNDEFINED;
        }
        future_to_promise(async move {
            let first = call.attempt(settled).await;
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
    let first = attempt(&request, timeout_ms).await;
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
                last = attempt(request, timeout_ms).await;
            }
        }
    };
    conclude(delivery, result, Some(&last), attempts);
    result
}

/// Direct mode's log line for an annotation that ended.
fn conclude(
    delivery: &Delivery<'_>,
    result: DeliveryResult,
    last: Option<&Attempt>,
    attempts: u32,
) {
    logger::emit(&delivery.ended(
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

/// One POST to the annotate endpoint, abandoned after `timeout_ms`. Both
/// modes and the fast first attempt make their calls through this.
pub async fn attempt(request: &AnnotateRequest, timeout_ms: u64) -> Attempt {
    let (pending, call) = Call::start(request, timeout_ms);
    let settled = JsFuture::from(js_sys::Promise::from(pending))
        .await
        .map(JsCast::unchecked_into);
    call.attempt(settled).await
}

/// An annotate call in flight: its signal tells a timeout from a network error.
struct Call {
    signal: web_sys::AbortSignal,
    timeout_ms: u64,
}

impl Call {
    /// Sends the call. The signal is the runtime's own timer (a Rust timer
    /// raced against the fetch cost about 55 µs of CPU per call); aborting
    /// also ends a body still being read.
    fn start(request: &AnnotateRequest, timeout_ms: u64) -> (PendingResponse, Call) {
        let signal =
            web_sys::AbortSignal::timeout_with_u32(u32::try_from(timeout_ms).unwrap_or(u32::MAX));
        let init = web_sys::RequestInit::new();
        JSON_POST.with(|(method, headers)| {
            set_method(&init, method);
            init.set_headers(headers);
        });
        init.set_body(&JsValue::from_str(&request.body));
        init.set_signal(Some(&signal));
        // A redirect would re-send the body (account IDs, phone numbers) to
        // wherever it points, plain http:// included: it is a final answer.
        init.set_redirect(web_sys::RequestRedirect::Manual);
        (fetch_url(&request.url, &init), Call { signal, timeout_ms })
    }

    /// What the settled call produced.
    async fn attempt(self, settled: Result<web_sys::Response, JsValue>) -> Attempt {
        if let Some(success) = delivered(&settled) {
            return success;
        }
        match settled {
            Ok(resp) => read_failure(resp).await,
            Err(_) if self.signal.aborted() => Attempt::failed(format!(
                "no complete response within {} ms",
                self.timeout_ms
            )),
            Err(e) => Attempt::failed(worker::Error::from(e).to_string()),
        }
    }
}

/// A success, told without awaiting anything. Its body is cancelled: left
/// unread, it would hold one of the invocation's 6 connections until
/// garbage collection.
fn delivered(settled: &Result<web_sys::Response, JsValue>) -> Option<Attempt> {
    let resp = settled.as_ref().ok()?;
    let attempt = Attempt::answered(resp.status(), None, String::new());
    if attempt.disposition() != Disposition::Delivered {
        return None;
    }
    if let Some(body) = resp.body() {
        // The promise only reports the cancellation, which cannot fail here.
        let _ = body.cancel();
    }
    Some(attempt)
}

thread_local! {
    /// The annotate call's method and headers, made once: fetch copies them.
    static JSON_POST: (js_sys::JsString, JsValue) = {
        let headers = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&headers, &"content-type".into(), &CONTENT_TYPE.into());
        ("POST".into(), headers.into())
    };
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
