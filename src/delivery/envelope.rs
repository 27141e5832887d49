//! The queue message: one annotation, versioned, self-validating.
//!
//! It holds what delivery needs and nothing secret: no API key, no token.
//! A consumer re-validates the body through the JSON outcome parser, so a
//! message that was tampered with or written by another version can never
//! put an unvalidated value into a request.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::delivery::dedup::AnnotationKey;
use crate::outcome;
use crate::outcome::annotation::Annotation;
use crate::request::assessment_id::AssessmentId;

pub const VERSION: u32 = 1;
/// `QUEUE_MAX_ATTEMPTS` is at most 100; anything far above is not ours.
const MAX_ATTEMPTS_FIELD: u32 = 1_000;
/// Most times one message is sent to the dead-letter queue. A replay can
/// fail again, so more than once is normal; without a bound, a consumer of
/// the dead-letter queue that takes it for the main queue (a misnamed
/// `DEAD_LETTER_QUEUE`) would send every final failure to itself forever.
pub const MAX_DEAD_LETTERS: u32 = 3;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Format version; a consumer refuses versions it does not know.
    pub v: u32,
    pub assessment: AssessmentId,
    /// The annotate body exactly as it is sent (Google's JSON names), kept
    /// as raw JSON text and parsed only by the outcome parser.
    pub annotation: Box<RawValue>,
    /// Same assessment and body give the same key (see [`AnnotationKey`]).
    pub idempotency_key: String,
    /// Delivery attempts made before this message was (re-)enqueued.
    pub attempts: u32,
    /// When the worker first saw the outcome, in ms since the Unix epoch.
    pub first_seen_ms: u64,
    /// Set when the message was sent to the dead-letter queue: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Times the message was sent to the dead-letter queue.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dead_letters: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Why a message could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("not an annotation message: {0}")]
    Shape(String),
    #[error("unknown message version {0} (this worker reads {VERSION})")]
    Version(u32),
    #[error("annotation in message is invalid: {0}")]
    Annotation(String),
}

impl Envelope {
    pub fn new(assessment: AssessmentId, annotation: &Annotation, now_ms: u64) -> Self {
        Self {
            v: VERSION,
            assessment,
            // Our serializer's output is valid JSON; were it not, the default
            // (`null`) would be refused by every consumer, never sent.
            annotation: RawValue::from_string(annotation.to_json()).unwrap_or_default(),
            idempotency_key: AnnotationKey::new(&assessment, annotation).to_hex(),
            attempts: 0,
            first_seen_ms: now_ms,
            last_error: None,
            dead_letters: 0,
        }
    }

