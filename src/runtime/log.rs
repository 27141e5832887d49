//! Writes core [`Event`]s: to the Workers console at their level, and as a
//! data point to `ANNOTATION_METRICS` when the core makes one of the event.

use std::sync::OnceLock;

use crate::log::{Event, Level};
use crate::runtime::bindings::{log_debug, log_error, log_info, log_warn};
use crate::runtime::operate::metrics;

/// The isolate's `LOG_LEVEL`; until it is set, every event is logged.
static LEVEL: OnceLock<Level> = OnceLock::new();

/// Sets the level once per isolate; later calls change nothing.
pub fn set_level(level: Level) {
    let _ = LEVEL.set(level);
}

/// Records `event`'s data point whatever the level, then logs it unless the
/// level is above its own; a dropped event is never serialized.
pub fn emit(event: &Event) {
    let shown = LEVEL.get().is_none_or(|min| event.level() >= *min);
    record_then_log(event, shown);
}

/// Logs `event` whatever the level: the isolate's first line.
pub fn emit_at_any_level(event: &Event) {
    record_then_log(event, true);
}

/// The data point (and, should writing it fail, that failure's own event),
/// then the line if `shown`.
fn record_then_log(event: &Event, shown: bool) {
    if let Some(failed) = metrics::record(event) {
        emit(&failed);
    }
    if shown {
        write(event);
    }
}

fn write(event: &Event) {
    let level = event.level();
    let line = event.to_line();
    match level {
        Level::Debug => log_debug(&line),
        Level::Info => log_info(&line),
        Level::Warn => log_warn(&line),
        Level::Error => log_error(&line),
    }
}
