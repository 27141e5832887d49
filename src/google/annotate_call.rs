//! One annotate call as data: the request to send and how to read the reply.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};

use crate::google::service_account::ServiceAccountAuth;
use crate::outcome::annotation::Annotation;
use crate::request::assessment_id::AssessmentId;

pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// Everything but RFC 3986 unreserved characters is escaped.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What proves who sends the annotate call.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// `RECAPTCHA_API_KEY`, sent as `?key=`.
    ApiKey(String),
    /// `GOOGLE_SERVICE_ACCOUNT_KEY`: a bearer token in `Authorization`.
    ServiceAccount(Box<ServiceAccountAuth>),
}

/// Where annotate calls go, and with which credential. `Debug` never shows
/// a key.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiTarget {
    base: String,
    project: String,
    pub credential: Credential,
}

impl ApiTarget {
    /// A validated base URL (no trailing slash), project and credential.
    pub(crate) fn new(base: String, project: String, credential: Credential) -> Self {
        Self {
            base,
            project,
            credential,
        }
    }

    /// `{base}/v1/projects/{project}/assessments/{id}:annotate`, with
    /// `?key={key}` for an API key; project and key percent-encoded, the ID
    /// valid by construction.
    pub fn annotate_url(&self, id: &AssessmentId) -> String {
        let project = utf8_percent_encode(&self.project, COMPONENT);
        let url = format!(
            "{}/v1/projects/{project}/assessments/{id}:annotate",
            self.base
        );
        match &self.credential {
            Credential::ApiKey(key) => format!("{url}?key={}", utf8_percent_encode(key, COMPONENT)),
            Credential::ServiceAccount(_) => url,
        }
    }

    /// The API base URL, validated (no user info, query or key).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The Google Cloud project ID or number.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// `api_key` or `service_account`: which kind of credential, never its value.
    pub fn credential_kind(&self) -> &'static str {
        match self.credential {
            Credential::ApiKey(_) => "api_key",
            Credential::ServiceAccount(_) => "service_account",
        }
    }

    /// The service account, when calls carry a bearer token.
    pub fn service_account(&self) -> Option<&ServiceAccountAuth> {
        match &self.credential {
            Credential::ServiceAccount(sa) => Some(sa),
            Credential::ApiKey(_) => None,
        }
    }

    /// Removes credentials from text about to be logged: the key, raw and
    /// percent-encoded (a runtime error may quote the request URL), and
    /// anything shaped like a bearer token (a JWT, a Google access token).
    pub fn scrub(&self, text: &str) -> String {
        let text = match &self.credential {
            Credential::ApiKey(key) => {
                let encoded = utf8_percent_encode(key, COMPONENT).to_string();
                text.replace(&encoded, "[redacted]")
                    .replace(key, "[redacted]")
            }
            Credential::ServiceAccount(_) => text.to_owned(),
        };
        redact_bearer_tokens(&text)
    }
}

/// Replaces each word that starts like a JWT (`eyJ`) or a Google access
/// token (`ya29.`) with `[redacted]`.
pub(crate) fn redact_bearer_tokens(text: &str) -> String {
    if !text.contains("eyJ") && !text.contains("ya29.") {
        return text.to_owned();
    }
    let token_char = |c: char| c.is_ascii_alphanumeric() || "-_.~+/=".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = [rest.find("eyJ"), rest.find("ya29.")]
        .into_iter()
        .flatten()
        .min()
    {
        out.push_str(&rest[..start]);
        out.push_str("[redacted]");
        let end = rest[start..]
            .find(|c| !token_char(c))
            .map_or(rest.len(), |n| start + n);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

impl std::fmt::Debug for ApiTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let credential = match &self.credential {
            Credential::ApiKey(_) => "api key <redacted>".to_owned(),
            Credential::ServiceAccount(sa) => format!("{:?}", sa.account),
        };
        f.debug_struct("ApiTarget")
            .field("base", &self.base)
            .field("project", &self.project)
            .field("credential", &credential)
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
/// ([`ApiTarget::scrub`], then [`crate::redact::snippet_n`]).
pub fn parse_google_error(body: &str) -> Option<GoogleError> {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: GoogleError,
    }
    Some(serde_json::from_str::<ErrorBody>(body).ok()?.error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    #[test]
    fn scrubbing_removes_the_raw_and_the_encoded_key() {
        let api = ApiTarget::new(
            "https://g".into(),
            "p".into(),
            Credential::ApiKey("a+b".into()),
        );
        assert_eq!(
            api.scrub("GET /x?key=a%2Bb failed; key a+b"),
            "GET /x?key=[redacted] failed; key [redacted]"
        );
        assert_eq!(
            api.scrub("Bearer ya29.a0Af-x_y, jwt eyJhbGc.eyJpc3M.sig-_ end"),
            "Bearer [redacted], jwt [redacted] end"
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
