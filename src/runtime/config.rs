//! Reads the isolate's environment once: the variables, what is bound as
//! `UPSTREAM` and the other bindings, handed to [`Config::load`]. The
//! `UPSTREAM` service itself is kept here, for every request to use.

use std::cell::{OnceCell, RefCell};
use std::sync::OnceLock;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::{js_sys, Env};

use crate::config::environment::{Bindings, Environment, UpstreamBinding, VarValue, WorkerVersion};
use crate::config::{Config, UPSTREAM};
use crate::log::Event;
use crate::operate::metrics::{self as point, BINDING as METRICS};
use crate::operate::status::VERSION_METADATA;
use crate::runtime::bindings::Service;
use crate::runtime::delivery::queue;
use crate::runtime::log;
use crate::runtime::operate::metrics;

static CONFIG: OnceLock<Config> = OnceLock::new();

thread_local! {
    /// The isolate's first line (who signs), not yet written.
    static FIRST_LINE: RefCell<Option<Event>> = const { RefCell::new(None) };
    /// The `UPSTREAM` binding, when it is a service.
    static UPSTREAM_SERVICE: OnceCell<Option<JsValue>> = const { OnceCell::new() };
}

/// The isolate's configuration; the first call reads the environment, sets
/// up the metrics and logs any problem.
pub fn get(env: &Env) -> &'static Config {
    CONFIG.get_or_init(|| {
        let (upstream, service) = upstream(env);
        UPSTREAM_SERVICE.with(|cell| cell.set(service).ok());
        let config = Config::load(Environment {
            vars: |name: &str| value(env, name),
            upstream,
            bindings: bindings(env),
        });
        let version = config.bindings.version.as_ref().map(|v| v.id.as_str());
        metrics::init(binding(env, METRICS), point::Context::new(&config, version));
        // One line per isolate says who signs, whatever the level, after
        // the first response; what is wrong is said at once.
        if let Ok(api) = &config.api {
            FIRST_LINE.with(|line| *line.borrow_mut() = Some(Event::credential_in_use(api)));
        }
        log::set_level(config.log_level);
        if !config.problems.is_empty() {
            log::emit(&Event::config_invalid(&config.problems, config.api.is_ok()));
        }
        config
    })
}

/// Writes the isolate's first line, if not yet written, in a task after
/// this one, under `waitUntil`: called once the response is made, so the
/// line comes after it. The first console line of an isolate costs more
/// than all of a request's own work (profiled), and the client needs none
/// of it. Nothing here holds the response: a request dropped before its
/// response keeps nothing alive.
pub fn log_first_line_soon(ctx: &worker::worker_sys::Context) {
    if FIRST_LINE.with(|line| line.borrow().is_none()) {
        return;
    }
    let write = Closure::once_into_js(log_first_line);
    // Only throws outside a request, which this is not.
    let _ = ctx.wait_until(&next_task(&write));
}

/// Writes the isolate's first line now, if not yet written.
pub fn log_first_line() {
    if let Some(event) = FIRST_LINE.with(|line| line.borrow_mut().take()) {
        log::emit_at_any_level(&event);
    }
}

#[wasm_bindgen(inline_js = "
export function nextTask(then) {
  return new Promise((resolve) => setTimeout(resolve, 0)).then(then);
}")]
extern "C" {
    /// `then`, called in a task after this one.
    #[wasm_bindgen(js_name = nextTask)]
    fn next_task(then: &JsValue) -> js_sys::Promise;
}

/// The `UPSTREAM` service requests go through, read with the configuration
/// (`None` before it, or when `UPSTREAM` is not a service).
pub fn upstream_service() -> Option<Service> {
    UPSTREAM_SERVICE.with(|cell| Some(cell.get()?.as_ref()?.clone().unchecked_into()))
}

/// What the environment binds beside its variables.
fn bindings(env: &Env) -> Bindings {
    Bindings {
        annotations_queue: binding(env, queue::BINDING).is_some(),
        dead_letter_queue: binding(env, queue::DLQ_BINDING).is_some(),
        metrics: binding(env, METRICS).is_some(),
        version: binding(env, VERSION_METADATA).map(|v| {
            let text = |key: &str| {
                js_sys::Reflect::get(&v, &JsValue::from_str(key))
                    .ok()
                    .and_then(|t| t.as_string())
                    .unwrap_or_default()
            };
            WorkerVersion {
                id: text("id"),
                tag: text("tag"),
                timestamp: text("timestamp"),
            }
        }),
    }
}

/// The binding `name`, if the environment has one.
fn binding(env: &Env, name: &str) -> Option<JsValue> {
    js_sys::Reflect::get(env, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// A `[vars]` entry or secret as the runtime holds it.
fn value(env: &Env, name: &str) -> Option<VarValue> {
    let value = binding(env, name)?;
    Some(match (value.as_string(), value.as_f64(), value.as_bool()) {
        (Some(s), _, _) => VarValue::Text(s),
        (_, Some(n), _) => VarValue::Number(n),
        (_, _, Some(_)) => VarValue::Other("a boolean"),
        _ => match js_sys::JSON::stringify(&value)
            .ok()
            .and_then(|s| s.as_string())
        {
            Some(json) => VarValue::Json(json),
            None => VarValue::Other("an object"),
        },
    })
}

/// What is bound as `UPSTREAM`, and the service when it is one: a service
/// binding is an object with a `fetch` method; a var, queue, KV namespace
/// or bucket is not.
fn upstream(env: &Env) -> (UpstreamBinding, Option<JsValue>) {
    let Ok(binding) = js_sys::Reflect::get(env, &JsValue::from_str(UPSTREAM)) else {
        return (UpstreamBinding::Other, None);
    };
    if binding.is_undefined() {
        return (UpstreamBinding::Absent, None);
    }
    let fetch = js_sys::Reflect::get(&binding, &JsValue::from_str("fetch")).unwrap_or_default();
    if binding.is_object() && fetch.is_function() {
        (UpstreamBinding::Service, Some(binding))
    } else {
        (UpstreamBinding::Other, None)
    }
}
