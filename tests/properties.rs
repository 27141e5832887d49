//! Host tier: properties of the pure core over generated input. No input may
//! panic (a panic resets the worker's wasm instance), and what comes out is
//! always something Google accepts.

#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use recaptcha_annotate_edge::batch::{self, Format};
use recaptcha_annotate_edge::config::Config;
use recaptcha_annotate_edge::outcome;
use recaptcha_annotate_edge::outcome::annotation::{Amount, Label, Reason};
use recaptcha_annotate_edge::request::assessment_id::AssessmentId;
use serde_json::{json, Value};

fn id_strategy() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{16}"
}

// Google's own enum lists (the stand-in's, local/google-api.mjs): a body may
// use any of these; the worker must never send anything else.
const GOOGLE_LABELS: &[&str] = &[
    "ANNOTATION_UNSPECIFIED",
    "LEGITIMATE",
    "FRAUDULENT",
    "PASSWORD_CORRECT",
    "PASSWORD_INCORRECT",
];
const GOOGLE_REASONS: &[&str] = &[
    "REASON_UNSPECIFIED",
    "CHARGEBACK",
    "CHARGEBACK_FRAUD",
    "CHARGEBACK_DISPUTE",
    "REFUND",
    "REFUND_FRAUD",
    "TRANSACTION_ACCEPTED",
    "TRANSACTION_DECLINED",
    "PAYMENT_HEURISTICS",
    "INITIATED_TWO_FACTOR",
    "PASSED_TWO_FACTOR",
    "FAILED_TWO_FACTOR",
    "CORRECT_PASSWORD",
    "INCORRECT_PASSWORD",
    "SOCIAL_SPAM",
];
const GOOGLE_EVENT_TYPES: &[&str] = &[
    "TRANSACTION_EVENT_TYPE_UNSPECIFIED",
    "MERCHANT_APPROVE",
    "MERCHANT_DENY",
    "MANUAL_REVIEW",
    "AUTHORIZATION",
    "AUTHORIZATION_DECLINE",
    "PAYMENT_CAPTURE",
    "PAYMENT_CAPTURE_DECLINE",
    "CANCEL",
    "CHARGEBACK_INQUIRY",
    "CHARGEBACK_ALERT",
    "FRAUD_NOTIFICATION",
    "CHARGEBACK",
    "CHARGEBACK_REPRESENTMENT",
    "CHARGEBACK_REVERSE",
    "REFUND_REQUEST",
    "REFUND_DECLINE",
    "REFUND",
    "REFUND_REVERSE",
];

/// Checks a body against `AnnotateAssessmentRequest` as Google's JSON parser
/// reads it: known fields only, enum names from Google's lists, right types,
/// RFC 3339 times, base64 bytes. Returns what is wrong.
fn google_schema_violation(body: &Value) -> Option<String> {
    let is_time = |v: &Value| {
        v.as_str().is_some_and(|t| {
            let b = t.as_bytes();
            b.len() >= 20
                && b[4] == b'-'
                && b[7] == b'-'
                && matches!(b[10], b'T' | b't')
                && b[13] == b':'
                && b[16] == b':'
        })
    };
    let one_of = |v: &Value, list: &[&str]| v.as_str().is_some_and(|s| list.contains(&s));
    let Some(obj) = body.as_object() else {
        return Some(format!("not an object: {body}"));
    };
    if obj.is_empty() {
        return Some("empty body".into());
    }
    for (k, v) in obj {
        let ok = match k.as_str() {
            "annotation" => one_of(v, GOOGLE_LABELS),
            "reasons" => v
                .as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(|r| one_of(r, GOOGLE_REASONS))),
            "accountId" => v.as_str().is_some_and(|s| !s.is_empty()),
            "hashedAccountId" => v.as_str().is_some_and(|s| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(s).is_ok()
            }),
            "transactionEvent" => v.as_object().is_some_and(|e| {
                e.iter().all(|(k, v)| match k.as_str() {
                    "eventType" => one_of(v, GOOGLE_EVENT_TYPES),
                    "reason" => v.is_string(),
                    "value" => v.is_number(),
                    "eventTime" => is_time(v),
                    _ => false,
                })
            }),
            "phoneAuthenticationEvent" => v.as_object().is_some_and(|e| {
                e.get("phoneNumber").is_some_and(|p| {
                    p.as_str().is_some_and(|p| {
                        p.starts_with('+') && p[1..].bytes().all(|b| b.is_ascii_digit())
                    })
                }) && e.iter().all(|(k, v)| match k.as_str() {
                    "phoneNumber" => true,
                    "eventTime" => is_time(v),
                    _ => false,
                })
            }),
            _ => false,
        };
        if !ok {
            return Some(format!("field {k:?} = {v}"));
        }
    }
    None
}

