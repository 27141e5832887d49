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
const MANUAL = { redirect: 'manual' };
function editHeaders(headers, e, id) {
  headers.append(e.loop, e.mark);
  headers.delete(e.outcome);
  let aliases;
  for (const name of headers.keys()) {
    if (!e.every && !e.hyphen.test(name)) continue;
    const read = name.replace(e.hyphens, '-');
    if (e.folded.includes(read)) (aliases ??= []).push(name);
  }
  if (aliases) for (const name of aliases) headers.delete(name);
  if (e.id !== undefined) {
    headers.delete(e.id);
    if (id !== undefined) headers.set(e.id, id);
  }
}
export function forward(service, req, url, body, e, id) {
  if (body === undefined) body = req.body;
  const method = req.method;
  if (body !== null && (method === 'GET' || method === 'HEAD')) {
    const outgoing = new Request(url, req);
    editHeaders(outgoing.headers, e, id);
    return service ? service.fetch(outgoing, MANUAL) : fetch(outgoing, MANUAL);
  }
  const headers = new Headers(req.headers);
  editHeaders(headers, e, id);
  const init = { method, headers, body, cf: req.cf, redirect: 'manual' };
  return service ? service.fetch(url, init) : fetch(url, init);
}
export function withoutHeader(from, name, statusText) {
  const headers = new Headers(from.headers);
  headers.delete(name);
  const init = { status: from.status, statusText, headers };
  const socket = from.webSocket;
  if (socket) init.webSocket = socket;
  return new Response(from.body, init);
}
export function post(url, headers, body, signal) {
  return fetch(url, { method: 'POST', headers, body, signal, redirect: 'manual' });
}")]
extern "C" {
    /// The request phase's fetch, in one call: the client's request to
    /// `url` (through `service` if given) with its method, body (or `body`,
    /// a rule's teed branch), `cf` and manual redirects, and its headers
    /// edited as `edits` says ([`Names::edits`]): the loop mark appended,
    /// the outcome header and every spelling a CGI-style origin reads as a
    /// protected name removed (the rule of [`fold_header_name`]), the
    /// assessment ID header set to `id` or removed. A GET or HEAD with a
    /// body, which an init cannot carry, goes as a copied `Request`.
    #[wasm_bindgen(catch)]
    pub fn forward(
        service: Option<&Service>,
        req: &web_sys::Request,
        url: &str,
        body: JsValue,
        edits: &JsValue,
        id: Option<&str>,
    ) -> Result<PendingResponse, JsValue>;

    /// `from` with the header `name` removed and `status_text`: the same
    /// status, streamed body and, for a 101, WebSocket.
    #[wasm_bindgen(catch, js_name = withoutHeader)]
    pub fn without_header(
        from: &web_sys::Response,
        name: &js_sys::JsString,
        status_text: &str,
    ) -> Result<web_sys::Response, JsValue>;

    /// A POST of `body` that hands back a redirect rather than following
    /// it, abandoned when `signal` fires.
    #[wasm_bindgen(catch)]
    pub fn post(
        url: &str,
        headers: &JsValue,
        body: &str,
        signal: &web_sys::AbortSignal,
    ) -> Result<PendingResponse, JsValue>;
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

    /// A service binding (`Fetcher`): a `fetch` that goes to another Worker.
    pub type Service;

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

    /// A `Response`, for its status text as a JS string.
    type WithStatusText;

    #[wasm_bindgen(method, getter, js_name = statusText)]
    fn status_text(this: &WithStatusText) -> js_sys::JsString;

    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    fn get_random_values(bytes: &mut [u8]) -> Result<JsValue, JsValue>;
}

pub fn header_get(
    headers: &web_sys::Headers,
    name: &js_sys::JsString,
) -> Result<Option<String>, JsValue> {
    headers.unchecked_ref::<NamedHeaders>().get(name)
}

/// Bytes from the runtime's cryptographic generator. Should that ever
/// throw, they stay zero: loops are still caught, by a guessable nonce.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    let _ = get_random_values(&mut bytes);
    bytes
}

/// The status text of `from` if a response can carry it, else none.
pub fn relayable_status_text_of(from: &web_sys::Response) -> String {
    let text = String::from(from.unchecked_ref::<WithStatusText>().status_text());
    relayable_status_text(&text).to_owned()
}

/// The header names the proxy passes on every request, made JS strings once
/// per isolate.
pub struct Names {
    pub outcome: js_sys::JsString,
    pub token: js_sys::JsString,
    pub cookie: js_sys::JsString,
    /// [`LOOP_HEADER`].
    pub loop_header: js_sys::JsString,
    /// What [`forward`] does to the headers, as a JS object: `loop` and
    /// `mark` (the loop header and the isolate's nonce), `outcome`, `id`
    /// (the assessment ID header, if any), `folded` (the names only the
    /// worker or the origin may send, folded: lower case, `-` for `_`),
    /// `hyphen` and `hyphens` (a character of [`READ_AS_HYPHEN`], the first
    /// and every one) and `every` (whether a configured
    /// protected name has a character CGI-style servers read as `-`, so
    /// that its all-`-` spelling is not one deleting it by name removes).
    pub edits: JsValue,
    /// The isolate's loop guard, whose nonce the edits append.
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
            let edits = js_sys::Object::new();
            let set = |key: &str, value: JsValue| {
                let _ = js_sys::Reflect::set(&edits, &key.into(), &value);
            };
            set("loop", LOOP_HEADER.into());
            set("mark", loop_guard.nonce().into());
            set("outcome", config.outcome_header.as_str().into());
            if let Some(id) = config.assessment_id_header.as_deref() {
                set("id", id.into());
            }
            let folded: js_sys::Array = config
                .protected_request_headers()
                .map(|name| JsValue::from(fold_header_name(name)))
                .collect();
            set("folded", folded.into());
            let class: String = READ_AS_HYPHEN
                .chars()
                .flat_map(|c| ["\\".into(), c.to_string()])
                .collect();
            let class = format!("[{class}]");
            set("hyphen", js_sys::RegExp::new(&class, "").into());
            set("hyphens", js_sys::RegExp::new(&class, "g").into());
            let every = config
                .protected_request_headers()
                .any(|name| name.contains(|c| READ_AS_HYPHEN.contains(c)));
            set("every", every.into());
            Box::leak(Box::new(Names {
                outcome: config.outcome_header.as_str().into(),
                token: config.token_header.as_str().into(),
                cookie: "cookie".into(),
                loop_header: LOOP_HEADER.into(),
                edits: edits.into(),
                loop_guard,
            }))
        })
    })
}
