//! Contract vectors of `tests/contract.rs`, which runs in the host tier and,
//! compiled to wasm, in the browser tier: the same inputs must give the same
//! outputs whether the core runs natively or as wasm in a browser engine.

#![allow(dead_code)]

use recaptcha_annotate_edge::config::Config;
use recaptcha_annotate_edge::delivery::retry::RetryPolicy;
use recaptcha_annotate_edge::google::annotate_call::AnnotateRequest;
use recaptcha_annotate_edge::outcome;
use recaptcha_annotate_edge::request::assessment_id::AssessmentId;
use recaptcha_annotate_edge::request::token_sources::{select, TokenRequest};

/// Without site keys, the default `TOKEN_SOURCES`: (token header, cookie
/// header, expected ID). Different tokens name no assessment.
pub const EXTRACTION: &[(Option<&str>, Option<&str>, Option<&str>)] = &[
    (
        Some("03AFcWeA-x_y:U=bc304e08a0000000"),
        None,
        Some("bc304e08a0000000"),
    ),
    (
        None,
        Some("recaptcha-cf-t=aGk:U=6ZZZZe73fZZZZZZ0"),
        Some("6ZZZZe73fZZZZZZ0"),
    ),
    (
        None,
        Some("a=b; recaptcha-ca-e=aGk%3AU%3D0123456789abcdef"),
        Some("0123456789abcdef"),
    ),
    (
        None,
        Some("recaptcha-cf-t=t:U=tttttttttttttttt; recaptcha-cf-e=e:U=eeeeeeeeeeeeeeee"),
        None,
    ),
    (
        Some("x:U=hhhhhhhhhhhhhhhh"),
        Some("recaptcha-cf-e=e:U=eeeeeeeeeeeeeeee"),
        None,
    ),
    (
        Some("x:U=short"),
        Some("recaptcha-fastly-t=t:U=tttttttttttttttt"),
        None,
    ),
    (
        Some("x:U=hhhhhhhhhhhhhhhh"),
        Some("recaptcha-cf-t=x:U=hhhhhhhhhhhhhhhh"),
        Some("hhhhhhhhhhhhhhhh"),
    ),
    (Some("x:U=0123456789abcde"), None, None),
    (Some("x:U=0123456789abcdef0"), None, None),
    (Some("x:U=../../../../../."), None, None),
    (Some("x:U=0123456789abcd?f"), None, None),
    (Some("x:U=0123456789abcd#f"), None, None),
    (Some("x:U=01234567%2Fabcdef"), None, None),
    (Some("x:U=0123456789abcdé"), None, None),
    (
        None,
        Some("recaptcha-cf-t=x%253AU%253D0123456789abcdef"),
        None,
    ),
    (
        None,
        Some("recaptcha-cf-t=%FF%3AU%3D0123456789abcdef"),
        None,
    ),
    (None, Some("session=x:U=0123456789abcdef"), None),
];

/// (method, token header, cookie header, expected ID)
pub type GoogleVector = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

/// With Google's WAF worker's action, challenge-page and session site keys:
/// its choice exactly.
pub const GOOGLE_EXTRACTION: &[GoogleVector] = &[
    (
        "GET",
        Some("x:U=hhhhhhhhhhhhhhhh"),
        Some("recaptcha-cf-e=e:U=eeeeeeeeeeeeeeee"),
        Some("hhhhhhhhhhhhhhhh"),
    ),
    (
        "GET",
        Some(""),
        Some("recaptcha-cf-t=t:U=tttttttttttttttt; recaptcha-cf-e=e:U=eeeeeeeeeeeeeeee"),
        Some("eeeeeeeeeeeeeeee"),
    ),
    (
        "POST",
        None,
        Some("recaptcha-cf-t=f%3AU%3Dffffffffffffffff; recaptcha-cf-t=t:U=tttttttttttttttt"),
        Some("tttttttttttttttt"),
    ),
    (
        "GET",
        None,
        Some("recaptcha-cf-t=t:U=tttttttttttttttt; recaptcha-ab-t=junk"),
        None,
    ),
    (
        "GET",
        None,
        Some("recaptcha-cf-t=t:U=tttttttttttttttt; recaptcha-ab-t="),
        Some("tttttttttttttttt"),
    ),
    (
        "GET",
        None,
        Some("recaptcha-x.y-e=a=b:U=eeeeeeeeeeeeeeee"),
        Some("eeeeeeeeeeeeeeee"),
    ),
    (
        "GET",
        None,
        Some("recaptcha-a/b-e=e:U=eeeeeeeeeeeeeeee"),
        None,
    ),
];

