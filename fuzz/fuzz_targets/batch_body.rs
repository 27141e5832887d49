//! The batch endpoint's body: a JSON array or NDJSON of outcome items.
//!
//! Input: the first byte picks the format (even: JSON, odd: NDJSON), the
//! rest is the body.
//!
//! Asserts: a body is refused whole only for the documented reasons; else
//! every item (array element, or non-blank line) is accepted or rejected
//! exactly once, in order, never more than `MAX_ITEMS`; an accepted item has
//! a valid ID and a Google-shaped annotation that round-trips; a rejection
//! message never repeats a token.

#![no_main]

use libfuzzer_sys::fuzz_target;
use recaptcha_annotate_edge::batch::{self, BatchError, Format};
use recaptcha_annotate_edge::outcome;
use recaptcha_annotate_edge_fuzz::{check_annotation, check_id, check_round_trip, text};

/// `batch.rs`'s message for a token without an ID.
const NO_ID: &str = "token has no assessment ID (16 letters/digits after its last :U=)";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Some(body) = text(rest) else { return };
    let format = if selector % 2 == 0 {
        Format::Json
    } else {
        Format::Ndjson
    };
    let (accepted, rejected) = match batch::parse(body, format) {
        Ok(split) => split,
        Err(BatchError::TooLarge) => {
            assert!(body.len() > batch::MAX_BYTES);
            return;
        }
        Err(BatchError::TooManyItems(n)) => {
            assert!(n > batch::MAX_ITEMS);
            return;
        }
        Err(BatchError::NotJson(_)) => {
            assert_eq!(format, Format::Json, "NDJSON is judged per line");
            return;
        }
        Err(e @ BatchError::UnsupportedContentType) => panic!("{e} from a body"),
    };
    let items = accepted.len() + rejected.len();
    assert!(items <= batch::MAX_ITEMS);
    // Positions: the array index, or the line with empty lines counted.
    let positions = match format {
        Format::Json => items,
        Format::Ndjson => {
            let lines = body.lines().count();
            assert_eq!(items, body.lines().filter(|l| !l.trim().is_empty()).count());
            lines
        }
    };
    // Each index at most once, each list in request order.
    let mut seen = vec![false; positions];
    for index in accepted
        .iter()
        .map(|a| a.index)
        .chain(rejected.iter().map(|r| r.index))
    {
        assert!(index < positions && !seen[index], "index {index} of {positions}");
        seen[index] = true;
    }
    assert!(accepted.windows(2).all(|w| w[0].index < w[1].index));
    assert!(rejected.windows(2).all(|w| w[0].index < w[1].index));

    for a in &accepted {
        check_id(&a.assessment);
        check_annotation(&a.annotation);
        check_round_trip(&a.annotation);
    }
    for r in &rejected {
        assert!(!r.error.is_empty());
        // The one message that names the marker is fixed text; any other
        // with `:U=` in it would be quoting a token.
        assert!(
            r.error == NO_ID || !r.error.contains(":U="),
            "a rejection repeats a token: {}",
            r.error
        );
    }
    if format == Format::Ndjson {
        // Each line is judged alone, exactly as a single item would be.
        let lines: Vec<&str> = body.lines().collect();
        for a in &accepted {
            let (o, _) = outcome::parse_batch_item(lines[a.index]).expect("accepted line");
            assert_eq!(o.annotation, a.annotation);
        }
        for r in &rejected {
            if let Ok((o, token)) = outcome::parse_batch_item(lines[r.index]) {
                // Only the assessment/token pairing can sink a valid outcome.
                assert!(
                    o.assessment.is_some() == token.is_some()
                        || token.is_some_and(|t| {
                            recaptcha_annotate_edge::request::assessment_id::AssessmentId::from_token(&t)
                                .is_none()
                        }),
                    "line {} rejected: {}",
                    r.index,
                    r.error
                );
            }
        }
    }
});
