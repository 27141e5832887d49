//! Host tier: properties of outcome rules over generated input. Matching
//! and reading a request never panic, whatever the method, path, status,
//! headers or body; what a rule sends is always an outcome the header's
//! own parser accepts.

#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use recaptcha_annotate_edge::outcome::parse_stored;
use recaptcha_annotate_edge::outcome::rules::{
    form_field, json_member, location_path, Decision, Missing, PathPattern, ResponseFacts, RuleSet,
    BODY_PREFIX_MAX,
};

const KEY: &str = "properties-hash-key-0123456789abcdef";

/// A set touching every kind of condition and account source.
fn rules() -> RuleSet {
    let text = r#"[
      {"name":"json","method":"POST","path":"/api/*/session","status":[401,"4xx"],
       "outcome":"reasons=INCORRECT_PASSWORD","account":{"json":"email","lowercase":true}},
      {"name":"marker","method":["POST","PUT"],"path":"/login","status":"200-299",
       "headers":{"X-Login-Failed":true,"X-Other":false,"X-Result":"failed"},
       "outcome":{"reasons":["INCORRECT_PASSWORD"]},"account":{"form":"username","hash":true}},
      {"name":"redirect","method":"POST","path":"/**","status":"3xx","location":"/account/**",
       "outcome":"LEGITIMATE; reasons=CORRECT_PASSWORD","account":{"header":"X-User"}}
    ]"#;
    RuleSet::parse(text, Some(KEY)).expect("the properties' rule set parses")
}

fn header_names() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("x-login-failed".to_owned()),
        Just("x-other".to_owned()),
        Just("x-result".to_owned()),
        Just("location".to_owned()),
        "[a-z-]{1,12}",
    ]
}

fn header_values() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("failed".to_owned()),
        Just(" failed ".to_owned()),
        "/account/[ -~]{0,20}",
        "https?://[a-z.]{1,10}/[ -~]{0,20}",
        "\\PC{0,40}",
    ]
}

fn paths() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/login".to_owned()),
        "/api/[a-z0-9*]{0,6}/session",
        "/[ -~]{0,60}",
        "\\PC{0,60}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn matching_never_panics_and_only_a_request_match_can_fire(
        method in prop_oneof![Just("POST".to_owned()), Just("put".to_owned()), "\\PC{0,12}"],
        path in paths(),
        status in 0u16..1000,
        headers in proptest::collection::vec((header_names(), header_values()), 0..6),
        from_cache in any::<bool>(),
    ) {
        let set = rules();
        let candidates = set.candidates(&method, &path);
        let lookup = |name: &str| {
            headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
        };
        let facts = ResponseFacts { status, header: &lookup, from_cache };
        match set.decide(candidates, &facts) {
            Decision::None => {}
            Decision::FromCache(_) => prop_assert!(from_cache),
            Decision::Fire(rule) => {
                prop_assert!(!from_cache);
                prop_assert!(!candidates.is_empty());
                // The rule that fires is the first whose request side matched.
                let first = set.rules().iter().position(|r| r.name == rule.name).unwrap();
                let alone = RuleSet::parse(&format!("[{}]", rule_text(first)), Some(KEY)).unwrap();
                prop_assert!(!alone.candidates(&method, &path).is_empty());
            }
        }
    }

    #[test]
    fn what_a_rule_sends_is_an_outcome_the_header_parser_accepts(
        account in prop_oneof![
            "\\PC{0,40}",
            "[ -~]{0,40}; assessment=[A-Za-z0-9]{16}",
            "\\PC{1000,1100}",
            Just(String::new()),
        ],
        found in any::<bool>(),
    ) {
        let set = rules();
        for rule in set.rules() {
            let raw = if found { Ok(account.clone()) } else { Err(Missing::NotFound) };
            let fired = set.outcome(rule, Some(raw));
            let outcome = fired.outcome.expect("a rule's own outcome is always valid");
            prop_assert!(outcome.assessment.is_none());
            // The body parses back to itself, as a queued message is re-checked.
            let body = outcome.annotation.to_json();
            prop_assert_eq!(parse_stored(&body).map(|o| o.annotation), Ok(outcome.annotation.clone()));
            prop_assert_eq!(fired.account.is_some(), fired.account_missing.is_none());
            if let Some(id) = &outcome.annotation.account_id {
                prop_assert_eq!(id.to_ascii_lowercase(), account.trim().to_ascii_lowercase());
            }
        }
    }

    #[test]
    fn reading_a_body_never_panics(body in proptest::collection::vec(any::<u8>(), 0..600), complete in any::<bool>(), name in "[a-z%+=&]{0,8}") {
        let _ = form_field(&body, complete, &name);
        let _ = json_member(&body, complete, &name);
    }

    #[test]
    fn a_form_field_is_read_back_as_it_was_encoded(
        value in "\\PC{0,40}",
        before in proptest::collection::vec(("[a-z]{1,6}", "[a-z0-9]{0,6}"), 0..4),
    ) {
        let mut pairs: Vec<(String, String)> = before.into_iter().filter(|(k, _)| k != "username").collect();
        pairs.push(("username".into(), value.clone()));
        let body: String = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        prop_assert_eq!(form_field(body.as_bytes(), true, "username"), Ok(value));
        prop_assert!(body.len() <= BODY_PREFIX_MAX);
    }

    #[test]
    fn a_pattern_without_stars_matches_exactly_itself(path in "/[a-zA-Z0-9._~/-]{0,40}", other in "/[a-zA-Z0-9._~/-]{0,40}") {
        let pattern = PathPattern::parse(&path).unwrap();
        prop_assert!(pattern.matches(&path));
        prop_assert_eq!(pattern.matches(&other), other == path);
    }

    #[test]
    fn a_location_path_is_part_of_the_location(location in "\\PC{0,60}") {
        if let Some(path) = location_path(&location) {
            prop_assert!(location.contains(path));
            prop_assert!(path.starts_with('/') && !path.contains(['?', '#']));
        }
    }

    #[test]
    fn parsing_any_rule_text_never_panics(text in "\\PC{0,300}") {
        let _ = RuleSet::parse(&text, Some(KEY));
        let _ = RuleSet::parse(&text, None);
    }
}

/// The text of the properties' rule `i`, for a set of that rule alone.
fn rule_text(i: usize) -> &'static str {
    [
        r#"{"name":"json","method":"POST","path":"/api/*/session","status":[401,"4xx"],"outcome":"reasons=INCORRECT_PASSWORD"}"#,
        r#"{"name":"marker","method":["POST","PUT"],"path":"/login","status":"200-299","outcome":"reasons=INCORRECT_PASSWORD"}"#,
        r#"{"name":"redirect","method":"POST","path":"/**","status":"3xx","outcome":"LEGITIMATE"}"#,
    ][i]
}

/// `application/x-www-form-urlencoded` as browsers write it.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b' ' => "+".to_owned(),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
