//! The JSON outcome form: `{"annotation":…,"reasons":[…],…,"assessment":…}`.
//!
//! Input: the header value (`outcome::parse_header`) and the same text as a batch
//! item (`outcome::parse_batch_item`, which also takes `token`).
//!
//! Asserts: an accepted outcome is a non-empty body in Google's schema that
//! serializes to JSON which parses back, as an outcome header, to the same
//! annotation; a header the JSON form accepts is accepted the same way as a
//! batch item, with no token.

#![no_main]

use libfuzzer_sys::fuzz_target;
use recaptcha_annotate_edge::outcome;
use recaptcha_annotate_edge_fuzz::{check_annotation, check_id, check_round_trip, text};

fuzz_target!(|data: &[u8]| {
    let Some(value) = text(data) else { return };
    let header = outcome::parse_header(value);
    if let Ok(o) = &header {
        check_annotation(&o.annotation);
        check_round_trip(&o.annotation);
        if let Some(id) = &o.assessment {
            check_id(id);
        }
    }
    let item = outcome::parse_batch_item(value);
    if let Ok((o, _token)) = &item {
        check_annotation(&o.annotation);
        check_round_trip(&o.annotation);
        if let Some(id) = &o.assessment {
            check_id(id);
        }
    }
    if let Ok(o) = header {
        if value.trim_start_matches([' ', '\t']).starts_with('{') {
            assert_eq!(item, Ok((o, None)), "header and batch item disagree");
        }
    }
});
