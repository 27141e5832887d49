//! Responses the worker makes itself, and the origin's response with the
//! outcome header taken out.

use wasm_bindgen::JsValue;
use worker::{js_sys, web_sys, Result};

use crate::log::Event;
use crate::request::hop::Hop;
use crate::runtime::bindings;
use crate::runtime::log;

/// A response the worker made itself, as the handler's promise. Should even
/// that throw, the promise rejects and the runtime answers 500.
pub fn resolved(response: Result<web_sys::Response>) -> js_sys::Promise {
    match response {
        Ok(response) => js_sys::Promise::resolve(&JsValue::from(response)),
        Err(e) => js_sys::Promise::reject(&e.into()),
    }
}

/// What the client gets when the worker itself fails (a runtime call threw):
/// a 500, and the reason in the log.
pub fn or_internal_error(resp: Result<web_sys::Response>) -> Result<web_sys::Response> {
    resp.or_else(|e| {
        log::emit(&Event::WorkerError {
            error: e.to_string(),
        });
        plain_text(500, "Internal server error\n")
    })
}

pub fn origin_unreachable(via: Hop, error: JsValue) -> Result<web_sys::Response> {
    log::emit(&Event::OriginUnreachable {
        via,
        error: worker::Error::from(error).to_string(),
    });
    plain_text(502, "Bad gateway: origin unreachable\n")
}

pub fn plain_text(status: u16, body: &str) -> Result<web_sys::Response> {
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

/// The origin's response without the header `name`: the same status,
/// status text (if a response can carry it), streamed body and, for a 101,
/// WebSocket.
pub fn without_header(
    from_origin: &web_sys::Response,
    name: &js_sys::JsString,
) -> Result<web_sys::Response> {
    let status_text = bindings::relayable_status_text_of(from_origin);
    Ok(bindings::without_header(from_origin, name, &status_text)?)
}