/// A JSON-form outcome, mostly valid, with every field sometimes wrong:
/// unknown names, wrong case, wrong types, bad times and bad base64.
fn json_outcome_strategy() -> impl Strategy<Value = Value> {
    let name = |list: &'static [&'static str]| {
        prop_oneof![
            4 => proptest::sample::select(list).prop_map(|s| json!(s)),
            1 => proptest::sample::select(list).prop_map(|s| json!(s.to_ascii_lowercase())),
            1 => "[A-Z_]{0,12}".prop_map(|s| json!(s)),
            1 => any::<i32>().prop_map(|n| json!(n)),
        ]
    };
    let time = prop_oneof![
        Just(json!("2026-11-22T10:00:00Z")),
        Just(json!("2026-11-22T10:00:00.123456789+02:00")),
        "[0-9T:Z-]{0,25}".prop_map(|s| json!(s)),
    ];
    let event = (
        proptest::option::of(name(GOOGLE_EVENT_TYPES)),
        proptest::option::of("[ -~]{0,20}"),
        proptest::option::of(prop_oneof![
            any::<f64>().prop_map(|v| json!(v)),
            Just(json!("12"))
        ]),
        proptest::option::of(time.clone()),
        proptest::option::of("[a-z]{1,8}"),
    )
        .prop_map(|(t, r, v, e, unknown)| {
            let mut m = serde_json::Map::new();
            t.map(|t| m.insert("eventType".into(), t));
            r.map(|r| m.insert("reason".into(), json!(r)));
            v.map(|v| m.insert("value".into(), v));
            e.map(|e| m.insert("eventTime".into(), e));
            unknown.map(|u| m.insert(u, json!(1)));
            Value::Object(m)
        });
    let phone = (
        proptest::option::of(prop_oneof!["\\+[0-9]{6,15}", "[+0-9 a-z]{0,12}"]),
        proptest::option::of(time),
    )
        .prop_map(|(p, t)| {
            let mut m = serde_json::Map::new();
            p.map(|p| m.insert("phoneNumber".into(), json!(p)));
            t.map(|t| m.insert("eventTime".into(), t));
            Value::Object(m)
        });
    (
        proptest::option::of(name(GOOGLE_LABELS)),
        proptest::option::of(proptest::collection::vec(name(GOOGLE_REASONS), 0..4)),
        proptest::option::of("[ -~]{0,30}"),
        proptest::option::of(prop_oneof!["[A-Za-z0-9+/]{4,44}={0,2}", "[ -~]{0,20}"]),
        proptest::option::of(event),
        proptest::option::of(phone),
        proptest::option::of(prop_oneof![id_strategy(), "[ -~]{0,20}"]),
    )
        .prop_map(
            |(label, reasons, account, hashed, event, phone, assessment)| {
                let mut m = serde_json::Map::new();
                label.map(|v| m.insert("annotation".into(), v));
                reasons.map(|v| m.insert("reasons".into(), Value::Array(v)));
                account.map(|v| m.insert("accountId".into(), json!(v)));
                hashed.map(|v| m.insert("hashedAccountId".into(), json!(v)));
                event.map(|v| m.insert("transactionEvent".into(), v));
                phone.map(|v| m.insert("phoneAuthenticationEvent".into(), v));
                assessment.map(|v| m.insert("assessment".into(), json!(v)));
                Value::Object(m)
            },
        )
}

