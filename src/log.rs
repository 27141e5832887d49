//! The worker's log events: one JSON object each, logged as an object.
//!
//! The types here hold no token and no key, so no log line can carry one.

use serde::Serialize;

use crate::delivery::result::{DeliveryResult, Mode};
use crate::error::{ConfigError, OutcomeError};
use crate::google::annotate_call::{ApiTarget, GoogleError};
use crate::outcome::annotation::{Label, Reason};
use crate::outcome::rules::AccountKind;
use crate::request::assessment_id::AssessmentId;
use crate::request::hop::Hop;
use crate::request::token_sources::{Missing, RejectedToken};

/// Severity, least to most: `LOG_LEVEL` drops the events below it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Debug,
    /// `LOG_LEVEL`'s default (the configuration table says why).
    #[default]
    Info,
    Warn,
    Error,
}

impl Level {
    /// `debug`, `info`, `warn` or `error`, in any case.
    pub fn parse(name: &str) -> Option<Level> {
        [Level::Debug, Level::Info, Level::Warn, Level::Error]
            .into_iter()
            .find(|l| name.eq_ignore_ascii_case(l.name()))
    }

    pub fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Why a valid outcome could not be sent. Logged as its text; [`Self::code`]
/// names it in metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// No `assessment=` in the outcome, and the request names no assessment:
    /// why not.
    NoAssessmentId(Missing),
    /// The API settings are invalid, so annotation is off.
    ConfigInvalid,
}

impl DropReason {
    pub fn text(self) -> &'static str {
        match self {
            DropReason::NoAssessmentId(why) => why.reason(),
            DropReason::ConfigInvalid => "annotation disabled: configuration invalid",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            DropReason::NoAssessmentId(_) => "no_assessment_id",
            DropReason::ConfigInvalid => "config_invalid",
        }
    }
}

impl Serialize for DropReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.text())
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// An annotation ended (delivered, rejected or given up on).
    Annotation {
        assessment: AssessmentId,
        #[serde(skip_serializing_if = "Option::is_none")]
        label: Option<Label>,
        reasons: Vec<Reason>,
        result: DeliveryResult,
        /// Last HTTP status, absent when the last attempt had none.
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        attempts: u32,
        ms: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<GoogleError>,
        /// Last network error, scrubbed of the key.
        #[serde(skip_serializing_if = "Option::is_none")]
        network_error: Option<String>,
        /// Why the last attempt had no bearer token, scrubbed.
        #[serde(skip_serializing_if = "Option::is_none")]
        auth_error: Option<String>,
        mode: Mode,
        /// The message went to the dead-letter queue for inspection and replay.
        #[serde(skip_serializing_if = "is_false")]
        dead_lettered: bool,
    },
    /// Identical to an annotation sent for the same assessment in the last
    /// 10 minutes in this isolate: not sent again.
    AnnotationSuppressed {
        assessment: AssessmentId,
        idempotency_key: String,
    },
    /// Queue mode: handed to the queue.
    AnnotationEnqueued {
        assessment: AssessmentId,
        idempotency_key: String,
    },
    /// Queue mode: a transient failure, enqueued again with a delay.
    AnnotationRetrying {
        assessment: AssessmentId,
        attempts: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        delay_seconds: u32,
    },
    /// The queue could not take a message; it is sent directly instead.
    EnqueueFailed { error: String },
    /// Queue mode: the consumer cannot deliver (its configuration is
    /// invalid), so the whole batch goes back to the platform's retries.
    QueueBatchRetried { config_errors: Vec<String> },
    /// A final failure not dead-lettered again: the message has been sent
    /// there [`crate::delivery::envelope::MAX_DEAD_LETTERS`] times already.
    DeadLetterLimit {
        assessment: AssessmentId,
        dead_letters: u32,
    },
    /// A queue message that is not a valid annotation envelope.
    QueueMessageInvalid { error: String, dead_lettered: bool },
    /// The batch endpoint took a request.
    BatchReceived {
        accepted: usize,
        rejected: usize,
        mode: Mode,
    },
    /// The origin's outcome header did not parse: nothing sent. `kind`
    /// names the rule it broke ([`OutcomeError::code`]).
    OutcomeRejected {
        header: String,
        kind: &'static str,
        reason: String,
    },
    /// A valid outcome that cannot be sent: no assessment ID, or no API config.
    OutcomeDropped {
        reason: DropReason,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tokens_rejected: Vec<RejectedToken>,
        /// Sources passed over beyond those listed.
        #[serde(skip_serializing_if = "is_zero")]
        tokens_unlisted: usize,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        config_errors: Vec<String>,
    },
    /// An outcome on a response served from a cache (`CF-Cache-Status`,
    /// `Age`): the origin wrote it for another request, so it is removed
    /// and not annotated.
    OutcomeFromCache {
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_status: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        age: Option<String>,
    },
    /// Which credential annotate calls carry, once per isolate, whatever
    /// `LOG_LEVEL` (never the key itself).
    CredentialInUse {
        kind: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_email: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        auth_mode: Option<&'static str>,
    },
    /// A service-account token could not be had (the exchange failed or
    /// the key was refused); the annotations waiting for it are retried.
    AuthFailed {
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        error: String,
        auth_mode: &'static str,
    },
    /// Configuration problems, once per isolate.
    ConfigInvalid {
        errors: Vec<String>,
        annotate_enabled: bool,
    },
    /// The origin, or the Worker bound as `UPSTREAM`, gave no response (the
    /// fetch failed or that Worker threw); the client got a 502.
    OriginUnreachable { via: Hop, error: String },
    /// The origin answered with a status no response can carry; the client got a 502.
    OriginInvalidStatus { status: u16 },
    /// A runtime call failed inside the worker itself; the client got a 500.
    WorkerError { error: String },
    /// An outcome rule matched a response that had no outcome header; its
    /// outcome goes on as a header's would.
    OutcomeFromRule {
        rule: String,
        /// The request's assessment, which the outcome annotates (absent:
        /// no token; an `outcome_dropped` line follows).
        #[serde(skip_serializing_if = "Option::is_none")]
        assessment: Option<AssessmentId>,
        status: u16,
        /// Where the account came from, when one is sent.
        #[serde(skip_serializing_if = "Option::is_none")]
        account: Option<AccountKind>,
        /// Why the rule's account is not sent.
        #[serde(skip_serializing_if = "Option::is_none")]
        account_missing: Option<String>,
    },
    /// An outcome rule matched but sends nothing: `kind` (`from_cache`,
    /// `outcome_refused`) and `reason`.
    RuleNotApplied {
        rule: String,
        kind: &'static str,
        reason: String,
    },
    /// `ANNOTATION_METRICS` refused a data point (once per isolate); the
    /// request and the annotation are unaffected.
    MetricsFailed { error: String },
}

