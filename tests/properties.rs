//! Host tier: properties of the pure core over generated input. No input may
//! panic (a panic resets the worker's wasm instance), and what comes out is
//! always something Google accepts.

#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use recaptcha_annotate_edge::annotation::{Label, Reason};
use recaptcha_annotate_edge::assessment_id::AssessmentId;
use recaptcha_annotate_edge::config::Config;
use recaptcha_annotate_edge::outcome;
use recaptcha_annotate_edge::token_sources::extract;

const BODY_FIELDS: &[&str] = &[
    "annotation",
    "reasons",
    "accountId",
    "hashedAccountId",
    "transactionEvent",
    "phoneAuthenticationEvent",
];

fn id_strategy() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{16}"
}

/// Randomises the case of ASCII letters.
fn scramble_case(s: &str, seed: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if (seed >> (i % 64)) & 1 == 1 {
                c.to_ascii_lowercase()
            } else {
                c
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_token_with_a_valid_suffix_yields_exactly_that_id(prefix in ".*", id in id_strategy()) {
        let token = format!("{prefix}:U={id}");
        prop_assert_eq!(AssessmentId::from_token(&token).map(|i| i.to_string()), Some(id));
    }

    #[test]
    fn an_id_is_only_ever_sixteen_ascii_alphanumerics(token in ".*") {
        if let Some(id) = AssessmentId::from_token(&token) {
            prop_assert_eq!(id.as_str().len(), 16);
            prop_assert!(id.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
            let suffix = format!(":U={id}");
            prop_assert!(token.ends_with(&suffix));
        }
    }

    #[test]
    fn extraction_never_panics_and_finds_only_valid_ids(header in proptest::option::of(".*"), cookie in proptest::option::of(".*")) {
        let config = Config::parse(|_| None);
        let got = extract(&config.token_header, header.as_deref(), cookie.as_deref(), &config.token_cookies);
        if let Some(id) = got.id() {
            prop_assert!(AssessmentId::parse(id.as_str()).is_some());
        }
    }

    #[test]
    fn outcome_parsing_never_panics_and_every_accepted_body_is_googles_shape(header in ".*") {
        if let Ok(o) = outcome::parse(&header) {
            let body: serde_json::Value = serde_json::from_str(&o.annotation.to_json()).unwrap();
            let obj = body.as_object().unwrap();
            prop_assert!(!obj.is_empty());
            prop_assert!(obj.keys().all(|k| BODY_FIELDS.contains(&k.as_str())), "{:?}", obj.keys());
        }
    }

    #[test]
    fn json_looking_input_never_panics(header in r#"\{[ -~]{0,200}\}?"#) {
        let _ = outcome::parse(&header);
    }

    #[test]
    fn the_short_form_round_trips_in_any_case_and_spacing(
        label in proptest::option::of(proptest::sample::select(Label::ALL.to_vec())),
        reasons in proptest::sample::subsequence(Reason::ALL.to_vec(), 0..=4),
        account in proptest::option::of("[A-Za-z0-9_.@-]{1,24}"),
        assessment in proptest::option::of(id_strategy()),
        seed in any::<u64>(),
        pad in "[ \t]{0,2}",
    ) {
        prop_assume!(label.is_some() || !reasons.is_empty() || account.is_some());
        let mut parts = Vec::new();
        if let Some(l) = label { parts.push(scramble_case(l.as_str(), seed)); }
        if !reasons.is_empty() {
            let names: Vec<_> = reasons.iter().map(|r| r.as_str()).collect();
            parts.push(format!("{}={pad}{}", scramble_case("REASONS", seed), scramble_case(&names.join(&format!("{pad},{pad}")), seed.rotate_left(7))));
        }
        if let Some(a) = &account { parts.push(format!("account-id={pad}{a}")); }
        if let Some(a) = &assessment { parts.push(format!("Assessment={a}")); }
        let header = parts.join(&format!("{pad};{pad}"));

        let o = outcome::parse(&header).unwrap();
        prop_assert_eq!(o.annotation.label, label);
        prop_assert_eq!(o.annotation.reasons, reasons);
        prop_assert_eq!(o.annotation.account_id, account);
        prop_assert_eq!(o.assessment.map(|a| a.to_string()), assessment);
    }

    #[test]
    fn config_parsing_never_panics_and_urls_stay_well_formed(value in ".*", id in id_strategy()) {
        let c = Config::parse(|name| match name {
            "RECAPTCHA_API_BASE" => None,
            _ => Some(value.clone()),
        });
        if let Ok(api) = &c.api {
            let url = api.annotate_url(&AssessmentId::parse(&id).unwrap());
            let suffix = format!("/assessments/{id}:annotate?key=");
            prop_assert!(url.starts_with("https://recaptchaenterprise.googleapis.com/v1/projects/"));
            prop_assert!(url.contains(&suffix));
            prop_assert_eq!(url.matches('?').count(), 1);
            prop_assert_eq!(url.matches('/').count(), 7);
            prop_assert!(!url.contains('#') && !url.contains(' '));
        }
    }
}
