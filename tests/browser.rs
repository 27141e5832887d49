//! Browser tier: the same contract vectors, compiled to wasm and run in a
//! real browser engine (headless Chromium via wasm-pack).

#![cfg(target_arch = "wasm32")]

mod common;

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn tokens_yield_exactly_the_documented_ids() {
    common::check_extraction();
}

#[wasm_bindgen_test]
fn outcome_headers_become_exactly_these_bodies() {
    common::check_outcomes();
}

#[wasm_bindgen_test]
fn the_annotate_request_has_googles_url_and_body() {
    common::check_annotate_request();
}

#[wasm_bindgen_test]
fn the_retry_schedule_is_deterministic_given_its_jitter() {
    common::check_retry_schedule();
}

#[wasm_bindgen_test]
fn no_input_panics_the_wasm_core() {
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
        let _ = recaptcha_annotate_edge::assessment_id::AssessmentId::from_token(s);
        let cfg = recaptcha_annotate_edge::config::Config::parse(|_| Some(s.to_owned()));
        let _ = recaptcha_annotate_edge::token_sources::extract(
            "t",
            Some(s),
            Some(s),
            &cfg.token_cookies,
        );
    }
}
