//! One annotate call as data: the request to send and how to read the reply.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};

use crate::annotation::Annotation;
use crate::assessment_id::AssessmentId;

pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// Everything but RFC 3986 unreserved characters is escaped.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where annotate calls go. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiTarget {
    base: String,
    project: String,
    key: String,
}

impl ApiTarget {
    /// A validated base URL (no trailing slash), project and key.
    pub(crate) fn new(base: String, project: String, key: String) -> Self {
        Self { base, project, key }
    }

    /// `{base}/v1/projects/{project}/assessments/{id}:annotate?key={key}`,
    /// with project and key percent-encoded and the ID valid by construction.
    pub fn annotate_url(&self, id: &AssessmentId) -> String {
        format!(
            "{}/v1/projects/{}/assessments/{}:annotate?key={}",
            self.base,
            utf8_percent_encode(&self.project, COMPONENT),
            id,
            utf8_percent_encode(&self.key, COMPONENT),
        )
    }

    /// Removes the key, raw and percent-encoded, from text about to be
    /// logged (a runtime error message may quote the request URL).
    pub fn scrub(&self, text: &str) -> String {
        let encoded = utf8_percent_encode(&self.key, COMPONENT).to_string();
        text.replace(&encoded, "[redacted]")
            .replace(&self.key, "[redacted]")
    }
}

impl std::fmt::Debug for ApiTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiTarget")
            .field("base", &self.base)
            .field("project", &self.project)
            .field("key", &"<redacted>")
            .finish()
    }
}

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
/// Its text is as Google sent it: scrub it before shortening it
/// ([`ApiTarget::scrub`], then [`crate::error::snippet_n`]).
pub fn parse_google_error(body: &str) -> Option<GoogleError> {
    #[derive(Deserialize)]
    struct Envelope {
        error: GoogleError,
    }
    Some(serde_json::from_str::<Envelope>(body).ok()?.error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubbing_removes_the_raw_and_the_encoded_key() {
        let api = ApiTarget::new("https://g".into(), "p".into(), "a+b".into());
        assert_eq!(
            api.scrub("GET /x?key=a%2Bb failed; key a+b"),
            "GET /x?key=[redacted] failed; key [redacted]"
        );
        assert!(!format!("{api:?}").contains("a+b"));
    }

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
