//! Outcome rules in the proxy's phases: at the request, what the rules
//! that may apply need from it (a header, the body's first bytes, read as
//! it streams on); at a response without an outcome header, what the core
//! decides, performed.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{js_sys, web_sys};

use crate::config::Config;
use crate::log::Event;
use crate::outcome::cache::is_from_cache;
use crate::outcome::rules::{
    AccountFrom, Candidates, Decision, Missing, ResponseFacts, Rule, RuleSet, BODY_PREFIX_MAX,
};
use crate::outcome::Outcome;
use crate::request::assessment_id::AssessmentId;
use crate::runtime::log;
use crate::url::request_path;

/// How long, from the request, the body's first bytes may take: a client
/// that stops sending must not hold the annotation, whose direct delivery
/// then has its own 20 s within the 30 s `waitUntil` allows.
const BODY_WAIT_MS: u32 = 5_000;

#[wasm_bindgen(inline_js = "
export function readPrefix(stream, max, waitMs) {
  const reader = stream.getReader();
  const chunks = [];
  let size = 0;
  const result = (complete) => {
    const bytes = new Uint8Array(Math.min(size, max));
    let at = 0;
    for (const c of chunks) {
      if (at >= bytes.length) break;
      const part = c.subarray(0, bytes.length - at);
      bytes.set(part, at);
      at += part.length;
    }
    return { bytes, complete };
  };
  const step = () => reader.read().then(({ done, value }) => {
    if (done) return result(true);
    chunks.push(value);
    size += value.byteLength;
    if (size > max) {
      reader.cancel().catch(() => {});
      return result(false);
    }
    return step();
  });
  const late = new Promise((resolve) => setTimeout(() => resolve(null), waitMs));
  return Promise.race([step().catch(() => null), late]);
}")]
extern "C" {
    /// Reads `stream` up to `max` bytes, then cancels it: a promise of
    /// `{ bytes, complete }`, or `null` if it failed or took over `waitMs`.
    #[wasm_bindgen(js_name = readPrefix)]
    fn read_prefix(stream: &web_sys::ReadableStream, max: u32, wait_ms: u32) -> js_sys::Promise;
}

