//! `{"annotation":"FRAUDULENT","reasons":["CHARGEBACK"],"transactionEvent":{…}}`
//!
//! The annotate body's own JSON, plus an optional `assessment`. Like Google's
//! parser, it is strict: unknown fields, unknown enum names and wrong types
//! are errors, and enum names are case-sensitive.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::Outcome;
use crate::error::OutcomeError;
use crate::outcome::annotation::{
    is_e164, is_rfc3339, Amount, Annotation, Label, PhoneAuthenticationEvent, Reason,
    TransactionEvent, TransactionEventType, DEPRECATED_LABELS,
};
use crate::redact::snippet;
use crate::request::assessment_id::AssessmentId;
use base64::Engine as _;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Raw {
    annotation: Option<String>,
    reasons: Option<Vec<String>>,
    account_id: Option<String>,
    hashed_account_id: Option<String>,
    transaction_event: Option<RawTransactionEvent>,
    phone_authentication_event: Option<RawPhoneEvent>,
    assessment: Option<String>,
    /// Batch items only: a WAF token to take the assessment ID from.
    token: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawTransactionEvent {
    event_type: Option<String>,
    reason: Option<String>,
    /// Checked as a number in `transaction_event`, then kept as written.
    value: Option<Box<RawValue>>,
    event_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPhoneEvent {
    phone_number: Option<String>,
    event_time: Option<String>,
}

pub(super) fn parse(value: &str) -> Result<Outcome, OutcomeError> {
    match parse_with_token(value)? {
        (outcome, None) => Ok(outcome),
        (_, Some(_)) => Err(OutcomeError::Json(
            "unknown field `token` (tokens are read from the request, not the outcome)".into(),
        )),
    }
}

/// The JSON form plus an optional `token` (the batch endpoint's items).
pub(super) fn parse_with_token(value: &str) -> Result<(Outcome, Option<String>), OutcomeError> {
    // serde's messages can quote a value: cut to a snippet, which redacts tokens.
    let raw: Raw = serde_json::from_str(value)
        .map_err(|e| OutcomeError::Json(crate::redact::snippet_n(&e.to_string(), 160)))?;
    let mut annotation = Annotation {
        label: raw.annotation.as_deref().map(label).transpose()?,
        account_id: raw
            .account_id
            .map(|a| non_empty("accountId", a))
            .transpose()?,
        hashed_account_id: raw.hashed_account_id.map(|h| base64(&h)).transpose()?,
        transaction_event: raw.transaction_event.map(transaction_event).transpose()?,
        phone_authentication_event: raw.phone_authentication_event.map(phone).transpose()?,
        ..Default::default()
    };
    for r in raw.reasons.unwrap_or_default() {
        let reason =
            Reason::from_api_name(&r).ok_or_else(|| OutcomeError::UnknownReason(snippet(&r)))?;
        annotation.push_reason(reason);
    }
    let assessment = raw
        .assessment
        .map(|a| AssessmentId::parse(&a).ok_or(OutcomeError::InvalidAssessment))
        .transpose()?;
    Ok((
        Outcome {
            assessment,
            annotation,
        },
        raw.token,
    ))
}

fn label(name: &str) -> Result<Label, OutcomeError> {
    Label::from_api_name(name).ok_or_else(|| {
        if DEPRECATED_LABELS.contains(&name) {
            OutcomeError::DeprecatedLabel(name.to_owned())
        } else {
            OutcomeError::UnknownLabel(snippet(name))
        }
    })
}

fn invalid(field: &'static str, why: impl Into<String>) -> OutcomeError {
    OutcomeError::InvalidField {
        field,
        why: why.into(),
    }
}

fn non_empty(field: &'static str, s: String) -> Result<String, OutcomeError> {
    if s.is_empty() {
        Err(invalid(field, "empty string"))
    } else {
        Ok(s)
    }
}

/// Google accepts standard or URL-safe base64, padded or not; we send the
/// canonical standard, padded form.
fn base64(s: &str) -> Result<String, OutcomeError> {
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
    use base64::engine::DecodePaddingMode;
    let lenient =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, lenient);
    let url_safe = GeneralPurpose::new(&base64::alphabet::URL_SAFE, lenient);
    let bytes = standard
        .decode(s)
        .or_else(|_| url_safe.decode(s))
        .map_err(|e| invalid("hashedAccountId", format!("not base64 ({e})")))?;
    if bytes.is_empty() {
        return Err(invalid("hashedAccountId", "empty"));
    }
    Ok(STANDARD.encode(bytes))
}

fn time(field: &'static str, t: Option<String>) -> Result<Option<String>, OutcomeError> {
    match t {
        Some(t) if !is_rfc3339(&t) => Err(invalid(
            field,
            format!("{:?} is not an RFC 3339 timestamp", snippet(&t)),
        )),
        t => Ok(t),
    }
}

fn transaction_event(raw: RawTransactionEvent) -> Result<TransactionEvent, OutcomeError> {
    if raw.event_type.is_none()
        && raw.reason.is_none()
        && raw.value.is_none()
        && raw.event_time.is_none()
    {
        return Err(invalid("transactionEvent", "empty"));
    }
    let event_type = raw
        .event_type
        .map(|t| {
            TransactionEventType::from_api_name(&t).ok_or_else(|| {
                invalid(
                    "transactionEvent.eventType",
                    format!("unknown value {:?}", snippet(&t)),
                )
            })
        })
        .transpose()?;
    Ok(TransactionEvent {
        event_type,
        reason: raw.reason,
        value: raw
            .value
            .map(|v| {
                Amount::parse(v.get()).ok_or_else(|| {
                    invalid(
                        "transactionEvent.value",
                        format!("{} is not a finite number", snippet(v.get())),
                    )
                })
            })
            .transpose()?,
        event_time: time("transactionEvent.eventTime", raw.event_time)?,
    })
}

fn phone(raw: RawPhoneEvent) -> Result<PhoneAuthenticationEvent, OutcomeError> {
    let field = "phoneAuthenticationEvent.phoneNumber";
    let phone_number = raw.phone_number.ok_or_else(|| invalid(field, "required"))?;
    if !is_e164(&phone_number) {
        return Err(invalid(field, "not an E.164 number"));
    }
    Ok(PhoneAuthenticationEvent {
        phone_number,
        event_time: time("phoneAuthenticationEvent.eventTime", raw.event_time)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse_header;
    use super::*;
    use crate::testing::test;

    #[test]
    fn a_full_json_outcome_becomes_the_same_body_minus_assessment() {
        let header = r#"{"annotation":"FRAUDULENT","reasons":["CHARGEBACK","REFUND_FRAUD"],"accountId":"u-42","hashedAccountId":"3q2-7w","transactionEvent":{"eventType":"CHARGEBACK","reason":"6005","value":19.99,"eventTime":"2026-11-01T10:00:00Z"},"phoneAuthenticationEvent":{"phoneNumber":"+15551234567","eventTime":"2026-11-01T10:00:00.5+01:00"},"assessment":"bc304e08a0000000"}"#;
        let o = parse_header(header).unwrap();
        assert_eq!(o.assessment.unwrap().as_str(), "bc304e08a0000000");
        assert_eq!(
            o.annotation.to_json(),
            r#"{"annotation":"FRAUDULENT","reasons":["CHARGEBACK","REFUND_FRAUD"],"accountId":"u-42","hashedAccountId":"3q2+7w==","transactionEvent":{"eventType":"CHARGEBACK","reason":"6005","value":19.99,"eventTime":"2026-11-01T10:00:00Z"},"phoneAuthenticationEvent":{"phoneNumber":"+15551234567","eventTime":"2026-11-01T10:00:00.5+01:00"}}"#
        );
    }

    #[test]
    fn json_rejects_what_googles_parser_rejects() {
        for header in [
            r#"{"annotation":"LEGITIMATE","reason":"CHARGEBACK"}"#,
            r#"{"reasons":"CHARGEBACK"}"#,
            r#"{"annotation":"legitimate"}"#,
            r#"{"annotation":"ANNOTATION_UNSPECIFIED"}"#,
            r#"{"reasons":["REASON_UNSPECIFIED"]}"#,
            r#"{"transactionEvent":{"eventType":"TRANSACTION_EVENT_TYPE_UNSPECIFIED"}}"#,
            r#"{"transactionEvent":{"eventType":"CHARGEBACK","amount":3}}"#,
            r#"{"transactionEvent":{"eventTime":"yesterday"}}"#,
            r#"{"transactionEvent":{}}"#,
            r#"{"transactionEvent":{"value":"12"}}"#,
            r#"{"phoneAuthenticationEvent":{"eventTime":"2026-11-01T10:00:00Z"}}"#,
            r#"{"phoneAuthenticationEvent":{"phoneNumber":"555-1234"}}"#,
            r#"{"hashedAccountId":"not base64!"}"#,
            r#"{"accountId":""}"#,
            r#"{"annotation":"LEGITIMATE","assessment":"short"}"#,
            r#"{"annotation":"LEGITIMATE"} trailing"#,
            r#"{"annotation":"LEGITIMATE""#,
            r#"{}"#,
            r#"{"assessment":"bc304e08a0000000"}"#,
        ] {
            assert!(parse_header(header).is_err(), "{header}");
        }
    }

    #[test]
    fn a_token_quoted_in_a_json_error_is_redacted() {
        let err = parse_header(r#"{"reasons":"03AFcWeA:U=bc304e08a0000000"}"#).unwrap_err();
        assert!(!err.to_string().contains(":U="), "{err}");
    }

    #[test]
    fn deprecated_labels_get_a_hint() {
        let err = parse_header(r#"{"annotation":"PASSWORD_INCORRECT"}"#).unwrap_err();
        assert_eq!(
            err,
            OutcomeError::DeprecatedLabel("PASSWORD_INCORRECT".into())
        );
        assert!(err.to_string().contains("reasons=INCORRECT_PASSWORD"));
    }
}
