//! One annotate attempt, the one every mode makes (direct mode, the queue
//! consumer, the batch endpoint): a bearer token first when a service
//! account signs the calls, then the call, and after a 401 for that token
//! a new one and the call again, all by one deadline.

use wasm_bindgen::JsValue;
use worker::web_sys;

use crate::delivery::retry::Disposition;
use crate::delivery::Attempt;
use crate::google::annotate_call::{AnnotateRequest, ApiTarget, CONTENT_TYPE};
use crate::runtime::bindings::PendingResponse;
use crate::runtime::clock::now_ms;
use crate::runtime::google::auth::{self, Bearer};
use crate::runtime::google::subrequest::{self, cancel_body, read_capped, retry_after_ms, Post};

const OUT_OF_TIME: &str = "no time left in the attempt for the call";

/// One annotate call, abandoned after `timeout_ms` in all: waiting for a
/// token, the call, and after a 401 a new token and the call again share
/// that time. Direct mode's first attempt, when its token is at hand, runs
/// the same parts, [`start`] and [`answer`], on a promise continuation.
pub async fn attempt(api: &ApiTarget, request: &AnnotateRequest, timeout_ms: u64) -> Attempt {
    let deadline_ms = now_ms() + timeout_ms;
    match auth::authorize(api, deadline_ms).await {
        Ok(bearer) => {
            let settled = send(request, bearer.as_ref(), deadline_ms).await;
            answer(api, request, bearer, settled, deadline_ms).await
        }
        Err(failure) => Attempt::unauthenticated(failure),
    }
}

/// The call started with `bearer`, abandoned after `timeout_ms`.
pub(super) fn start(
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

/// The call, settled, in the time left until `deadline_ms`.
async fn send(
    request: &AnnotateRequest,
    bearer: Option<&Bearer>,
    deadline_ms: u64,
) -> Result<web_sys::Response, String> {
    let left_ms = deadline_ms.saturating_sub(now_ms());
    if left_ms == 0 {
        return Err(OUT_OF_TIME.into());
    }
    let (pending, post) = start(request, bearer, left_ms);
    post.settle(pending).await
}

/// What a settled call produced. A 401 for a service account's token (it
/// was revoked, or the clock is off) drops it, and the call is made once
/// more with a new one, by the same deadline.
pub(super) async fn answer(
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
    match auth::authorize(api, deadline_ms).await {
        Ok(bearer) => read_answer(send(request, bearer.as_ref(), deadline_ms).await).await,
        Err(failure) => Attempt::unauthenticated(failure),
    }
}

/// A success at once; otherwise the status, `Retry-After` and (capped)
/// body, which carries Google's error; or why there was no response.
async fn read_answer(settled: Result<web_sys::Response, String>) -> Attempt {
    match settled {
        Ok(resp) => match delivered(&resp) {
            Some(success) => {
                // Deliveries in a batch or a queue share 6 connections: a
                // body that is slow to end must not hold one.
                cancel_body(&resp);
                success
            }
            None => {
                let status = resp.status();
                let retry_after = retry_after_ms(&resp);
                Attempt::answered(status, retry_after, read_capped(resp).await)
            }
        },
        Err(e) => Attempt::failed(e),
    }
}

/// A success, told without awaiting anything; the caller ends its body.
pub(super) fn delivered(resp: &web_sys::Response) -> Option<Attempt> {
    let attempt = Attempt::answered(resp.status(), None, String::new());
    (attempt.disposition() == Disposition::Delivered).then_some(attempt)
}

thread_local! {
    /// The annotate call's headers with an API key, made once: fetch copies them.
    static JSON_HEADERS: JsValue = subrequest::headers(CONTENT_TYPE, None);
}
