//! One annotate call as data: the request to send and how to read the reply.

use serde::{Deserialize, Serialize};

use crate::annotation::Annotation;
use crate::assessment_id::AssessmentId;
use crate::config::ApiTarget;

pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// Everything the shell needs to send one annotate call.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnotateRequest {
    pub url: String,
    pub body: String,
}

impl AnnotateRequest {
    pub fn new(api: &ApiTarget, id: &AssessmentId, annotation: &Annotation) -> Self {
        Self {
            url: api.annotate_url(id),
            body: annotation.to_json(),
        }
    }
}

/// Google's error body: `{"error":{"code":400,"message":"…","status":"INVALID_ARGUMENT"}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoogleError {
    #[serde(default)]
    pub code: u16,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub message: String,
}

/// Reads Google's error from a response body; `None` if it is not one.
/// The message is shortened so that one log line stays one line.
pub fn parse_google_error(body: &str) -> Option<GoogleError> {
    #[derive(Deserialize)]
    struct Envelope {
        error: GoogleError,
    }
    let mut e = serde_json::from_str::<Envelope>(body).ok()?.error;
    e.message = crate::error::snippet_n(&e.message, 300);
    e.status = crate::error::snippet_n(&e.status, 40);
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_errors_are_read_from_their_envelope() {
        let e = parse_google_error(
            r#"{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"reason\"","status":"INVALID_ARGUMENT"}}"#,
        )
        .unwrap();
        assert_eq!(e.code, 400);
        assert_eq!(e.status, "INVALID_ARGUMENT");
        assert!(e.message.starts_with("Invalid JSON payload"));
        assert_eq!(parse_google_error("<html>502</html>"), None);
    }
}
