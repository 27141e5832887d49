//! Writes the core's data points ([`crate::operate::metrics`]) to the
//! `ANNOTATION_METRICS` Analytics Engine dataset, when it is bound.

use std::cell::{Cell, OnceCell};

use wasm_bindgen::JsValue;

use crate::log::Event;
use crate::operate::metrics::{data_point, Context};
use crate::runtime::bindings::write_data_point;

struct Sink {
    dataset: JsValue,
    context: Context,
}

thread_local! {
    static SINK: OnceCell<Option<Sink>> = const { OnceCell::new() };
    /// Whether a write has failed in this isolate: logged once.
    static FAILED: Cell<bool> = const { Cell::new(false) };
}

/// Sets the isolate's dataset (`None`: nothing is recorded), once.
pub fn init(dataset: Option<JsValue>, context: Context) {
    SINK.with(|sink| {
        let _ = sink.set(dataset.map(|dataset| Sink { dataset, context }));
    });
}

/// Writes `event`'s data point, if it has one and the dataset is bound. The
/// write does not wait for anything; if it throws, the first such error in
/// the isolate is returned for the caller to log, and the caller carries on.
pub fn record(event: &Event) -> Option<Event> {
    let failure = SINK.with(|sink| {
        let sink = sink.get()?.as_ref()?;
        let point = data_point(event, &sink.context)?;
        write_data_point(&sink.dataset, point.json())
    });
    let error = failure?;
    (!FAILED.replace(true)).then_some(Event::MetricsFailed { error })
}
