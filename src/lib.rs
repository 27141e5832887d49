//! reCAPTCHA Enterprise annotations from the edge.
//!
//! The pure core (everything but `runtime`) knows nothing of Workers; its
//! folders follow a request and its annotation, as the README tells them:
//! [`request`] (the token, the assessment ID, routing, header hygiene),
//! [`outcome`] (the origin's outcome header and rules), [`delivery`] (the
//! annotation on its way: plans, retries, the queue message, duplicates),
//! [`google`] (the annotate call and its credentials), [`batch`] (late
//! annotations), [`operate`] (status check, metrics), with [`config`],
//! [`log`] and [`redact`] (untrusted text as it may be logged) beside them.
//! The `runtime` module is the thin shell that performs what the core
//! decides; its folders mirror these names.

pub mod batch;
pub mod config;
pub mod delivery;
pub mod error;
pub mod google;
pub mod json_text;
pub mod log;
pub mod operate;
pub mod outcome;
pub mod redact;
pub mod request;
pub mod url;

#[cfg(feature = "runtime")]
mod runtime;

/// One test source for both tiers: the core's unit tests are `#[test]` on
/// the host and `wasm_bindgen_test` in the browser tier, so the core that
/// ships as wasm is the core that was tested.
#[cfg(test)]
mod testing {
    #[cfg(not(target_arch = "wasm32"))]
    pub use core::prelude::v1::test;
    #[cfg(target_arch = "wasm32")]
    pub use wasm_bindgen_test::wasm_bindgen_test as test;
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
}
