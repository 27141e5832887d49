//! Reads the environment into a [`Config`] and the [`Bindings`] found
//! beside it, once per isolate.

use std::sync::OnceLock;

use wasm_bindgen::JsValue;
use worker::Env;

use crate::config::{Config, UpstreamBinding, VarValue, UPSTREAM};
use crate::log::Event;
use crate::operate::metrics::{Context, BINDING as METRICS};
use crate::operate::status::{Bindings, WorkerVersion, VERSION_METADATA};
use crate::runtime::delivery::queue;
use crate::runtime::log;
use crate::runtime::operate::metrics;

static CONFIG: OnceLock<Config> = OnceLock::new();
static BINDINGS: OnceLock<Bindings> = OnceLock::new();

/// The isolate's configuration; the first call parses it, sets up the
/// metrics and logs any problem.
pub fn get(env: &Env) -> &'static Config {
    CONFIG.get_or_init(|| {
        let config = Config::from_values(|name| value(env, name)).with_upstream(upstream(env));
        let found = bindings(env);
        let version = found.version.as_ref().map(|v| v.id.as_str());
        metrics::init(binding(env, METRICS), Context::new(&config, version));
        // Before the level applies: one line per isolate says who signs.
        if let Ok(api) = &config.api {
            log::emit(&Event::credential_in_use(api));
        }
        log::set_level(config.log_level);
        if !config.problems.is_empty() {
            log::emit(&Event::config_invalid(&config.problems, config.api.is_ok()));
        }
        config
    })
}

/// What the isolate's environment binds beside its variables.
pub fn bindings(env: &Env) -> &'static Bindings {
    BINDINGS.get_or_init(|| Bindings {
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
    })
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

/// What is bound as `UPSTREAM`: a service binding is an object with a
/// `fetch` method; a var, queue, KV namespace or bucket is not.
fn upstream(env: &Env) -> UpstreamBinding {
    let Ok(binding) = js_sys::Reflect::get(env, &JsValue::from_str(UPSTREAM)) else {
        return UpstreamBinding::Other;
    };
    if binding.is_undefined() {
        return UpstreamBinding::Absent;
    }
    let fetch = js_sys::Reflect::get(&binding, &JsValue::from_str("fetch")).unwrap_or_default();
    if binding.is_object() && fetch.is_function() {
        UpstreamBinding::Service
    } else {
        UpstreamBinding::Other
    }
}
