//! The late-annotation batch endpoint's body: a JSON array or NDJSON of
//! outcomes, each naming its assessment directly or through a WAF token.
//! Every item is validated on its own; one bad item never sinks the batch.
//! [`endpoint`] gives the verdict on a whole request.

pub mod endpoint;

use serde::Serialize;

use crate::outcome;
use crate::outcome::annotation::Annotation;
use crate::request::assessment_id::AssessmentId;

/// Most items per request.
pub const MAX_ITEMS: usize = 1000;
/// Largest body accepted: 1,000 items of about 1 KiB each.
pub const MAX_BYTES: usize = 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `application/json`: one array of items.
    Json,
    /// `application/x-ndjson` (or `application/jsonl`): one item per line.
    Ndjson,
}

impl Format {
    /// The format named by a `Content-Type`, parameters ignored.
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/json" => Some(Self::Json),
            "application/x-ndjson" | "application/ndjson" | "application/jsonl" => {
                Some(Self::Ndjson)
            }
            _ => None,
        }
    }
}

/// Why the whole request is refused (nothing is accepted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("unsupported content type: send application/json (an array) or application/x-ndjson")]
    UnsupportedContentType,
    #[error("body is over {MAX_BYTES} bytes")]
    TooLarge,
    #[error("{0} items; at most {MAX_ITEMS} per request")]
    TooManyItems(usize),
    #[error("body is not a JSON array of outcomes: {0}")]
    NotJson(String),
}

impl BatchError {
    pub fn status(&self) -> u16 {
        match self {
            BatchError::UnsupportedContentType => 415,
            BatchError::TooLarge | BatchError::TooManyItems(_) => 413,
            BatchError::NotJson(_) => 400,
        }
    }
}

/// One accepted item.
#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    pub index: usize,
    pub assessment: AssessmentId,
    pub annotation: Annotation,
}

/// One rejected item, as reported back to the caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RejectedItem {
    pub index: usize,
    pub error: String,
}

/// Splits a batch into accepted and rejected items.
pub fn parse(body: &str, format: Format) -> Result<(Vec<Accepted>, Vec<RejectedItem>), BatchError> {
    if body.len() > MAX_BYTES {
        return Err(BatchError::TooLarge);
    }
    // Items stay raw JSON text until each is parsed on its own; each keeps
    // its position: the array index, or the line (empty lines counted).
    let items: Vec<(usize, &str)> = match format {
        Format::Json => {
            let values: Vec<&serde_json::value::RawValue> =
                serde_json::from_str(body).map_err(not_an_array)?;
            values.into_iter().map(|v| v.get()).enumerate().collect()
        }
        Format::Ndjson => body
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .collect(),
    };
    if items.len() > MAX_ITEMS {
        return Err(BatchError::TooManyItems(items.len()));
    }
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    for (index, item) in items {
        match item_to_annotation(item) {
            Ok((assessment, annotation)) => accepted.push(Accepted {
                index,
                assessment,
                annotation,
            }),
            Err(error) => rejected.push(RejectedItem { index, error }),
        }
    }
    Ok((accepted, rejected))
}

/// Why a body is not an array, without quoting it: serde's message can
/// repeat a string it met (`invalid type: string "…:U=…"`), token included.
fn not_an_array(e: serde_json::Error) -> BatchError {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Data => "not an array of items",
        Category::Eof => "it ends too early",
        Category::Syntax | Category::Io => "invalid JSON",
    };
    BatchError::NotJson(format!("{what} (line {}, column {})", e.line(), e.column()))
}

/// An item is the JSON outcome form plus `assessment` or `token`.
fn item_to_annotation(item: &str) -> Result<(AssessmentId, Annotation), String> {
    let (parsed, token) = outcome::parse_batch_item(item).map_err(|e| e.to_string())?;
    let id = match (parsed.assessment, token) {
        (Some(_), Some(_)) => return Err("give assessment or token, not both".into()),
        (Some(id), None) => id,
        // The error never repeats the token.
        (None, Some(t)) => AssessmentId::from_token(&t)
            .ok_or("token has no assessment ID (16 letters/digits after its last :U=)")?,
        (None, None) => return Err("item needs an assessment or a token".into()),
    };
    Ok((id, parsed.annotation))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    const ID: &str = "bc304e08a0000000";

    #[test]
    fn content_types_pick_the_format() {
        assert_eq!(
            Format::from_content_type("application/json; charset=utf-8"),
            Some(Format::Json)
        );
        assert_eq!(
            Format::from_content_type("Application/X-NDJSON"),
            Some(Format::Ndjson)
        );
        assert_eq!(Format::from_content_type("text/plain"), None);
    }

    #[test]
    fn a_mixed_batch_accepts_each_valid_item_and_reports_each_invalid_one() {
        let body = format!(
            r#"[{{"assessment":"{ID}","annotation":"FRAUDULENT","reasons":["CHARGEBACK"]}},
                {{"token":"abc:U={ID}","reasons":["REFUND"]}},
                {{"assessment":"short","annotation":"LEGITIMATE"}},
                {{"annotation":"LEGITIMATE"}},
                {{"token":"no-id-here","annotation":"LEGITIMATE"}},
                {{"assessment":"{ID}","token":"abc:U={ID}","annotation":"LEGITIMATE"}},
                {{"assessment":"{ID}","reason":"X"}},
                7]"#
        );
        let (ok, bad) = parse(&body, Format::Json).unwrap();
        assert_eq!(ok.iter().map(|a| a.index).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(ok[1].annotation.to_json(), r#"{"reasons":["REFUND"]}"#);
        assert_eq!(
            bad.iter().map(|r| r.index).collect::<Vec<_>>(),
            vec![2, 3, 4, 5, 6, 7]
        );
        assert!(bad.iter().all(|r| !r.error.contains("abc:U=")));
    }

    #[test]
    fn ndjson_reports_bad_lines_per_item() {
        let body =
            format!("{{\"assessment\":\"{ID}\",\"annotation\":\"LEGITIMATE\"}}\n\nnot json\n");
        let (ok, bad) = parse(&body, Format::Ndjson).unwrap();
        assert_eq!(ok.len(), 1);
        assert_eq!(
            bad[0].index, 2,
            "the index is the line's, empty lines counted"
        );
    }

    #[test]
    fn a_body_that_is_not_an_array_is_refused_without_being_quoted() {
        let token = r#""03AFcWeA:U=bc304e08a0000000""#;
        let e = parse(token, Format::Json).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(!e.to_string().contains(":U="), "{e}");
        assert!(!e.to_string().contains("03AF"), "{e}");
    }

    #[test]
    fn whole_body_errors_map_to_http_statuses() {
        assert_eq!(parse("{", Format::Json).unwrap_err().status(), 400);
        assert_eq!(parse("{}", Format::Json).unwrap_err().status(), 400);
        let many = format!("[{}]", vec!["1"; MAX_ITEMS + 1].join(","));
        assert_eq!(
            parse(&many, Format::Json).unwrap_err(),
            BatchError::TooManyItems(MAX_ITEMS + 1)
        );
        let huge = " ".repeat(MAX_BYTES + 1);
        assert_eq!(parse(&huge, Format::Json).unwrap_err().status(), 413);
        assert_eq!(BatchError::UnsupportedContentType.status(), 415);
    }
}
