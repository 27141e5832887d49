//! Reads the environment into a [`Config`], once per isolate.

use std::sync::OnceLock;

use wasm_bindgen::JsValue;
use worker::Env;

use super::logger;
use crate::config::Config;
use crate::log::Event;

static CONFIG: OnceLock<Config> = OnceLock::new();

/// The isolate's configuration; the first call parses it and logs any problem.
pub fn get(env: &Env) -> &'static Config {
    CONFIG.get_or_init(|| {
        let config = Config::parse(|name| var(env, name));
        logger::set_level(config.log_level);
        if !config.problems.is_empty() {
            logger::emit(&Event::config_invalid(&config.problems, config.api.is_ok()));
        }
        config
    })
}

/// A `[vars]` entry or secret as text. TOML numbers (a project number
/// written without quotes) are accepted; other types read as unset.
fn var(env: &Env, name: &str) -> Option<String> {
    let value = js_sys::Reflect::get(env, &JsValue::from_str(name)).ok()?;
    if let Some(s) = value.as_string() {
        return Some(s);
    }
    value
        .as_f64()
        .filter(|n| n.fract() == 0.0 && *n >= 0.0)
        .map(|n| format!("{n:.0}"))
}
