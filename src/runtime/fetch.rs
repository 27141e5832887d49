//! The runtime's global `fetch`, bound directly: no lookup on the global
//! scope object and no workers-rs `Request`/`Response` conversions, which
//! read every field into wasm (measured in BENCHMARKS.md).

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::{js_sys, web_sys};

#[wasm_bindgen]
extern "C" {
    /// The promise of a subrequest's response.
    #[wasm_bindgen(extends = js_sys::Promise)]
    pub type PendingResponse;

    #[wasm_bindgen(js_name = fetch)]
    pub fn fetch_url(url: &str, init: &web_sys::RequestInit) -> PendingResponse;

    #[wasm_bindgen(js_name = fetch)]
    pub fn fetch_request(
        request: &web_sys::Request,
        init: &web_sys::RequestInit,
    ) -> PendingResponse;

    /// `.then(onFulfilled, onRejected)`.
    #[wasm_bindgen(method, js_name = then)]
    pub fn then_either(
        this: &PendingResponse,
        on_ok: &JsValue,
        on_err: &JsValue,
    ) -> js_sys::Promise;
}
