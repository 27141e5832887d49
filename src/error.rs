//! Every way input can be refused, as values with the context a log needs.
//!
//! Messages quote at most a short, sanitised snippet of the offending input
//! (see [`crate::redact::snippet`]) and never a token or the API key.

use thiserror::Error;

/// Why an outcome header was rejected (no annotation is sent).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OutcomeError {
    #[error("outcome is {len} bytes, more than the {max} allowed")]
    TooLong { len: usize, max: usize },
    #[error("the annotate body would be {len} bytes, more than the {max} allowed")]
    BodyTooLong { len: usize, max: usize },
    #[error("outcome header is empty")]
    Empty,
    #[error("outcome has bytes that are not UTF-8 (the runtime shows them as U+FFFD): it cannot be sent as the origin wrote it")]
    NotUtf8,
    #[error("unknown label {0:?} (expected LEGITIMATE or FRAUDULENT)")]
    UnknownLabel(String),
    #[error("label {0} is deprecated: send a label with reasons=CORRECT_PASSWORD or reasons=INCORRECT_PASSWORD instead")]
    DeprecatedLabel(String),
    #[error("more than one label")]
    DuplicateLabel,
    #[error("the label must come first, before any parameter")]
    LabelAfterParameters,
    #[error("unknown parameter {0:?} (expected reasons, account-id or assessment)")]
    UnknownParameter(String),
    #[error("parameter {0} given more than once")]
    DuplicateParameter(&'static str),
    #[error("parameter {0} has an empty value")]
    EmptyValue(&'static str),
    #[error("{param} has a raw {separator:?}: percent-encode values (a raw comma is also what a header sent twice looks like)")]
    RawSeparator {
        param: &'static str,
        separator: char,
    },
    #[error("{0} has a '%' that is not followed by two hex digits: percent-encode values")]
    BadPercentEscape(&'static str),
    #[error("{0} is not UTF-8 once percent-decoded")]
    DecodedNotUtf8(&'static str),
    #[error("reasons {0} and {1} contradict each other (two outcome headers joined into one?)")]
    Contradiction(&'static str, &'static str),
    #[error("unknown reason {0:?}")]
    UnknownReason(String),
    #[error("assessment must be exactly 16 ASCII letters or digits")]
    InvalidAssessment,
    #[error("nothing to send: no label, reasons, account or event")]
    NothingToSend,
    #[error("invalid JSON outcome: {0}")]
    Json(String),
    #[error("invalid {field}: {why}")]
    InvalidField { field: &'static str, why: String },
}

impl OutcomeError {
    /// The rule the outcome broke, as a stable name for logs and metrics
    /// (the message may quote the origin's text; this never does).
    pub fn code(&self) -> &'static str {
        match self {
            OutcomeError::TooLong { .. } => "too_long",
            OutcomeError::BodyTooLong { .. } => "body_too_long",
            OutcomeError::Empty => "empty",
            OutcomeError::NotUtf8 => "not_utf8",
            OutcomeError::UnknownLabel(_) => "unknown_label",
            OutcomeError::DeprecatedLabel(_) => "deprecated_label",
            OutcomeError::DuplicateLabel => "duplicate_label",
            OutcomeError::LabelAfterParameters => "label_after_parameters",
            OutcomeError::UnknownParameter(_) => "unknown_parameter",
            OutcomeError::DuplicateParameter(_) => "duplicate_parameter",
            OutcomeError::EmptyValue(_) => "empty_value",
            OutcomeError::RawSeparator { .. } => "raw_separator",
            OutcomeError::BadPercentEscape(_) => "bad_percent_escape",
            OutcomeError::DecodedNotUtf8(_) => "decoded_not_utf8",
            OutcomeError::Contradiction(..) => "contradiction",
            OutcomeError::UnknownReason(_) => "unknown_reason",
            OutcomeError::InvalidAssessment => "invalid_assessment",
            OutcomeError::NothingToSend => "nothing_to_send",
            OutcomeError::Json(_) => "invalid_json",
            OutcomeError::InvalidField { .. } => "invalid_field",
        }
    }
}

/// A configuration variable that is missing or invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{var}: {why}")]
pub struct ConfigError {
    pub var: &'static str,
    pub why: String,
}

impl ConfigError {
    pub fn new(var: &'static str, why: impl Into<String>) -> Self {
        Self {
            var,
            why: why.into(),
        }
    }
}
