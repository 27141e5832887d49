//! The contract vectors, run in both tiers from this one source: natively
//! on the host (`cargo test`) and compiled to wasm in headless Chromium
//! (`wasm-pack test`), so the same inputs give the same outputs wherever
//! the core runs.

mod common;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[test]
fn tokens_yield_exactly_the_documented_ids() {
    common::check_extraction();
}

#[test]
fn outcome_headers_become_exactly_these_bodies() {
    common::check_outcomes();
}

#[test]
fn the_annotate_request_has_googles_url_and_body() {
    common::check_annotate_request();
}

#[test]
fn the_retry_schedule_is_deterministic_given_its_jitter() {
    common::check_retry_schedule();
}

#[test]
fn no_input_panics_the_core() {
    // A panic would abort the whole instance in the worker; here it fails the test.
    let nasty = [
        "",
        ":U=",
        "%",
        "%%%3AU%3D",
        "\u{0}",
        "é:U=é",
        "{",
        "{\"annotation\":",
        ";;;=;=",
        "reasons=,,,",
    ];
    for s in nasty {
        let _ = recaptcha_annotate_edge::outcome::parse_header(s);
        let _ = recaptcha_annotate_edge::request::assessment_id::AssessmentId::from_token(s);
        let cfg = recaptcha_annotate_edge::config::Config::parse(|_| Some(s.to_owned()));
        let request = recaptcha_annotate_edge::request::token_sources::TokenRequest {
            method: s,
            header: Some(s),
            cookie: Some(s),
        };
        let _ = recaptcha_annotate_edge::request::token_sources::select(&cfg.token_rules, &request);
    }
}