impl Event {
    pub fn outcome_rejected(header: &str, e: &OutcomeError) -> Self {
        Event::OutcomeRejected {
            header: header.to_owned(),
            kind: e.code(),
            reason: e.to_string(),
        }
    }

    /// Names the credential's kind and, for a service account, its email
    /// and mode: never a key or token.
    pub fn credential_in_use(api: &ApiTarget) -> Self {
        let sa = api.service_account();
        Event::CredentialInUse {
            kind: api.credential_kind(),
            client_email: sa.map(|sa| sa.account.client_email.clone()),
            auth_mode: sa.map(|sa| sa.mode.name()),
        }
    }

    pub fn config_invalid(errors: &[ConfigError], annotate_enabled: bool) -> Self {
        Event::ConfigInvalid {
            errors: errors.iter().map(ToString::to_string).collect(),
            annotate_enabled,
        }
    }

    pub fn level(&self) -> Level {
        match self {
            Event::AnnotationSuppressed { .. }
            | Event::AnnotationEnqueued { .. }
            | Event::AnnotationRetrying { .. } => Level::Debug,
            Event::Annotation {
                result: DeliveryResult::Delivered,
                ..
            }
            | Event::BatchReceived { .. }
            | Event::OutcomeFromRule { .. }
            | Event::CredentialInUse { .. } => Level::Info,
            Event::Annotation { .. }
            | Event::OutcomeRejected { .. }
            | Event::RuleNotApplied { .. }
            | Event::OutcomeDropped { .. }
            | Event::OutcomeFromCache { .. } => Level::Warn,
            Event::EnqueueFailed { .. }
            | Event::AuthFailed { .. }
            | Event::MetricsFailed { .. } => Level::Warn,
            Event::ConfigInvalid { .. }
            | Event::OriginUnreachable { .. }
            | Event::OriginInvalidStatus { .. }
            | Event::QueueMessageInvalid { .. }
            | Event::QueueBatchRetried { .. }
            | Event::DeadLetterLimit { .. }
            | Event::WorkerError { .. } => Level::Error,
        }
    }

    /// The line to log: `{"level":…,"event":…,…}`.
    pub fn to_line(&self) -> String {
        #[derive(Serialize)]
        struct Line<'a> {
            level: Level,
            #[serde(flatten)]
            event: &'a Event,
        }
        serde_json::to_string(&Line {
            level: self.level(),
            event: self,
        })
        .unwrap_or_else(|_| String::from(r#"{"level":"error","event":"log_failed"}"#))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    #[test]
    fn a_delivered_annotation_is_one_json_line_with_every_field() {
        let line = Event::Annotation {
            assessment: AssessmentId::parse("bc304e08a0000000").unwrap(),
            label: Some(Label::Fraudulent),
            reasons: vec![Reason::IncorrectPassword],
            result: DeliveryResult::Delivered,
            status: Some(200),
            attempts: 2,
            ms: 431,
            error: None,
            network_error: None,
            auth_error: None,
            mode: Mode::Direct,
            dead_lettered: false,
        }
        .to_line();
        assert_eq!(
            line,
            r#"{"level":"info","event":"annotation","assessment":"bc304e08a0000000","label":"FRAUDULENT","reasons":["INCORRECT_PASSWORD"],"result":"delivered","status":200,"attempts":2,"ms":431,"mode":"direct"}"#
        );
    }

    #[test]
    fn a_rejected_outcome_names_the_header_and_why() {
        let e = crate::outcome::parse_header("MAYBE").unwrap_err();
        let line = Event::outcome_rejected("X-Recaptcha-Outcome", &e).to_line();
        assert!(line.contains(r#""event":"outcome_rejected""#));
        assert!(line.contains("unknown label"));
        assert!(!line.contains('\n'));
    }

    #[test]
    fn an_unreachable_origin_names_the_hop_that_gave_no_response() {
        let line = |via| {
            Event::OriginUnreachable {
                via,
                error: "Network connection lost.".into(),
            }
            .to_line()
        };
        assert_eq!(
            line(Hop::Upstream),
            r#"{"level":"error","event":"origin_unreachable","via":"UPSTREAM","error":"Network connection lost."}"#
        );
        assert!(line(Hop::Origin).contains(r#""via":"origin""#));
    }
}
