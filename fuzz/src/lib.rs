//! Invariants shared by the fuzz targets. Each one is something the crate
//! promises (see the module docs it cites), so a failed assert is a bug.

use recaptcha_annotate_edge::outcome::annotation::{is_e164, is_rfc3339, Annotation};
use recaptcha_annotate_edge::request::assessment_id::AssessmentId;
use recaptcha_annotate_edge::outcome::{self, Outcome};

/// Top-level fields of Google's `AnnotateAssessmentRequest` that we send.
const BODY_FIELDS: &[&str] = &[
    "annotation",
    "reasons",
    "accountId",
    "hashedAccountId",
    "transactionEvent",
    "phoneAuthenticationEvent",
];

/// The input as text: header values reach the core as `&str`, so non-UTF-8
/// input is not a case the core can see.
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// An ID is exactly 16 ASCII letters/digits (`^[A-Za-z0-9]{16}$`) and
/// survives its own parser unchanged.
pub fn check_id(id: &AssessmentId) {
    let s = id.as_str();
    assert_eq!(s.len(), 16, "{s:?}");
    assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()), "{s:?}");
    assert_eq!(AssessmentId::parse(s), Some(*id));
    assert_eq!(id.to_string(), s);
}

/// An accepted annotation is a non-empty body in Google's schema: the JSON
/// parses back, has only the request's field names, and every validated
/// field still holds what its validator demands.
pub fn check_annotation(a: &Annotation) {
    assert!(!a.is_empty(), "an empty annotation was accepted");
    let json = a.to_json();
    let body: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json} does not parse: {e}"));
    let obj = body.as_object().expect("body is a JSON object");
    assert!(!obj.is_empty(), "{json}");
    for key in obj.keys() {
        assert!(BODY_FIELDS.contains(&key.as_str()), "field {key} in {json}");
    }
    for (i, r) in a.reasons.iter().enumerate() {
        assert!(!a.reasons[..i].contains(r), "duplicate reason in {json}");
    }
    if let Some(account) = &a.account_id {
        assert!(!account.is_empty());
    }
    if let Some(h) = &a.hashed_account_id {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(h)
            .unwrap_or_else(|e| panic!("hashedAccountId {h:?} is not standard base64: {e}"));
        assert!(!bytes.is_empty());
        assert_eq!(
            &base64::engine::general_purpose::STANDARD.encode(bytes),
            h,
            "hashedAccountId is not canonical"
        );
    }
    if let Some(t) = &a.transaction_event {
        assert!(
            t.event_type.is_some()
                || t.reason.is_some()
                || t.value.is_some()
                || t.event_time.is_some(),
            "empty transactionEvent accepted"
        );
        if let Some(v) = &t.value {
            let n: f64 = v
                .as_str()
                .parse()
                .expect("transactionEvent.value is a number");
            assert!(n.is_finite(), "transactionEvent.value {v:?}");
        }
        if let Some(time) = &t.event_time {
            assert!(is_rfc3339(time), "{time:?}");
        }
    }
    if let Some(p) = &a.phone_authentication_event {
        assert!(is_e164(&p.phone_number), "{:?}", p.phone_number);
        if let Some(time) = &p.event_time {
            assert!(is_rfc3339(time), "{time:?}");
        }
    }
}

/// The body we would send, read back as the queue consumer re-validates it
/// (`outcome::parse_stored`), means the same annotation: nothing is lost or
/// changed on the way to Google, and no accepted outcome is refused later.
pub fn check_round_trip(a: &Annotation) {
    let json = a.to_json();
    match outcome::parse_stored(&json) {
        Ok(back) => assert_eq!(
            back,
            Outcome {
                assessment: None,
                annotation: a.clone(),
            },
            "{json} parses back differently"
        ),
        Err(e) => panic!("{json} is refused as an outcome: {e}"),
    }
}