/// What the rules that may apply to a request took from it.
pub struct RuleRequest {
    candidates: Candidates,
    /// The account headers those rules name, with the request's values.
    headers: Vec<(&'static str, Option<String>)>,
    content_type: Option<String>,
    /// The body's first bytes, being read from one branch of a tee.
    prefix: Option<js_sys::Promise>,
    /// The other branch, for the origin.
    pub forward_body: Option<web_sys::ReadableStream>,
}

/// Request phase: `None` unless a rule may apply to this method and path.
/// With rules configured the method is read, the URL only when a rule names
/// that method, and the body is teed only when a rule that matches takes its
/// account from it.
pub fn begin(req: &web_sys::Request, config: &'static Config) -> Option<RuleRequest> {
    let rules: &'static RuleSet = &config.outcome_rules;
    if rules.is_empty() {
        return None;
    }
    let method = req.method();
    if !rules.has_method(&method) {
        return None;
    }
    let candidates = rules.candidates(&method, request_path(&req.url()));
    if candidates.is_empty() {
        return None;
    }
    let incoming = req.headers();
    let get = |name: &str| incoming.get(name).ok().flatten();
    let headers = rules
        .account_headers(candidates)
        .map(|name| (name, get(name)))
        .collect();
    let mut request = RuleRequest {
        candidates,
        headers,
        content_type: None,
        prefix: None,
        forward_body: None,
    };
    // A GET or HEAD body is forwarded as a copy of the request (exchange.rs),
    // which a teed body cannot be.
    let body_allowed = !matches!(method.as_str(), "GET" | "HEAD");
    if rules.needs_body(candidates) && body_allowed {
        request.content_type = get("content-type");
        if let Some(body) = req.body() {
            let branches = body.tee();
            let mine: web_sys::ReadableStream = branches.get(1).unchecked_into();
            request.prefix = Some(read_prefix(&mine, BODY_PREFIX_MAX as u32, BODY_WAIT_MS));
            request.forward_body = Some(branches.get(0).unchecked_into());
        }
    }
    Some(request)
}

/// What the rules need of the request's exchange: declared here and
/// implemented by the exchange, so the rules do not depend on the phases
/// that call them.
pub trait Host: Sized + 'static {
    fn config(&self) -> &'static Config;
    fn assessment_id(&self) -> Option<AssessmentId>;
    /// A copy that outlives the response, for work under `waitUntil`.
    fn detached(&self) -> Self;
    fn wait_until(&self, work: impl std::future::Future<Output = ()> + 'static);
    /// Hands the outcome to the annotation phase, as a header's would be.
    fn send(&self, outcome: Outcome);
}

/// Response phase, for a response without an outcome header.
pub fn respond(exchange: &impl Host, request: &RuleRequest, response: &web_sys::Response) {
    let rules: &'static RuleSet = &exchange.config().outcome_rules;
    let headers = response.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let from_cache = is_from_cache(
        header("cf-cache-status").as_deref(),
        header("age").as_deref(),
    );
    let status = response.status();
    let facts = ResponseFacts {
        status,
        header: &header,
        from_cache,
    };
    let rule = match rules.decide(request.candidates, &facts) {
        Decision::None => return,
        Decision::FromCache(rule) => {
            return log::emit(&Event::RuleNotApplied {
                rule: rule.name.clone(),
                kind: "from_cache",
                reason: "the response was served from a cache".into(),
            })
        }
        Decision::Fire(rule) => rule,
    };
    let from = rule.account.as_ref().map(|a| &a.from);
    match (from, &request.prefix) {
        (Some(from @ (AccountFrom::Form(_) | AccountFrom::Json(_))), prefix) => {
            let content_type = request.content_type.clone();
            let Some(prefix) = prefix.clone() else {
                let raw = from.find_in_body(content_type.as_deref(), None);
                return fire(exchange, rules, rule, Some(raw), status);
            };
            let detached = exchange.detached();
            let later = async move {
                let read = JsFuture::from(prefix).await.ok();
                let found = read.as_ref().and_then(prefix_bytes);
                let raw = from.find_in_body(
                    content_type.as_deref(),
                    found
                        .as_ref()
                        .map(|(bytes, complete)| (bytes.as_slice(), *complete)),
                );
                fire(&detached, rules, rule, Some(raw), status);
            };
            exchange.wait_until(later);
        }
        (Some(AccountFrom::Header(name)), _) => {
            let value = request
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| v.clone());
            fire(
                exchange,
                rules,
                rule,
                Some(value.ok_or(Missing::NotFound)),
                status,
            );
        }
        (None, _) => fire(exchange, rules, rule, None, status),
    }
}

/// `{ bytes, complete }` from [`read_prefix`].
fn prefix_bytes(read: &JsValue) -> Option<(Vec<u8>, bool)> {
    if read.is_null() || read.is_undefined() {
        return None;
    }
    let bytes = js_sys::Reflect::get(read, &"bytes".into()).ok()?;
    let complete = js_sys::Reflect::get(read, &"complete".into()).ok()?;
    let bytes: js_sys::Uint8Array = bytes.dyn_into().ok()?;
    Some((bytes.to_vec(), complete.as_bool()?))
}

/// The rule's outcome with its account, logged and sent as a header's.
fn fire(
    exchange: &impl Host,
    rules: &RuleSet,
    rule: &Rule,
    account: Option<Result<String, Missing>>,
    status: u16,
) {
    let fired = rules.outcome(rule, account);
    match fired.outcome {
        Ok(outcome) => {
            log::emit(&Event::OutcomeFromRule {
                rule: rule.name.clone(),
                assessment: exchange.assessment_id(),
                status,
                account: fired.account,
                account_missing: fired.account_missing.map(|m| m.to_string()),
            });
            exchange.send(outcome);
        }
        Err(e) => log::emit(&Event::RuleNotApplied {
            rule: rule.name.clone(),
            kind: "outcome_refused",
            reason: e.to_string(),
        }),
    }
}
