//! Reads the environment into a [`Config`], once per isolate.

use std::sync::OnceLock;

use wasm_bindgen::JsValue;
use worker::Env;

use super::logger;
use crate::config::{Config, UpstreamBinding, VarValue, UPSTREAM};
use crate::log::Event;

static CONFIG: OnceLock<Config> = OnceLock::new();

/// The isolate's configuration; the first call parses it and logs any problem.
pub fn get(env: &Env) -> &'static Config {
    CONFIG.get_or_init(|| {
        let config = Config::from_values(|name| value(env, name)).with_upstream(upstream(env));
        // Before the level applies: one line per isolate says who signs.
        if let Ok(api) = &config.api {
            logger::emit(&Event::credential_in_use(api));
        }
        logger::set_level(config.log_level);
        if !config.problems.is_empty() {
            logger::emit(&Event::config_invalid(&config.problems, config.api.is_ok()));
        }
        config
    })
}

/// A `[vars]` entry or secret as the runtime holds it.
fn value(env: &Env, name: &str) -> Option<VarValue> {
    let value = js_sys::Reflect::get(env, &JsValue::from_str(name)).ok()?;
    if value.is_undefined() || value.is_null() {
        return None;
    }
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
