//! Writes core [`Event`]s to the Workers console at their level.

use super::bindings::{console_debug, console_error, console_log, console_warn};
use crate::log::{Event, Level};

pub fn emit(event: &Event) {
    let line = event.to_line();
    match event.level() {
        Level::Debug => console_debug(&line),
        Level::Info => console_log(&line),
        Level::Warn => console_warn(&line),
        Level::Error => console_error(&line),
    }
}