    /// Whether the message may go to the dead-letter queue once more.
    pub fn may_dead_letter(&self) -> bool {
        self.dead_letters < MAX_DEAD_LETTERS
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a message body, checking version and re-validating the annotation.
    pub fn decode(text: &str) -> Result<(Envelope, Annotation), EnvelopeError> {
        // serde may quote the offending value: keep a short, token-free snippet.
        let envelope: Envelope = serde_json::from_str(text)
            .map_err(|e| EnvelopeError::Shape(crate::redact::snippet_n(&e.to_string(), 160)))?;
        if envelope.v != VERSION {
            return Err(EnvelopeError::Version(envelope.v));
        }
        if envelope.attempts > MAX_ATTEMPTS_FIELD {
            return Err(EnvelopeError::Shape(format!(
                "attempts {} is more than any queue policy allows",
                envelope.attempts
            )));
        }
        let body = envelope.annotation.get();
        if !body.trim_start().starts_with('{') {
            return Err(EnvelopeError::Annotation("not a JSON object".into()));
        }
        let parsed =
            outcome::parse_stored(body).map_err(|e| EnvelopeError::Annotation(e.to_string()))?;
        if parsed.assessment.is_some() {
            return Err(EnvelopeError::Annotation(
                "assessment belongs in the envelope, not the body".into(),
            ));
        }
        Ok((envelope, parsed.annotation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;
    use serde_json::{json, Value};

    fn sample() -> (AssessmentId, Annotation) {
        let o = outcome::parse_header("FRAUDULENT; reasons=INCORRECT_PASSWORD; account-id=u-1")
            .unwrap();
        (
            AssessmentId::parse("bc304e08a0000000").unwrap(),
            o.annotation,
        )
    }

    fn as_value(e: &Envelope) -> Value {
        serde_json::from_str(&e.to_json()).unwrap()
    }

    #[test]
    fn a_message_whose_account_holds_u_fffd_is_still_valid_when_consumed() {
        // Accepted at the front door (escaped in a header, raw in a batch
        // item), so the consumer must not refuse it as undecodable bytes.
        let id = AssessmentId::parse("bc304e08a0000000").unwrap();
        let header = outcome::parse_header(r#"{"annotation":"LEGITIMATE","accountId":"u\ufffd"}"#);
        let item = outcome::parse_batch_item(
            "{\"annotation\":\"LEGITIMATE\",\"accountId\":\"u\u{FFFD}\"}",
        );
        for a in [header.unwrap().annotation, item.unwrap().0.annotation] {
            let text = Envelope::new(id, &a, 0).to_json();
            assert_eq!(Envelope::decode(&text).map(|(_, back)| back), Ok(a));
        }
    }

    #[test]
    fn a_message_round_trips_and_holds_no_secret() {
        let (id, a) = sample();
        let env = Envelope::new(id, &a, 1_700_000_000_000);
        let text = env.to_json();
        assert!(!text.contains("key="));
        let (back, annotation) = Envelope::decode(&text).unwrap();
        assert_eq!(back.to_json(), text);
        assert_eq!(annotation, a);
        assert_eq!(
            as_value(&env)["annotation"],
            json!({"annotation":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"],"accountId":"u-1"})
        );
        assert_eq!(
            as_value(&env)["idempotency_key"].as_str().unwrap().len(),
            16
        );
    }

    #[test]
    fn a_message_is_dead_lettered_a_bounded_number_of_times() {
        let (id, a) = sample();
        let mut env = Envelope::new(id, &a, 0);
        let mut sends = 0;
        while env.may_dead_letter() {
            env.dead_letters += 1;
            sends += 1;
            let (back, _) = Envelope::decode(&env.to_json()).unwrap();
            env = back;
        }
        assert_eq!(sends, MAX_DEAD_LETTERS);
        assert!(!Envelope::new(id, &a, 0).to_json().contains("dead_letters"));
    }

    #[test]
    fn unknown_versions_and_shapes_are_refused() {
        let (id, a) = sample();
        let mut v = as_value(&Envelope::new(id, &a, 0));
        v["v"] = json!(2);
        assert_eq!(
            Envelope::decode(&v.to_string()).unwrap_err(),
            EnvelopeError::Version(2)
        );
        v["v"] = json!(1);
        v["extra"] = json!(true);
        assert!(matches!(
            Envelope::decode(&v.to_string()),
            Err(EnvelopeError::Shape(_))
        ));
        assert!(matches!(
            Envelope::decode("\"junk\""),
            Err(EnvelopeError::Shape(_))
        ));
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let (id, a) = sample();
        let mut v = as_value(&Envelope::new(id, &a, 0));
        v["annotation"]["reason"] = json!("X");
        assert!(matches!(
            Envelope::decode(&v.to_string()),
            Err(EnvelopeError::Annotation(_))
        ));
        v["annotation"] = json!({"annotation": "LEGITIMATE", "assessment": "bc304e08a0000001"});
        assert!(matches!(
            Envelope::decode(&v.to_string()),
            Err(EnvelopeError::Annotation(_))
        ));
        v["annotation"] = json!([1]);
        assert!(matches!(
            Envelope::decode(&v.to_string()),
            Err(EnvelopeError::Annotation(_))
        ));
        let mut v = as_value(&Envelope::new(id, &a, 0));
        v["assessment"] = json!("../../x");
        assert!(matches!(
            Envelope::decode(&v.to_string()),
            Err(EnvelopeError::Shape(_))
        ));
    }
}
