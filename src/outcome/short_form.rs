//! `LABEL; reasons=R1,R2; account-id=…; assessment=…`
//!
//! Parts are separated by `;`, whitespace around parts and values is ignored,
//! names and enum values are case-insensitive, empty parts are skipped.

use super::Outcome;
use crate::annotation::{Annotation, Label, Reason, DEPRECATED_LABELS};
use crate::assessment_id::AssessmentId;
use crate::error::{looks_like_token, snippet, OutcomeError};

pub(super) fn parse(value: &str) -> Result<Outcome, OutcomeError> {
    let mut annotation = Annotation::default();
    let mut assessment = None;
    let mut seen_reasons = false;

    for part in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, raw)) = part.split_once('=') else {
            if annotation.label.is_some() {
                return Err(OutcomeError::DuplicateLabel);
            }
            annotation.label = Some(label(part)?);
            continue;
        };
        let name = name.trim();
        let raw = raw.trim();
        if name.eq_ignore_ascii_case("reasons") {
            if std::mem::replace(&mut seen_reasons, true) {
                return Err(OutcomeError::DuplicateParameter("reasons"));
            }
            for r in non_empty("reasons", raw)?.split(',').map(str::trim) {
                let reason = Reason::from_name_ignore_case(r)
                    .ok_or_else(|| OutcomeError::UnknownReason(snippet(r)))?;
                annotation.push_reason(reason);
            }
        } else if name.eq_ignore_ascii_case("account-id") {
            let id = non_empty("account-id", raw)?;
            // A comma here is what an origin sending the header twice looks
            // like once the runtime joins the values with ", ".
            if id.contains(',') {
                return Err(OutcomeError::CommaInAccountId);
            }
            if annotation.account_id.replace(id.to_owned()).is_some() {
                return Err(OutcomeError::DuplicateParameter("account-id"));
            }
        } else if name.eq_ignore_ascii_case("assessment") {
            let id = AssessmentId::parse(raw).ok_or(OutcomeError::InvalidAssessment)?;
            if assessment.replace(id).is_some() {
                return Err(OutcomeError::DuplicateParameter("assessment"));
            }
        } else {
            // The whole part decides: a token cut at its `:U=` leaves no
            // marker in `name`, only the token's body.
            let shown = if looks_like_token(part) { part } else { name };
            return Err(OutcomeError::UnknownParameter(snippet(shown)));
        }
    }
    Ok(Outcome {
        assessment,
        annotation,
    })
}

fn label(word: &str) -> Result<Label, OutcomeError> {
    if let Some(label) = Label::from_name_ignore_case(word) {
        return Ok(label);
    }
    match DEPRECATED_LABELS
        .iter()
        .find(|d| d.eq_ignore_ascii_case(word))
    {
        Some(d) => Err(OutcomeError::DeprecatedLabel((*d).to_owned())),
        None => Err(OutcomeError::UnknownLabel(snippet(word))),
    }
}

fn non_empty<'a>(param: &'static str, raw: &'a str) -> Result<&'a str, OutcomeError> {
    if raw.is_empty() {
        Err(OutcomeError::EmptyValue(param))
    } else {
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse_header;
    use super::*;
    use crate::testing::test;

    fn ok(s: &str) -> Outcome {
        parse_header(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn a_token_in_place_of_a_label_or_parameter_is_never_quoted() {
        let raw = "03AFcWeA-tokenbody0123456789:U=abcdef0123456789";
        let encoded = "03AFcWeA-tokenbody0123456789%3AU%3Dabcdef0123456789";
        for header in [
            format!("LEGITIMATE; {raw}"),
            raw.to_owned(),
            encoded.to_owned(),
        ] {
            let e = parse_header(&header).unwrap_err().to_string();
            assert!(!e.contains("tokenbody"), "{e}");
            assert!(e.contains("redacted"), "{e}");
        }
    }

    #[test]
    fn label_and_reasons_from_the_readme_example() {
        let o = ok("FRAUDULENT; reasons=INCORRECT_PASSWORD");
        assert_eq!(o.annotation.label, Some(Label::Fraudulent));
        assert_eq!(o.annotation.reasons, vec![Reason::IncorrectPassword]);
        assert_eq!(o.assessment, None);
    }

    #[test]
    fn names_and_values_are_case_insensitive_and_whitespace_is_ignored() {
        let o = ok("legitimate;reasons=correct_password,passed_two_factor;account-id=u-42");
        let p = ok(
            "  LEGITIMATE ;  REASONS = CORRECT_PASSWORD , Passed_Two_Factor ; Account-ID= u-42 ;",
        );
        assert_eq!(o, p);
        assert_eq!(o.annotation.account_id.as_deref(), Some("u-42"));
        assert_eq!(
            o.annotation.to_json(),
            r#"{"annotation":"LEGITIMATE","reasons":["CORRECT_PASSWORD","PASSED_TWO_FACTOR"],"accountId":"u-42"}"#
        );
    }

    #[test]
    fn reasons_without_a_label_are_enough() {
        let o = ok("reasons=PASSED_TWO_FACTOR");
        assert_eq!(o.annotation.label, None);
        assert_eq!(o.annotation.reasons, vec![Reason::PassedTwoFactor]);
    }

    #[test]
    fn assessment_parameter_overrides_the_request_id() {
        let o = ok("LEGITIMATE; assessment=bc304e08a0000000");
        assert_eq!(o.assessment.unwrap().as_str(), "bc304e08a0000000");
    }

    #[test]
    fn malformed_headers_are_rejected_with_a_reason() {
        use OutcomeError::*;
        let cases: &[(&str, OutcomeError)] = &[
            ("MAYBE", UnknownLabel("MAYBE".into())),
            (
                "PASSWORD_CORRECT",
                DeprecatedLabel("PASSWORD_CORRECT".into()),
            ),
            (
                "password_incorrect",
                DeprecatedLabel("PASSWORD_INCORRECT".into()),
            ),
            (
                "ANNOTATION_UNSPECIFIED",
                UnknownLabel("ANNOTATION_UNSPECIFIED".into()),
            ),
            ("LEGITIMATE; FRAUDULENT", DuplicateLabel),
            (
                "LEGITIMATE; reason=CHARGEBACK",
                UnknownParameter("reason".into()),
            ),
            ("LEGITIMATE; reasons=", EmptyValue("reasons")),
            ("LEGITIMATE; reasons=CHARGEBACK,", UnknownReason("".into())),
            ("LEGITIMATE; reasons=NOPE", UnknownReason("NOPE".into())),
            (
                "LEGITIMATE; reasons=REASON_UNSPECIFIED",
                UnknownReason("REASON_UNSPECIFIED".into()),
            ),
            (
                "reasons=REFUND; reasons=REFUND",
                DuplicateParameter("reasons"),
            ),
            ("LEGITIMATE; account-id=", EmptyValue("account-id")),
            ("LEGITIMATE; account-id=u-42, FRAUDULENT", CommaInAccountId),
            ("LEGITIMATE; assessment=abc", InvalidAssessment),
            (
                "LEGITIMATE; assessment=../../../../../../x",
                InvalidAssessment,
            ),
            ("assessment=bc304e08a0000000", NothingToSend),
            (";;", NothingToSend),
        ];
        for (header, want) in cases {
            assert_eq!(parse_header(header).as_ref(), Err(want), "{header:?}");
        }
    }
}
