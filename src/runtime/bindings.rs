//! Direct bindings to the runtime's fetch API where web-sys' cost more per
//! call: `fetch` is not looked up on the global scope object, and header
//! names and methods are passed as JS strings instead of being decoded from
//! UTF-8 on every call (several µs each, profiled).

use std::cell::OnceCell;

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::{js_sys, web_sys};

use crate::config::Config;
use crate::request::header_names::{fold_header_name, READ_AS_HYPHEN};
use crate::request::loop_guard::{LoopGuard, LOOP_HEADER};
use crate::request::status_line::relayable_status_text;

#[wasm_bindgen(inline_js = "
export function headerAliases(headers, folded, every, readAsHyphen) {
  let found;
  for (const name of headers.keys()) {
    let read = name;
    for (const c of readAsHyphen) if (read.includes(c)) read = read.replaceAll(c, '-');
    if ((every || read !== name) && folded.includes(read)) (found ??= []).push(name);
  }
  return found;
}")]
extern "C" {
    /// The names in `headers` (lower case) that, each character of
    /// `read_as_hyphen` read as `-`, are one of `folded`: the rule of
    /// [`fold_header_name`], which CGI-style servers apply. Only names
    /// with such a character unless `every`: the exact spelling of a
    /// configured name is deleted by name, which covers its all-`-`
    /// spelling unless the configured name itself has one.
    /// One call that walks the names in JS, not one crossing per name.
    #[wasm_bindgen(js_name = headerAliases)]
    pub fn header_aliases(
        headers: &web_sys::Headers,
        folded: &js_sys::Array,
        every: bool,
        read_as_hyphen: &js_sys::JsString,
    ) -> Option<js_sys::Array>;
}

#[wasm_bindgen(inline_js = "
export function logDebug(line) { console.debug(JSON.parse(line)); }
export function logInfo(line) { console.log(JSON.parse(line)); }
export function logWarn(line) { console.warn(JSON.parse(line)); }
export function logError(line) { console.error(JSON.parse(line)); }
export function writeDataPoint(dataset, point) {
  try { dataset.writeDataPoint(JSON.parse(point)); } catch (e) { return String(e?.message ?? e); }
}")]
extern "C" {
    /// `console.log` and its levels for one event, given as its JSON line
    /// (one call, one decode) and logged as the object it parses to: Workers
    /// Logs indexes a logged object's fields, while a string is only a
    /// `message` to search.
    #[wasm_bindgen(js_name = logDebug)]
    pub fn log_debug(line: &str);
    #[wasm_bindgen(js_name = logInfo)]
    pub fn log_info(line: &str);
    #[wasm_bindgen(js_name = logWarn)]
    pub fn log_warn(line: &str);
    #[wasm_bindgen(js_name = logError)]
    pub fn log_error(line: &str);

    /// `dataset.writeDataPoint(point)` for a data point given as JSON; why
    /// it threw, if it did (the write is fire-and-forget, so that is all
    /// that can go wrong here).
    #[wasm_bindgen(js_name = writeDataPoint)]
    pub fn write_data_point(dataset: &JsValue, point: &str) -> Option<String>;
}

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

    /// A service binding (`Fetcher`): a `fetch` that goes to another Worker.
    pub type Service;

    #[wasm_bindgen(method, js_name = fetch)]
    pub fn fetch_url(this: &Service, url: &str, init: &web_sys::RequestInit) -> PendingResponse;

    #[wasm_bindgen(method, js_name = fetch)]
    pub fn fetch_request(
        this: &Service,
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

    /// A `Headers` seen through the methods below, which take the name as a
    /// JS string.
    type NamedHeaders;

    #[wasm_bindgen(method, catch, js_name = get)]
    fn get(this: &NamedHeaders, name: &js_sys::JsString) -> Result<Option<String>, JsValue>;

    #[wasm_bindgen(method, catch, js_name = delete)]
    fn delete(this: &NamedHeaders, name: &js_sys::JsString) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = set)]
    fn set(this: &NamedHeaders, name: &js_sys::JsString, value: &str) -> Result<(), JsValue>;

    /// A `Response` or a `ResponseInit`, for the parts the filtered response
    /// copies: passed as JS values, never copied into wasm and back.
    type ResponseParts;

    #[wasm_bindgen(method, getter, js_name = statusText)]
    fn status_text(this: &ResponseParts) -> js_sys::JsString;

    #[wasm_bindgen(method, setter, js_name = statusText)]
    fn set_status_text(this: &ResponseParts, text: &js_sys::JsString);

    #[wasm_bindgen(method, getter, js_name = webSocket)]
    fn web_socket(this: &ResponseParts) -> JsValue;

    #[wasm_bindgen(method, setter, js_name = webSocket)]
    fn set_web_socket(this: &ResponseParts, socket: &JsValue);

    /// A `Request` or a `RequestInit`, for its method as a JS string.
    type WithMethod;

    #[wasm_bindgen(method, getter)]
    fn method(this: &WithMethod) -> js_sys::JsString;

    #[wasm_bindgen(method, setter)]
    fn set_method(this: &WithMethod, method: &js_sys::JsString);

    /// A `Request` or a `RequestInit`, for its `cf` object, passed as a JS
    /// value.
    type WithCf;

    #[wasm_bindgen(method, getter)]
    fn cf(this: &WithCf) -> JsValue;

    #[wasm_bindgen(method, setter)]
    fn set_cf(this: &WithCf, cf: &JsValue);

    #[wasm_bindgen(method, catch, js_name = append)]
    fn append(
        this: &NamedHeaders,
        name: &js_sys::JsString,
        value: &js_sys::JsString,
    ) -> Result<(), JsValue>;

    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    fn get_random_values(bytes: &mut [u8]) -> Result<JsValue, JsValue>;
}

