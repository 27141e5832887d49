//! The configuration as a whole: defaults, fallbacks, problems and their order.

use super::*;
use crate::request::assessment_id::AssessmentId;
use crate::testing::test;
use environment::{Environment, UpstreamBinding, VarValue};
use std::collections::HashMap;

pub(super) fn parse(vars: &[(&str, &str)]) -> Config {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::parse(|k| map.get(k).cloned())
}

pub(super) const GOOD: &[(&str, &str)] = &[
    (PROJECT_ID, "my-project"),
    (API_KEY, "AIzaSyExample_key-123"),
];

#[test]
fn defaults_apply_when_only_the_required_values_are_set() {
    let c = parse(GOOD);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.origin, Origin::SameAsRequest);
    assert_eq!(c.outcome_header, "X-Recaptcha-Outcome");
    assert_eq!(c.token_header, "X-Recaptcha-Token");
    assert_eq!(
        c.assessment_id_header.as_deref(),
        Some("X-Recaptcha-Assessment-Id")
    );
    assert!(matches!(&c.token_rules, WafRules::Listed(l) if l.cookies.len() == 2));
    assert_eq!(c.log_level, Level::Info);
    let id = AssessmentId::parse("bc304e08a0000000").unwrap();
    assert_eq!(
        c.api.unwrap().annotate_url(&id),
        "https://recaptchaenterprise.googleapis.com/v1/projects/my-project/assessments/bc304e08a0000000:annotate?key=AIzaSyExample_key-123"
    );
}

#[test]
fn unset_variables_take_the_tables_defaults() {
    let c = parse(GOOD);
    // The table's texts are the queue policy's own defaults.
    assert_eq!(c.queue, QueuePolicy::default());
    assert_eq!(c.dead_letter_queue, "recaptcha-annotations-dlq");
    assert_eq!((c.admin, c.reserved), (None, None));
    assert_eq!(c.upstream, Upstream::Fetch);
    let WafRules::Listed(listed) = &c.token_rules else {
        panic!("{:?}", c.token_rules)
    };
    assert_eq!(listed.header.as_deref(), Some(DEFAULT_TOKEN_HEADER));
}

#[test]
fn log_level_drops_events_below_it_and_an_unknown_one_falls_back_to_info() {
    let level = |v: &str| {
        let mut vars = GOOD.to_vec();
        vars.push((LOG_LEVEL, v));
        let c = parse(&vars);
        (c.log_level, c.problems)
    };
    assert_eq!(level("warn"), (Level::Warn, vec![]));
    assert_eq!(level(" ERROR ").0, Level::Error);
    assert_eq!(level("info").0, Level::Info);
    assert_eq!(level("debug").0, Level::Debug);
    let (fallback, problems) = level("verbose");
    assert_eq!(fallback, Level::Info);
    assert_eq!(problems.len(), 1);
    assert!(problems[0]
        .to_string()
        .starts_with("LOG_LEVEL: \"verbose\""));
    assert!(Level::Debug < Level::Info && Level::Info < Level::Warn && Level::Warn < Level::Error);
}

#[test]
fn invalid_optional_values_fall_back_and_are_reported() {
    let mut vars = GOOD.to_vec();
    vars.extend([
        (OUTCOME_HEADER, "bad header"),
        (TOKEN_COOKIES, "a*b*c"),
        (ORIGIN_URL, "ftp://x"),
    ]);
    let c = parse(&vars);
    assert_eq!(c.outcome_header, "X-Recaptcha-Outcome");
    assert!(matches!(&c.token_rules, WafRules::Listed(l) if l.cookies.len() == 2));
    assert_eq!(c.origin, Origin::Invalid);
    let vars: Vec<_> = c.problems.iter().map(|e| e.var).collect();
    assert_eq!(vars, vec![ORIGIN_URL, OUTCOME_HEADER, TOKEN_COOKIES]);
    assert!(c.api.is_ok());
}

#[test]
fn queue_settings_are_validated() {
    let mut vars = GOOD.to_vec();
    vars.extend([
        (QUEUE_RETRY_BASE_SECONDS, "2"),
        (QUEUE_RETRY_MAX_SECONDS, "4"),
        (QUEUE_MAX_ATTEMPTS, "0"),
    ]);
    let c = parse(&vars);
    assert_eq!((c.queue.base_seconds, c.queue.max_delay_seconds), (2, 4));
    assert_eq!(c.queue.max_attempts, QueuePolicy::default().max_attempts);
    assert_eq!(c.problems[0].var, QUEUE_MAX_ATTEMPTS);
}