/// `http(s)://host[:port][/path]`, sometimes invalid.
fn api_base_strategy() -> impl Strategy<Value = String> {
    "(https|HTTPS|http|ftp)://([a-z0-9.-]{1,12}|127\\.0\\.0\\.1|localhost|\\[::1\\])(:[0-9]{1,6})?(/[a-z0-9._~-]{0,6}){0,2}/?"
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
    fn outcome_parsing_never_panics_and_every_accepted_body_is_googles_shape(header in ".*") {
        if let Ok(o) = outcome::parse_header(&header) {
            let body: Value = serde_json::from_str(&o.annotation.to_json()).unwrap();
            prop_assert_eq!(google_schema_violation(&body), None, "from {:?}", header);
        }
    }

    #[test]
    fn json_looking_input_never_panics(header in r#"\{[ -~]{0,200}\}?"#) {
        let _ = outcome::parse_header(&header);
    }

    #[test]
    fn the_short_form_round_trips_in_any_case_and_spacing(
        label in proptest::option::of(proptest::sample::select(Label::ALL.to_vec())),
        reasons in proptest::sample::subsequence(Reason::ALL.to_vec(), 0..=4),
        account in proptest::option::of(".{1,24}"),
        assessment in proptest::option::of(id_strategy()),
        seed in any::<u64>(),
        pad in "[ \t]{0,2}",
    ) {
        prop_assume!(label.is_some() || !reasons.is_empty() || account.is_some());
        let contradicts = |(a, b): &(Reason, Reason)| reasons.contains(a) && reasons.contains(b);
        prop_assume!(!recaptcha_annotate_edge::outcome::annotation::CONTRADICTIONS.iter().any(contradicts));
        let mut parts = Vec::new();
        if let Some(l) = label { parts.push(scramble_case(l.as_str(), seed)); }
        if !reasons.is_empty() {
            let names: Vec<_> = reasons.iter().map(|r| r.as_str()).collect();
            parts.push(format!("{}={pad}{}", scramble_case("REASONS", seed), scramble_case(&names.join(&format!("{pad},{pad}")), seed.rotate_left(7))));
        }
        if let Some(a) = &assessment { parts.push(format!("Assessment={a}")); }
        // Any account ID, written as encodeURIComponent writes it, last.
        let encoded = account.as_deref().map(|a| percent_encoding::utf8_percent_encode(a, percent_encoding::NON_ALPHANUMERIC).to_string());
        if let Some(a) = &encoded { parts.push(format!("account-id={pad}{a}")); }
        let header = parts.join(&format!("{pad};{pad}"));

        let o = outcome::parse_header(&header).unwrap();
        prop_assert_eq!(o.annotation.label, label);
        prop_assert_eq!(o.annotation.reasons, reasons);
        prop_assert_eq!(o.annotation.account_id, account);
        prop_assert_eq!(o.assessment.map(|a| a.to_string()), assessment);
    }

    #[test]
    fn text_inside_an_account_id_never_becomes_another_parameter(
        user in "([a-zA-Z0-9 ;,=%]|assessment=bc304e08a0000000|reasons=REFUND|FRAUDULENT|%3B|%25|%2C){0,8}",
    ) {
        // What an origin writing `account-id=${user}` without encoding sends.
        if let Ok(o) = outcome::parse_header(&format!("LEGITIMATE; account-id={user}")) {
            prop_assert_eq!(o.assessment, None, "from {:?}", user);
            prop_assert_eq!(o.annotation.reasons, vec![], "from {:?}", user);
            prop_assert_eq!(o.annotation.label, Some(Label::Legitimate));
        }
    }

    #[test]
    fn every_accepted_json_outcome_serializes_to_a_body_google_accepts(outcome in json_outcome_strategy()) {
        if let Ok(o) = outcome::parse_header(&outcome.to_string()) {
            let body: Value = serde_json::from_str(&o.annotation.to_json()).unwrap();
            prop_assert_eq!(google_schema_violation(&body), None, "from {}", outcome);
        }
    }

    #[test]
    fn every_accepted_short_outcome_serializes_to_a_body_google_accepts(header in "[A-Za-z_ ;,=@.0-9-]{0,80}") {
        if let Ok(o) = outcome::parse_header(&header) {
            let body: Value = serde_json::from_str(&o.annotation.to_json()).unwrap();
            prop_assert_eq!(google_schema_violation(&body), None, "from {:?}", header);
        }
    }

    #[test]
    fn an_amount_is_a_finite_json_number_kept_verbatim(text in r"-?[0-9]{0,3}(\.[0-9]{0,3})?([eE][+-]?[0-9]{0,4})?|[ -~]{0,12}") {
        if let Some(a) = Amount::parse(&text) {
            prop_assert_eq!(a.as_str(), text.as_str());
            prop_assert!(serde_json::from_str::<Value>(&text).is_ok_and(|v| v.is_number()), "{}", text);
            prop_assert!(text.parse::<f64>().is_ok_and(f64::is_finite), "{}", text);
        } else if let Ok(v) = text.parse::<f64>() {
            // Refused only if it is not JSON's grammar or is too large.
            let json = serde_json::from_str::<Value>(&text).is_ok_and(|v| v.is_number());
            prop_assert!(!json || v.abs() >= 1e308, "{} refused", text);
        }
    }

    #[test]
    fn batch_parsing_never_panics_and_accepts_only_valid_ids(
        items in proptest::collection::vec(prop_oneof![
            json_outcome_strategy().prop_map(|v| v.to_string()),
            id_strategy().prop_map(|id| format!(r#"{{"assessment":"{id}","annotation":"LEGITIMATE"}}"#)),
            ".{0,40}",
        ], 0..20),
        ndjson in any::<bool>(),
    ) {
        let (body, format) = if ndjson {
            (items.join("\n"), Format::Ndjson)
        } else {
            (format!("[{}]", items.join(",")), Format::Json)
        };
        if let Ok((accepted, _rejected)) = batch::parse(&body, format) {
            for a in accepted {
                prop_assert!(AssessmentId::parse(a.assessment.as_str()).is_some());
                let body: Value = serde_json::from_str(&a.annotation.to_json()).unwrap();
                prop_assert_eq!(google_schema_violation(&body), None);
            }
        }
    }

    #[test]
    fn an_annotate_url_holds_only_the_configured_base_project_id_and_key(
        base in api_base_strategy(),
        project in prop_oneof!["[a-z][a-z0-9-]{4,28}[a-z0-9]", "[a-z.]{3,10}:[a-z0-9:._-]{1,20}", ".{1,30}"],
        key in prop_oneof!["[!-~]{1,60}", ".{1,50}"],
        id in id_strategy(),
    ) {
        let c = Config::parse(|name| match name {
            "RECAPTCHA_API_BASE" => Some(base.clone()),
            "RECAPTCHA_PROJECT_ID" => Some(project.clone()),
            "RECAPTCHA_API_KEY" => Some(key.clone()),
            _ => None,
        });
        let Ok(api) = &c.api else { return Ok(()) };
        let url = api.annotate_url(&AssessmentId::parse(&id).unwrap());
        // The base as configured (scheme lower-cased, trailing slashes dropped) ...
        let (scheme, rest) = base.split_once("://").unwrap();
        let expected_base = format!("{}://{}", scheme.to_ascii_lowercase(), rest.trim_end_matches('/'));
        let tail = url.strip_prefix(&expected_base).expect("the URL starts with the configured base");
        // ... then exactly one path and one query parameter, both encoded.
        let tail = tail.strip_prefix("/v1/projects/").unwrap();
        let (enc_project, tail) = tail.split_once("/assessments/").unwrap();
        let (got_id, enc_key) = tail.split_once(":annotate?key=").unwrap();
        prop_assert_eq!(got_id, id.as_str());
        for part in [enc_project, enc_key] {
            prop_assert!(part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'%' || b == b'-' || b == b'.' || b == b'_' || b == b'~'), "{}", part);
        }
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8().unwrap().into_owned();
        prop_assert_eq!(decode(enc_project), project);
        prop_assert_eq!(decode(enc_key), key);
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
