//! The origin's outcome header: what happened, in one of two forms.
//!
//! The first non-space character picks the form: `{` is the JSON form
//! ([`json_form`]), anything else the short form ([`short_form`]).

pub mod annotation;
pub mod cache;

mod json_form;
pub mod rules;
mod short_form;

use crate::error::OutcomeError;
use crate::outcome::annotation::Annotation;
use crate::request::assessment_id::AssessmentId;

/// Longest outcome accepted, applied both to the text as it arrives and to
/// the annotate body made of it: the body is what a queue message stores and
/// the consumer re-checks, so whatever is accepted can be delivered. Real
/// outcomes are well under 1 KiB.
pub const MAX_LEN: usize = 8 * 1024;

/// A parsed, validated outcome: the body to send and, optionally, the
/// assessment to send it for (otherwise the one found in the request).
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub assessment: Option<AssessmentId>,
    pub annotation: Annotation,
}

/// Parses an outcome header value, as the runtime decoded it from the
/// origin's bytes. Rejects it as a whole on any error.
pub fn parse_header(value: &str) -> Result<Outcome, OutcomeError> {
    fits(value)?;
    // The runtime turns header bytes that are not UTF-8 into U+FFFD, so
    // `u\xff` and `u\xfe` would both reach Google as one account. A
    // character the origin meant is written as the JSON escape `\ufffd`.
    if value.contains(char::REPLACEMENT_CHARACTER) {
        return Err(OutcomeError::NotUtf8);
    }
    parse_fitting(value)
}

/// Outcome text no longer than [`MAX_LEN`], whichever form it is in.
fn fits(value: &str) -> Result<(), OutcomeError> {
    if value.len() > MAX_LEN {
        return Err(OutcomeError::TooLong {
            len: value.len(),
            max: MAX_LEN,
        });
    }
    Ok(())
}

/// Parses outcome text whose characters are its writer's own: a queued body,
/// re-validated by the consumer. The rules of [`parse_header`] but the one about
/// header bytes: a body may hold a U+FFFD the origin wrote escaped, or a batch
/// item one in its (UTF-8 checked) request body.
pub fn parse_stored(value: &str) -> Result<Outcome, OutcomeError> {
    fits(value)?;
    parse_fitting(value)
}

/// Either form, of text that [`fits`].
fn parse_fitting(value: &str) -> Result<Outcome, OutcomeError> {
    let trimmed = value.trim_matches(|c: char| c == ' ' || c == '\t');
    let outcome = if trimmed.is_empty() {
        return Err(OutcomeError::Empty);
    } else if trimmed.starts_with('{') {
        json_form::parse(trimmed)?
    } else {
        short_form::parse(trimmed)?
    };
    deliverable(outcome)
}

/// A batch item: the JSON form, plus an optional `token` to take the
/// assessment ID from. Returned alongside, never validated here.
pub fn parse_batch_item(value: &str) -> Result<(Outcome, Option<String>), OutcomeError> {
    fits(value)?;
    let trimmed = value.trim();
    if !trimmed.starts_with('{') {
        return Err(OutcomeError::Json("item is not a JSON object".into()));
    }
    let (outcome, token) = json_form::parse_with_token(trimmed)?;
    Ok((deliverable(outcome)?, token))
}

