//! `OUTCOME_RULES`: the rule set's JSON, as the operator wrote it.
//!
//! Asserts: a set is accepted only with at most 64 uniquely named rules;
//! no refusal quotes the hash key (unless the rules hold its text); every accepted rule's outcome is a valid
//! body with no assessment and no account of its own; matching any of a
//! fixed set of requests and responses never panics, and what a fired rule
//! sends, with an account or without, passes the body checks and reads back
//! through the queue consumer's parser.

#![no_main]

use libfuzzer_sys::fuzz_target;
use recaptcha_annotate_edge::outcome::parse_stored;
use recaptcha_annotate_edge::outcome::rules::{Decision, Missing, ResponseFacts, RuleSet};
use recaptcha_annotate_edge_fuzz::{check_annotation, check_round_trip, text};

const KEY: &str = "fuzz-hash-key-0123456789abcdef-0123456789";

const REQUESTS: &[(&str, &str)] = &[
    ("POST", "/login"),
    ("POST", "/api/session"),
    ("GET", "/"),
    ("post", "/account/2fa/verify"),
    ("PUT", "/a/b/c"),
];

const HEADERS: &[(&str, &str)] = &[
    ("location", "https://shop.example/account?x"),
    ("x-login-failed", "1"),
    ("x-result", "failed"),
];

fuzz_target!(|data: &[u8]| {
    let Some(rules) = text(data) else { return };
    let set = match RuleSet::parse(rules, Some(KEY)) {
        Ok(set) => set,
        Err(errors) => {
            assert!(!errors.is_empty());
            // Unless the rules themselves hold the key's text.
            if !rules.contains(KEY) {
                for e in errors {
                    assert!(!e.to_string().contains(KEY), "{e}");
                }
            }
            return;
        }
    };
    let names: Vec<&str> = set.rules().iter().map(|r| r.name.as_str()).collect();
    assert!(names.len() <= 64);
    for (i, name) in names.iter().enumerate() {
        assert!(!names[..i].contains(name), "{name} twice");
    }
    for rule in set.rules() {
        let o = rule.configured_outcome();
        assert!(o.assessment.is_none());
        assert!(o.annotation.account_id.is_none() && o.annotation.hashed_account_id.is_none());
        check_annotation(&o.annotation);
    }
    let lookup = |name: &str| {
        HEADERS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    };
    for (method, path) in REQUESTS {
        let candidates = set.candidates(method, path);
        for status in [200, 302, 303, 401, 500] {
            let facts = ResponseFacts {
                status,
                header: &lookup,
                from_cache: false,
            };
            let Decision::Fire(rule) = set.decide(candidates, &facts) else {
                continue;
            };
            for account in [
                Some(Ok(" Ann@Shop.example ".to_owned())),
                Some(Err(Missing::NotFound)),
                None,
            ] {
                let o = set
                    .outcome(rule, account)
                    .outcome
                    .expect("a rule's outcome stays valid");
                check_annotation(&o.annotation);
                check_round_trip(&o.annotation);
                let body = o.annotation.to_json();
                assert_eq!(parse_stored(&body).map(|s| s.annotation), Ok(o.annotation));
            }
        }
    }
});