#[test]
fn an_upstream_binding_that_is_not_a_service_is_refused_not_bypassed() {
    let bound = |upstream| {
        let good = |name: &str| {
            GOOD.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| VarValue::Text(v.to_string()))
        };
        Config::load(Environment {
            upstream,
            ..Environment::vars(good)
        })
    };
    assert_eq!(parse(GOOD).upstream, Upstream::Fetch);
    let c = bound(UpstreamBinding::Service);
    assert_eq!((c.upstream, c.problems.len()), (Upstream::Service, 0));
    let c = bound(UpstreamBinding::Other);
    assert_eq!(c.upstream, Upstream::NotAService);
    assert_eq!(c.problems[0].var, UPSTREAM);
}

#[test]
fn values_of_the_wrong_type_are_reported_not_ignored() {
    let c = Config::load(Environment::vars(|name| match name {
        PROJECT_ID => Some(VarValue::Number(123_456_789.0)),
        API_KEY => Some(VarValue::Text("k".into())),
        QUEUE_MAX_ATTEMPTS => Some(VarValue::Number(-1.0)),
        QUEUE_RETRY_BASE_SECONDS => Some(VarValue::Number(1.5)),
        QUEUE_RETRY_MAX_SECONDS => Some(VarValue::Number(2f64.powi(60))),
        LOG_LEVEL => Some(VarValue::Other("a boolean")),
        _ => None,
    }));
    assert!(c.api.is_ok(), "a project number without quotes is fine");
    let vars: Vec<_> = c.problems.iter().map(|e| e.var).collect();
    assert_eq!(
        vars,
        vec![
            QUEUE_RETRY_BASE_SECONDS,
            QUEUE_RETRY_MAX_SECONDS,
            QUEUE_MAX_ATTEMPTS,
            LOG_LEVEL
        ]
    );
    assert!(c.problems[3].to_string().contains("a boolean"));
    assert_eq!(c.queue, QueuePolicy::default());
    assert_eq!(c.log_level, Level::Info);
}

#[test]
fn secrets_pasted_into_url_variables_are_not_echoed() {
    let mut vars = GOOD.to_vec();
    vars.extend([
        (ORIGIN_URL, "https://user:hunter2@origin.example"),
        (API_BASE, "https://proxy.example/g?key=AIzaPasted"),
    ]);
    let c = parse(&vars);
    let line = crate::log::Event::config_invalid(&c.problems, false).to_line();
    assert_eq!(c.problems.len(), 2, "{line}");
    assert!(
        !line.contains("hunter2") && !line.contains("AIzaPasted"),
        "{line}"
    );
}

#[test]
fn empty_optional_values_count_as_unset() {
    let mut vars = GOOD.to_vec();
    vars.extend([(ORIGIN_URL, ""), (OUTCOME_HEADER, ""), (API_BASE, "")]);
    let c = parse(&vars);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(c.origin, Origin::SameAsRequest);
    assert_eq!(c.outcome_header, DEFAULT_OUTCOME_HEADER);
}

#[test]
fn invalid_outcome_rules_are_named_by_rule_and_field_and_none_applies() {
    let rules = r#"[{"name":"ok","method":"POST","path":"/a","status":401,"outcome":"FRAUDULENT"},
                    {"name":"bad","method":"POST","path":"/b","status":401,"outcome":"MAYBE"}]"#;
    let c = parse(&[GOOD[0], GOOD[1], (OUTCOME_RULES, rules)]);
    assert!(c.outcome_rules.is_empty());
    assert!(c.api.is_ok());
    assert_eq!(c.problems.len(), 1);
    let line = c.problems[0].to_string();
    assert!(
        line.starts_with(r#"OUTCOME_RULES: rule 1 ("bad"): outcome: unknown label"#),
        "{line}"
    );
    assert!(line.ends_with("no rule applies"), "{line}");
    let good = r#"[{"name":"ok","method":"POST","path":"/a","status":401,"outcome":"FRAUDULENT"}]"#;
    let c = parse(&[GOOD[0], GOOD[1], (OUTCOME_RULES, good)]);
    assert_eq!((c.outcome_rules.rules().len(), c.problems.len()), (1, 0));
}

#[test]
fn outcome_rules_may_be_a_json_value_and_no_other_variable_may() {
    let rules =
        r#"[{"name":"ok","method":"POST","path":"/a","status":401,"outcome":"FRAUDULENT"}]"#;
    let c = Config::load(Environment::vars(|name| match name {
        PROJECT_ID => Some(VarValue::Text("p".into())),
        API_KEY => Some(VarValue::Text("k".into())),
        OUTCOME_RULES => Some(VarValue::Json(rules.into())),
        LOG_LEVEL => Some(VarValue::Json("[]".into())),
        _ => None,
    }));
    assert_eq!(c.outcome_rules.rules().len(), 1);
    let vars: Vec<_> = c.problems.iter().map(|e| e.var).collect();
    assert_eq!(vars, vec![LOG_LEVEL]);
}

#[test]
fn an_empty_assessment_id_header_disables_it() {
    let mut vars = GOOD.to_vec();
    vars.push((ASSESSMENT_ID_HEADER, ""));
    assert_eq!(parse(&vars).assessment_id_header, None);
}