/// An outcome with something to send, that does not contradict itself, and
/// whose annotate body fits [`MAX_LEN`] (escaping can make it longer than the
/// text it came from). Every form passes here: header, batch item, queued body.
fn deliverable(outcome: Outcome) -> Result<Outcome, OutcomeError> {
    if outcome.annotation.is_empty() {
        return Err(OutcomeError::NothingToSend);
    }
    if let Some((a, b)) = outcome.annotation.contradiction() {
        return Err(OutcomeError::Contradiction(a.as_str(), b.as_str()));
    }
    let len = outcome.annotation.to_json().len();
    if len > MAX_LEN {
        return Err(OutcomeError::BodyTooLong { len, max: MAX_LEN });
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    #[test]
    fn the_first_non_space_character_picks_the_form() {
        let json = parse_header(r#"  {"annotation":"LEGITIMATE"}"#).unwrap();
        let short = parse_header("  legitimate").unwrap();
        assert_eq!(json, short);
    }

    #[test]
    fn a_token_is_only_accepted_in_batch_items() {
        let item = r#"{"token":"t:U=bc304e08a0000000","annotation":"LEGITIMATE"}"#;
        assert!(matches!(parse_header(item), Err(OutcomeError::Json(_))));
        let (o, token) = parse_batch_item(item).unwrap();
        assert_eq!(token.as_deref(), Some("t:U=bc304e08a0000000"));
        assert_eq!(o.annotation.to_json(), r#"{"annotation":"LEGITIMATE"}"#);
        assert!(parse_batch_item("7").is_err());
    }

    #[test]
    fn contradictory_reasons_are_refused_in_every_form() {
        for (a, b) in crate::outcome::annotation::CONTRADICTIONS {
            let (a, b) = (a.as_str(), b.as_str());
            let want = Err(OutcomeError::Contradiction(a, b));
            // Two header lines as the runtime joins them.
            let joined = format!("LEGITIMATE; reasons={a}, {b}");
            assert_eq!(parse_header(&joined), want, "{joined}");
            let json = format!(r#"{{"reasons":["{b}","{a}"]}}"#);
            assert_eq!(parse_header(&json), want, "{json}");
            assert_eq!(parse_stored(&json), want, "{json}");
            let item = format!(r#"{{"assessment":"bc304e08a0000000","reasons":["{a}","{b}"]}}"#);
            assert_eq!(
                parse_batch_item(&item).map(|_| ()),
                want.map(|_: Outcome| ())
            );
        }
        // Reasons that go together still do.
        assert!(parse_header("reasons=INITIATED_TWO_FACTOR, PASSED_TWO_FACTOR").is_ok());
    }

    #[test]
    fn headers_with_bytes_that_are_not_utf8_are_rejected() {
        for value in [
            "LEGITIMATE; account-id=u\u{FFFD}",
            "\u{FFFD}LEGITIMATE",
            "{\"annotation\":\"LEGITIMATE\",\"accountId\":\"u\u{FFFD}\"}",
        ] {
            assert_eq!(parse_header(value), Err(OutcomeError::NotUtf8), "{value}");
        }
        // An escaped U+FFFD is the origin's own choice, written in ASCII; the
        // body made of it holds the character, and is still valid as stored text.
        let escaped = parse_header(r#"{"annotation":"LEGITIMATE","accountId":"u\ufffd"}"#).unwrap();
        let body = escaped.annotation.to_json();
        assert!(body.contains(char::REPLACEMENT_CHARACTER));
        assert_eq!(parse_stored(&body), Ok(escaped));
    }

    #[test]
    fn an_outcome_whose_body_would_outgrow_the_limit_is_refused_at_the_door() {
        // 8,160 letters fit the header but not the body they become.
        let header = format!("LEGITIMATE; account-id={}", "a".repeat(8_160));
        assert!(header.len() <= MAX_LEN);
        assert!(matches!(
            parse_header(&header),
            Err(OutcomeError::BodyTooLong { .. })
        ));
        // Just under: accepted, and its body passes the consumer's check.
        let fits = format!("LEGITIMATE; account-id={}", "a".repeat(8_100));
        let body = parse_header(&fits).unwrap().annotation.to_json();
        assert!(parse_stored(&body).is_ok());
    }

    #[test]
    fn oversized_and_empty_headers_are_rejected() {
        let long = format!("LEGITIMATE;account-id={}", "a".repeat(MAX_LEN));
        assert!(matches!(
            parse_header(&long),
            Err(OutcomeError::TooLong { .. })
        ));
        assert_eq!(parse_header("   "), Err(OutcomeError::Empty));
    }
}
