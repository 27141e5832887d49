//! Host tier: the shared contract vectors, run natively.

mod common;

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
