//! Writes core [`Event`]s to the Workers console at their level.

use super::bindings::{console_debug, console_error, console_log, console_warn};
use super::env_config;
use crate::log::{Event, Level};

/// Logs `event` unless `LOG_LEVEL` is above its level; a dropped event is
/// never serialized.
pub fn emit(event: &Event) {
    let level = event.level();
    if env_config::parsed().is_some_and(|config| level < config.log_level) {
        return;
    }
    let line = event.to_line();
    match level {
        Level::Debug => console_debug(&line),
        Level::Info => console_log(&line),
        Level::Warn => console_warn(&line),
        Level::Error => console_error(&line),
    }
}
