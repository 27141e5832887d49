//! The isolate's clock, in ms since the Unix epoch (workerd advances it
//! only across I/O, which is all the schedules here need).

use worker::js_sys;

pub fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}
