//! reCAPTCHA Enterprise annotations from the edge.
//!
//! The pure core (everything but [`runtime`]) knows nothing of Workers: it
//! parses configuration, finds assessment IDs in tokens, parses outcome
//! headers, builds annotate calls, schedules retries and shapes log lines.
//! The `runtime` module is the thin shell that moves bytes between the
//! Workers runtime and that core.

pub mod admin;
pub mod annotate_call;
pub mod annotation;
pub mod assessment_id;
pub mod auth;
pub mod batch;
pub mod cache;
pub mod config;
pub mod cookies;
pub mod dedup;
pub mod delivery;
pub mod envelope;
pub mod error;
pub mod json_text;
pub mod log;
pub mod loop_guard;
pub mod metrics;
pub mod outcome;
pub mod relay;
pub mod retry;
pub mod route;
pub mod service_account;
pub mod status;
pub mod token_sources;
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
