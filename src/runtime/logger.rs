//! Writes core [`Event`]s to the Workers console at their level.

use crate::log::{Event, Level};

pub fn emit(event: &Event) {
    let line = event.to_line();
    match event.level() {
        Level::Debug => worker::console_debug!("{line}"),
        Level::Info => worker::console_log!("{line}"),
        Level::Warn => worker::console_warn!("{line}"),
        Level::Error => worker::console_error!("{line}"),
    }
}
