//! Host tier: inputs cargo-fuzz found crashing (committed under
//! `fuzz/regressions/<target>/`), replayed against the invariant that failed.

#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;

use recaptcha_annotate_edge::outcome::{self, Outcome};

/// Every committed crash input of one fuzz target.
fn regressions(target: &str) -> Vec<(PathBuf, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "no inputs in {}", dir.display());
    inputs
}

/// `outcome_json`'s round trip: the body we send for the input, taken as a
/// header or as a batch item, read back as the queue consumer re-validates
/// it, is the same annotation.
fn assert_round_trip(input: &str) {
    let header = outcome::parse_header(input).ok().map(|o| o.annotation);
    let item = outcome::parse_batch_item(input)
        .ok()
        .map(|(o, _)| o.annotation);
    for annotation in header.into_iter().chain(item) {
        let json = annotation.to_json();
        assert_eq!(
            outcome::parse_stored(&json),
            Ok(Outcome {
                assessment: None,
                annotation,
            }),
            "{json}"
        );
    }
}

#[test]
fn outcome_json_crash_inputs_round_trip() {
    for (path, header) in regressions("outcome_json") {
        eprintln!("{}", path.display());
        assert_round_trip(&header);
    }
}

/// The fuzz find: serde_json's default float parsing is not correctly
/// rounded, so `3.3333333333333334e31` (a 17-digit shortest form) came back
/// 1 ULP off and the worker would have sent Google another number. The value
/// is now kept as the origin's own text.
#[test]
fn a_transaction_value_reaches_google_unchanged() {
    for text in [
        "3.3333333333333334e+31",
        "33333333333333333333333333333332",
        "1.0715660391465826e-75",
    ] {
        let o = outcome::parse_header(&format!(r#"{{"transactionEvent":{{"value":{text}}}}}"#))
            .unwrap();
        let got = o
            .annotation
            .transaction_event
            .clone()
            .unwrap()
            .value
            .unwrap();
        assert_eq!(got.as_str(), text);
        assert!(o
            .annotation
            .to_json()
            .contains(&format!(r#""value":{text}"#)));
    }
}