pub fn header_get(
    headers: &web_sys::Headers,
    name: &js_sys::JsString,
) -> Result<Option<String>, JsValue> {
    headers.unchecked_ref::<NamedHeaders>().get(name)
}

pub fn header_delete(headers: &web_sys::Headers, name: &js_sys::JsString) -> Result<(), JsValue> {
    headers.unchecked_ref::<NamedHeaders>().delete(name)
}

pub fn header_set(
    headers: &web_sys::Headers,
    name: &js_sys::JsString,
    value: &str,
) -> Result<(), JsValue> {
    headers.unchecked_ref::<NamedHeaders>().set(name, value)
}

pub fn header_append(
    headers: &web_sys::Headers,
    name: &js_sys::JsString,
    value: &js_sys::JsString,
) -> Result<(), JsValue> {
    headers.unchecked_ref::<NamedHeaders>().append(name, value)
}

/// The request's `cf` (Cloudflare's facts about it: country, TLS, bot
/// management) into the init, as `fetch(request)` would carry it; when
/// there is none it is `undefined`, which the init reads as absent.
pub fn copy_cf(from: &web_sys::Request, to: &web_sys::RequestInit) {
    let cf = from.unchecked_ref::<WithCf>().cf();
    to.unchecked_ref::<WithCf>().set_cf(&cf);
}

/// Bytes from the runtime's cryptographic generator. Should that ever
/// throw, they stay zero: loops are still caught, by a guessable nonce.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    let _ = get_random_values(&mut bytes);
    bytes
}

/// The request's method into the init, without a round trip through wasm.
pub fn copy_method(from: &web_sys::Request, to: &web_sys::RequestInit) {
    set_method(to, &from.unchecked_ref::<WithMethod>().method());
}

pub fn set_method(init: &web_sys::RequestInit, method: &js_sys::JsString) {
    init.unchecked_ref::<WithMethod>().set_method(method);
}

/// Status text (if a response can carry it, else none) and, for a 101, the
/// WebSocket of `from`, into `to`.
pub fn copy_response_parts(from: &web_sys::Response, to: &web_sys::ResponseInit) {
    let (from, to) = (
        from.unchecked_ref::<ResponseParts>(),
        to.unchecked_ref::<ResponseParts>(),
    );
    let text = String::from(from.status_text());
    to.set_status_text(&relayable_status_text(&text).into());
    let socket = from.web_socket();
    if !socket.is_null() && !socket.is_undefined() {
        to.set_web_socket(&socket);
    }
}

/// The header names the proxy passes on every request, made JS strings once
/// per isolate.
pub struct Names {
    pub outcome: js_sys::JsString,
    pub token: js_sys::JsString,
    pub assessment_id: Option<js_sys::JsString>,
    pub cookie: js_sys::JsString,
    /// The names only the worker or the origin may send to the origin,
    /// folded (lower case, `-` for `_`), for [`header_aliases`].
    pub protected_folded: js_sys::Array,
    /// Whether a configured protected name has a character CGI-style
    /// servers read as `-`, so that its all-`-` spelling is not one that
    /// deleting it by name removes.
    pub protected_has_separator: bool,
    /// [`READ_AS_HYPHEN`], for [`header_aliases`].
    pub read_as_hyphen: js_sys::JsString,
    /// [`LOOP_HEADER`], and the isolate's nonce appended to it.
    pub loop_header: js_sys::JsString,
    pub loop_mark: js_sys::JsString,
    /// The isolate's loop guard, whose nonce `loop_mark` is.
    pub loop_guard: LoopGuard,
}

thread_local! {
    static NAMES: OnceCell<&'static Names> = const { OnceCell::new() };
}

/// The isolate's [`Names`] for its one `Config`.
pub fn names(config: &Config) -> &'static Names {
    NAMES.with(|cell| {
        *cell.get_or_init(|| {
            let loop_guard = LoopGuard::new(random_bytes());
            Box::leak(Box::new(Names {
                outcome: config.outcome_header.as_str().into(),
                token: config.token_header.as_str().into(),
                assessment_id: config.assessment_id_header.as_deref().map(Into::into),
                cookie: "cookie".into(),
                protected_folded: config
                    .protected_request_headers()
                    .map(|name| JsValue::from(fold_header_name(name)))
                    .collect(),
                protected_has_separator: config
                    .protected_request_headers()
                    .any(|name| name.contains(|c| READ_AS_HYPHEN.contains(c))),
                read_as_hyphen: READ_AS_HYPHEN.into(),
                loop_header: LOOP_HEADER.into(),
                loop_mark: loop_guard.nonce().into(),
                loop_guard,
            }))
        })
    })
}