/// (outcome header, expected body or `Err(())`, expected assessment override)
pub const OUTCOMES: &[(&str, Result<&str, ()>, Option<&str>)] = &[
    (
        "FRAUDULENT; reasons=INCORRECT_PASSWORD",
        Ok(r#"{"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"]}"#),
        None,
    ),
    (
        "legitimate;reasons=correct_password,passed_two_factor;account-id=u-42",
        Ok(
            r#"{"annotation":"LEGITIMATE","reasons":["CORRECT_PASSWORD","PASSED_TWO_FACTOR"],"accountId":"u-42"}"#,
        ),
        None,
    ),
    (
        "reasons=PASSED_TWO_FACTOR",
        Ok(r#"{"reasons":["PASSED_TWO_FACTOR"]}"#),
        None,
    ),
    (
        "LEGITIMATE; assessment=0123456789abcdef",
        Ok(r#"{"annotation":"LEGITIMATE"}"#),
        Some("0123456789abcdef"),
    ),
    (
        r#"{"annotation":"FRAUDULENT","transactionEvent":{"eventType":"CHARGEBACK","value":0.1,"eventTime":"2026-11-01T10:00:00Z"},"assessment":"0123456789abcdef"}"#,
        Ok(
            r#"{"annotation":"FRAUDULENT","transactionEvent":{"eventType":"CHARGEBACK","value":0.1,"eventTime":"2026-11-01T10:00:00Z"}}"#,
        ),
        Some("0123456789abcdef"),
    ),
    (
        r#"{"hashedAccountId":"3q2-7w","phoneAuthenticationEvent":{"phoneNumber":"+15551234567"}}"#,
        Ok(
            r#"{"hashedAccountId":"3q2+7w==","phoneAuthenticationEvent":{"phoneNumber":"+15551234567"}}"#,
        ),
        None,
    ),
    ("PASSWORD_CORRECT", Err(()), None),
    ("LEGITIMATE; reason=CHARGEBACK", Err(()), None),
    ("LEGITIMATE; reasons=NOPE", Err(()), None),
    (r#"{"annotation":"LEGITIMATE","reason":"X"}"#, Err(()), None),
    (r#"{"reasons":"CHARGEBACK"}"#, Err(()), None),
    ("assessment=0123456789abcdef", Err(()), None),
    ("", Err(()), None),
];

pub fn check_extraction() {
    let config = Config::parse(|_| None);
    for (header, cookie, want) in EXTRACTION {
        let request = TokenRequest {
            method: "GET",
            header: *header,
            cookie: *cookie,
        };
        let got = select(&config.token_rules, &request).id();
        assert_eq!(
            got.as_ref().map(AssessmentId::as_str),
            *want,
            "{header:?} {cookie:?}"
        );
    }
    let keys = [
        "ACTION_SITE_KEY",
        "CHALLENGE_PAGE_SITE_KEY",
        "SESSION_SITE_KEY",
    ];
    let google = Config::parse(|var| keys.contains(&var).then(|| "k".to_owned()));
    for (method, header, cookie, want) in GOOGLE_EXTRACTION {
        let request = TokenRequest {
            method,
            header: *header,
            cookie: *cookie,
        };
        let got = select(&google.token_rules, &request).id();
        assert_eq!(
            got.as_ref().map(AssessmentId::as_str),
            *want,
            "{method} {header:?} {cookie:?}"
        );
    }
}

pub fn check_outcomes() {
    for (header, want, override_id) in OUTCOMES {
        match (outcome::parse_header(header), want) {
            (Ok(o), Ok(body)) => {
                assert_eq!(o.annotation.to_json(), *body, "{header}");
                assert_eq!(
                    o.assessment.as_ref().map(AssessmentId::as_str),
                    *override_id
                );
            }
            (Err(_), Err(())) => {}
            (got, _) => panic!("{header:?}: got {got:?}, want {want:?}"),
        }
    }
}

pub fn check_annotate_request() {
    let config = Config::parse(|name| match name {
        "RECAPTCHA_PROJECT_ID" => Some("my-project".into()),
        "RECAPTCHA_API_KEY" => Some("k+y/1".into()),
        _ => None,
    });
    let api = config.api.expect("valid config");
    let id = AssessmentId::parse("bc304e08a0000000").unwrap();
    let o = outcome::parse_header("FRAUDULENT; reasons=INCORRECT_PASSWORD").unwrap();
    let req = AnnotateRequest::new(&api, &id, &o.annotation);
    assert_eq!(
        req.url,
        "https://recaptchaenterprise.googleapis.com/v1/projects/my-project/assessments/bc304e08a0000000:annotate?key=k%2By%2F1"
    );
    assert_eq!(
        req.body,
        r#"{"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"]}"#
    );
}

pub fn check_retry_schedule() {
    let p = RetryPolicy::default();
    assert_eq!(p.next_delay(1, 0, None, 0.5), Some(125));
    assert_eq!(p.next_delay(3, 0, Some(3_000), 0.5), Some(3_000));
    assert_eq!(p.next_delay(2, 19_500, None, 0.0), None);
}
