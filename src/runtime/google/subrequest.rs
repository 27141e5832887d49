//! One POST to Google (annotate, or the token endpoint), abandoned after a
//! timeout and never following a redirect, and reading what came back.

use futures_util::StreamExt;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{js_sys, web_sys};

use crate::delivery::retry::parse_retry_after;
use crate::runtime::bindings::{post, PendingResponse};

/// Most of a response body read (Google's errors are a few hundred bytes,
/// a token answer about 1 KB).
const MAX_BODY: usize = 16 * 1024;

/// A POST in flight: its signal tells a timeout from a network error.
pub struct Post {
    signal: web_sys::AbortSignal,
    timeout_ms: u64,
}

/// A POST's headers: its content type, and a bearer token if any.
pub fn headers(content_type: &str, bearer: Option<&str>) -> JsValue {
    let headers = js_sys::Object::new();
    let set = |name: &str, value: &str| {
        let _ = js_sys::Reflect::set(&headers, &name.into(), &value.into());
    };
    set("content-type", content_type);
    if let Some(token) = bearer {
        set("authorization", &format!("Bearer {token}"));
    }
    headers.into()
}

impl Post {
    /// Sends the POST. The signal is the runtime's own timer (a Rust timer
    /// raced against the fetch cost about 55 µs of CPU per call); aborting
    /// also ends a body still being read. A redirect would re-send the body
    /// (account IDs, phone numbers, an assertion) to wherever it points,
    /// plain http:// included: it is a final answer instead.
    pub fn start(
        url: &str,
        headers: &JsValue,
        body: &str,
        timeout_ms: u64,
    ) -> (PendingResponse, Post) {
        let signal =
            web_sys::AbortSignal::timeout_with_u32(u32::try_from(timeout_ms).unwrap_or(u32::MAX));
        // A fetch that throws at once fails as one that rejects.
        let pending = post(url, headers, body, &signal)
            .unwrap_or_else(|e| js_sys::Promise::reject(&e).unchecked_into());
        (pending, Post { signal, timeout_ms })
    }

    /// The settled response, or why there is none.
    pub async fn settle(&self, pending: PendingResponse) -> Result<web_sys::Response, String> {
        match JsFuture::from(js_sys::Promise::from(pending)).await {
            Ok(resp) => Ok(resp.unchecked_into()),
            Err(e) => Err(self.network_error(e)),
        }
    }

    pub fn network_error(&self, e: JsValue) -> String {
        if self.signal.aborted() {
            format!("no complete response within {} ms", self.timeout_ms)
        } else {
            worker::Error::from(e).to_string()
        }
    }
}

/// The response's `Retry-After`, in ms.
pub fn retry_after_ms(resp: &web_sys::Response) -> Option<u64> {
    resp.headers()
        .get("retry-after")
        .ok()
        .flatten()
        .as_deref()
        .and_then(parse_retry_after)
}

/// Ends a body that will not be read: left alone, it would hold one of the
/// invocation's 6 connections until garbage collection.
pub fn cancel_body(resp: &web_sys::Response) {
    if let Some(body) = resp.body() {
        // The promise only reports the cancellation, which cannot fail here.
        let _ = body.cancel();
    }
}

/// Reads a body whose content is not needed to its end when it is at most
/// [`MAX_BODY`] bytes, so that its connection serves the next call
/// (cancelling closes it, and opening another cost more than the rest of
/// the annotation, profiled); a longer one is cancelled. The promise never
/// rejects; the call's abort signal bounds the read.
pub fn drain_body(resp: &web_sys::Response) -> js_sys::Promise {
    drain(resp, MAX_BODY as u32)
}

#[wasm_bindgen(inline_js = "
const ignore = () => {};
export function drain(resp, max) {
  const body = resp.body;
  if (!body) return Promise.resolve();
  const length = resp.headers.get('content-length');
  if (length !== null && Number(length) <= max) return resp.arrayBuffer().then(ignore, ignore);
  if (length !== null) return body.cancel().then(ignore, ignore);
  const reader = body.getReader();
  let seen = 0;
  const next = () => reader.read().then(({ done, value }) => {
    if (done) return;
    seen += value.byteLength;
    return seen > max ? reader.cancel().then(ignore, ignore) : next();
  }, ignore);
  return next();
}")]
extern "C" {
    fn drain(resp: &web_sys::Response, max: u32) -> js_sys::Promise;
}

/// At most [`MAX_BODY`] bytes of a response body, as text.
pub async fn read_capped(resp: web_sys::Response) -> String {
    let Ok(mut stream) = worker::Response::from(resp).stream() else {
        return String::new();
    };
    let mut bytes = Vec::new();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = MAX_BODY - bytes.len();
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() >= MAX_BODY {
            break;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
