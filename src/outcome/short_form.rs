//! `LABEL; reasons=R1,R2; assessment=…; account-id=…`
//!
//! Parts are separated by `;`, whitespace around parts and values is ignored,
//! names and enum values are case-insensitive, empty parts are skipped. The
//! label, if any, comes first. Values are percent-decoded, and a raw `,` or
//! `=` inside one is refused (a `,` between reasons is structure). The value
//! of `account-id`, the one free text, runs to the end of the header, so a
//! user name holding `; assessment=…` is refused whole rather than read as
//! a second parameter.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use super::Outcome;
use crate::error::OutcomeError;
use crate::outcome::annotation::{Annotation, Label, Reason, DEPRECATED_LABELS};
use crate::redact::{looks_like_token, snippet};
use crate::request::assessment_id::AssessmentId;

pub(super) fn parse(value: &str) -> Result<Outcome, OutcomeError> {
    let mut annotation = Annotation::default();
    let mut assessment = None;
    let mut seen_reasons = false;
    let mut seen_parameter = false;
    let mut rest = value;
    while !rest.is_empty() {
        let at = value.len() - rest.len();
        let (part, tail) = rest.split_once(';').unwrap_or((rest, ""));
        rest = tail;
        let Some((name, raw)) = part.split_once('=') else {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            if annotation.label.is_some() {
                return Err(OutcomeError::DuplicateLabel);
            }
            if seen_parameter {
                return Err(OutcomeError::LabelAfterParameters);
            }
            annotation.label = Some(label(part)?);
            continue;
        };
        seen_parameter = true;
        let value_at = at + name.len() + 1;
        let name = name.trim();
        if name.eq_ignore_ascii_case("reasons") {
            if std::mem::replace(&mut seen_reasons, true) {
                return Err(OutcomeError::DuplicateParameter("reasons"));
            }
            for r in non_empty("reasons", raw.trim())?.split(',') {
                let r = decode("reasons", r.trim())?;
                let reason = Reason::from_name_ignore_case(&r)
                    .ok_or_else(|| OutcomeError::UnknownReason(snippet(&r)))?;
                annotation.push_reason(reason);
            }
        } else if name.eq_ignore_ascii_case("account-id") {
            // The rest of the header, but for the `;` and spaces it may end with.
            let raw = value[value_at..].trim_end_matches([';', ' ', '\t']).trim();
            let id = decode("account-id", non_empty("account-id", raw)?)?;
            annotation.account_id = Some(id.into_owned());
            rest = "";
        } else if name.eq_ignore_ascii_case("assessment") {
            let raw = decode("assessment", raw.trim())?;
            let id = AssessmentId::parse(&raw).ok_or(OutcomeError::InvalidAssessment)?;
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

/// A value as the origin meant it: percent-decoded, refused if it holds a
/// raw separator (`;` cannot reach here but in `account-id`), a `%` that
/// starts no escape, or escapes that are not UTF-8.
fn decode<'a>(param: &'static str, raw: &'a str) -> Result<Cow<'a, str>, OutcomeError> {
    if let Some(separator) = raw.chars().find(|c| matches!(c, ';' | ',' | '=')) {
        return Err(OutcomeError::RawSeparator { param, separator });
    }
    let b = raw.as_bytes();
    let escapes_ok = b.iter().enumerate().all(|(i, &c)| {
        c != b'%' || (b.get(i + 1..i + 3)).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if !escapes_ok {
        return Err(OutcomeError::BadPercentEscape(param));
    }
    percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| OutcomeError::DecodedNotUtf8(param))
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
    fn text_inside_the_account_id_never_becomes_another_parameter() {
        use OutcomeError::*;
        let victim = "bc304e08a0000000";
        // What `account-id=${username}` makes of hostile user names.
        let cases: &[(&str, OutcomeError)] = &[
            (
                "x; assessment=bc304e08a0000000",
                RawSeparator {
                    param: "account-id",
                    separator: ';',
                },
            ),
            (
                "x;reasons=CHARGEBACK",
                RawSeparator {
                    param: "account-id",
                    separator: ';',
                },
            ),
            (
                "x; account-id=y",
                RawSeparator {
                    param: "account-id",
                    separator: ';',
                },
            ),
            (
                "x, FRAUDULENT",
                RawSeparator {
                    param: "account-id",
                    separator: ',',
                },
            ),
            (
                "a=b",
                RawSeparator {
                    param: "account-id",
                    separator: '=',
                },
            ),
            ("100%", BadPercentEscape("account-id")),
            ("%zz", BadPercentEscape("account-id")),
            ("%FF", DecodedNotUtf8("account-id")),
        ];
        for (name, want) in cases {
            let header = format!("LEGITIMATE; account-id={name}");
            assert_eq!(parse_header(&header).as_ref(), Err(want), "{header:?}");
        }
        // Percent-encoded (encodeURIComponent), the same name is the account.
        let hostile = format!("x; assessment={victim}, 100%");
        let encoded = hostile
            .replace('%', "%25")
            .replace(';', "%3B")
            .replace(' ', "%20")
            .replace('=', "%3D")
            .replace(',', "%2C");
        let o = ok(&format!("LEGITIMATE; account-id={encoded}"));
        assert_eq!(o.annotation.account_id.as_deref(), Some(hostile.as_str()));
        assert_eq!(o.assessment, None);
        // Trailing `;` and spaces end the header, not the value.
        for header in [
            "LEGITIMATE; account-id=u-42 ; ;",
            "account-id=u-42;",
            "account-id = u-42",
        ] {
            assert_eq!(ok(header).annotation.account_id.as_deref(), Some("u-42"));
        }
    }

    #[test]
    fn values_are_percent_decoded() {
        let o = ok("reasons=correct%5Fpassword; assessment=bc304e08a000000%30");
        assert_eq!(o.annotation.reasons, vec![Reason::CorrectPassword]);
        assert_eq!(o.assessment.unwrap().as_str(), "bc304e08a0000000");
        let o = ok("account-id=%C3%A9t%C3%A9%20%E2%82%AC");
        assert_eq!(o.annotation.account_id.as_deref(), Some("été €"));
        // U+FFFD the origin meant, written as its escape (raw, it is refused).
        let o = ok("account-id=u%EF%BF%BD");
        assert_eq!(o.annotation.account_id.as_deref(), Some("u\u{FFFD}"));
        assert_eq!(
            parse_header("reasons=CHARGEBACK%2CREFUND"),
            Err(OutcomeError::UnknownReason("CHARGEBACK,REFUND".into()))
        );
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
            (
                "LEGITIMATE; account-id=u-42, FRAUDULENT",
                RawSeparator {
                    param: "account-id",
                    separator: ',',
                },
            ),
            ("reasons=REFUND; LEGITIMATE", LabelAfterParameters),
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
