//! One annotation on its way to Google: what an attempt's answer means, what
//! to do next in each mode, and the log line when it ends.
//!
//! The runtime shell performs the attempts, waits and queue sends; every
//! decision about them is made here.

pub mod dedup;
pub mod envelope;
pub mod plan;
pub mod result;
pub mod retry;

use crate::delivery::result::{DeliveryResult, Mode};
use crate::delivery::retry::{disposition, Disposition, QueueAction, QueuePolicy, RetryPolicy};
use crate::google::annotate_call::{parse_google_error, AnnotateRequest, ApiTarget, GoogleError};
use crate::google::service_account::token::AuthFailure;
use crate::log::Event;
use crate::outcome::annotation::Annotation;
use crate::redact::snippet_n;
use crate::request::assessment_id::AssessmentId;

pub mod queue;

/// What one annotate call produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attempt {
    /// `None` when no response came (network error or timeout).
    pub status: Option<u16>,
    /// The response's `Retry-After`, in ms.
    pub retry_after_ms: Option<u64>,
    /// The (capped) body of a failed response; empty on success.
    pub body: String,
    pub network_error: Option<String>,
    /// No call was made: no bearer token could be had.
    pub auth_failure: Option<AuthFailure>,
}

/// Direct mode's next step after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Wait this many ms, then attempt again.
    RetryIn(u64),
    Done(DeliveryResult),
}

impl Attempt {
    pub fn answered(status: u16, retry_after_ms: Option<u64>, body: String) -> Self {
        Attempt {
            status: Some(status),
            retry_after_ms,
            body,
            ..Attempt::default()
        }
    }

    pub fn failed(network_error: String) -> Self {
        Attempt {
            network_error: Some(network_error),
            ..Attempt::default()
        }
    }

    pub fn unauthenticated(failure: AuthFailure) -> Self {
        Attempt {
            auth_failure: Some(failure),
            ..Attempt::default()
        }
    }

    pub fn disposition(&self) -> Disposition {
        match &self.auth_failure {
            Some(failure) => failure.disposition(),
            None => disposition(self.status),
        }
    }

    /// Direct mode: what follows this attempt, the `attempts`-th, made
    /// `elapsed_ms` after the response went out.
    pub fn next_direct(
        &self,
        policy: &RetryPolicy,
        attempts: u32,
        elapsed_ms: u64,
        jitter: f64,
    ) -> Step {
        match self.disposition() {
            Disposition::Retryable => {
                match policy.next_delay(attempts, elapsed_ms, self.retry_after_ms, jitter) {
                    Some(ms) => Step::RetryIn(ms),
                    None => Step::Done(DeliveryResult::GaveUp),
                }
            }
            settled => Step::Done(settled.into()),
        }
    }

    /// Queue mode: what the consumer does with the message after this
    /// attempt, the `attempts`-th of its life.
    pub fn next_queued(&self, policy: &QueuePolicy, attempts: u32, jitter: f64) -> QueueAction {
        policy.action(self.disposition(), attempts, self.retry_after_ms, jitter)
    }

    /// Google's error, if the body holds one, scrubbed of the key (an API
    /// base that echoes the request URL would otherwise leak it) before it
    /// is shortened, so no part of a key survives a cut.
    pub fn google_error(&self, api: &ApiTarget) -> Option<GoogleError> {
        if let Some(code @ 300..=399) = self.status {
            return Some(GoogleError {
                code,
                status: "REDIRECT_NOT_FOLLOWED".into(),
                message: "the API base answered with a redirect, which annotate calls never follow: RECAPTCHA_API_BASE must be the API itself".into(),
            });
        }
        parse_google_error(&self.body).map(|e| GoogleError {
            code: e.code,
            status: outside_text(api, &e.status, 40),
            message: outside_text(api, &e.message, 300),
        })
    }

    /// The network error, scrubbed, then shortened.
    pub fn network_error(&self, api: &ApiTarget) -> Option<String> {
        (self.network_error.as_deref()).map(|e| outside_text(api, e, 300))
    }

    /// Why no token could be had, scrubbed, then shortened.
    pub fn auth_error(&self, api: &ApiTarget) -> Option<String> {
        (self.auth_failure.as_ref()).map(|f| outside_text(api, &f.error, 300))
    }

    /// A short reason for the dead-letter queue, scrubbed of the key.
    pub fn describe(&self, api: &ApiTarget) -> String {
        if let Some(e) = self.auth_error(api) {
            return format!("auth failed: {e}");
        }
        match (self.status, self.network_error(api)) {
            (_, Some(e)) => e,
            (Some(status), None) => match self.google_error(api) {
                Some(g) => format!("{status} {}: {}", g.status, g.message),
                None => format!("HTTP {status}"),
            },
            (None, None) => "no response".into(),
        }
    }
}

/// Text that came from outside (Google, the runtime) as it may be logged:
/// the key scrubbed first, then at most `max` characters on one line.
fn outside_text(api: &ApiTarget, text: &str, max: usize) -> String {
    snippet_n(&api.scrub(text), max)
}

/// The result logged for an annotation whose last attempt ended this way;
/// a transient failure is only final when retries or time ran out.
impl From<Disposition> for DeliveryResult {
    fn from(d: Disposition) -> Self {
        match d {
            Disposition::Delivered => DeliveryResult::Delivered,
            Disposition::Final => DeliveryResult::Rejected,
            Disposition::Retryable => DeliveryResult::GaveUp,
        }
    }
}

/// One annotation to deliver: where, for which assessment, what, and since
/// when (the response going out, or the queue first seeing it).
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery<'a> {
    pub api: &'a ApiTarget,
    pub id: AssessmentId,
    pub annotation: Annotation,
    pub started_ms: u64,
}

/// How an annotation ended, for its log line.
#[derive(Clone, Copy, Debug)]
pub struct End<'a> {
    pub result: DeliveryResult,
    /// The last attempt; `None` when none was made.
    pub last: Option<&'a Attempt>,
    pub attempts: u32,
    pub mode: Mode,
    pub dead_lettered: bool,
}

impl Delivery<'_> {
    pub fn request(&self) -> AnnotateRequest {
        AnnotateRequest::new(self.api, &self.id, &self.annotation)
    }

    pub fn elapsed(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.started_ms)
    }

    /// Direct mode: the first attempt's timeout, or `None` when the budget
    /// has no room for one (a batch's last items under one shared budget).
    pub fn first_attempt_timeout(&self, policy: &RetryPolicy, now_ms: u64) -> Option<u64> {
        let elapsed = self.elapsed(now_ms);
        policy
            .can_start(elapsed)
            .then(|| policy.attempt_timeout(elapsed))
    }

    /// The log line for this annotation, ended at `now_ms`.
    pub fn ended(&self, now_ms: u64, end: End<'_>) -> Event {
        let last = end.last;
        Event::Annotation {
            assessment: self.id,
            label: self.annotation.label,
            reasons: self.annotation.reasons.clone(),
            result: end.result,
            status: last.and_then(|a| a.status),
            attempts: end.attempts,
            ms: self.elapsed(now_ms),
            error: match (end.result, last) {
                (DeliveryResult::Delivered, _) | (_, None) => None,
                (_, Some(a)) => a.google_error(self.api),
            },
            network_error: last.and_then(|a| a.network_error(self.api)),
            auth_error: last.and_then(|a| a.auth_error(self.api)),
            mode: end.mode,
            dead_lettered: end.dead_lettered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::annotate_call::Credential;
    use crate::outcome;
    use crate::testing::test;

    const KEY: &str = "AIza+key/1";

    fn api() -> ApiTarget {
        ApiTarget::new(
            "https://g".into(),
            "p".into(),
            Credential::ApiKey(KEY.into()),
        )
    }

    fn delivery(api: &ApiTarget) -> Delivery<'_> {
        Delivery {
            api,
            id: AssessmentId::parse("bc304e08a0000000").unwrap(),
            annotation: outcome::parse_header("FRAUDULENT; reasons=INCORRECT_PASSWORD")
                .unwrap()
                .annotation,
            started_ms: 1_000,
        }
    }

    fn google(status: u16, message: &str) -> Attempt {
        let body = format!(
            r#"{{"error":{{"code":{status},"message":"{message}","status":"INVALID_ARGUMENT"}}}}"#
        );
        Attempt::answered(status, None, body)
    }

    #[test]
    fn a_success_or_a_final_error_ends_direct_delivery_at_once() {
        let p = RetryPolicy::default();
        let ok = Attempt::answered(200, None, String::new());
        assert_eq!(
            ok.next_direct(&p, 1, 0, 0.5),
            Step::Done(DeliveryResult::Delivered)
        );
        assert_eq!(
            google(400, "bad").next_direct(&p, 1, 0, 0.5),
            Step::Done(DeliveryResult::Rejected)
        );
    }

    #[test]
    fn a_transient_failure_is_retried_in_direct_mode_until_the_budget_ends() {
        let p = RetryPolicy::default();
        let busy = Attempt::answered(503, Some(2_000), String::new());
        assert_eq!(busy.next_direct(&p, 1, 0, 0.5), Step::RetryIn(2_000));
        assert_eq!(
            busy.next_direct(&p, 1, p.budget_ms, 0.5),
            Step::Done(DeliveryResult::GaveUp)
        );
        let down = Attempt::failed("connection refused".into());
        assert_eq!(
            down.next_direct(&p, p.max_attempts, 0, 0.5),
            Step::Done(DeliveryResult::GaveUp)
        );
    }

    #[test]
    fn queue_mode_requeues_a_transient_failure_and_dead_letters_a_final_one() {
        let q = QueuePolicy::default();
        let busy = Attempt::answered(429, Some(90_500), String::new());
        assert_eq!(busy.next_queued(&q, 1, 0.0), QueueAction::Requeue(91));
        assert_eq!(
            busy.next_queued(&q, q.max_attempts, 0.0),
            QueueAction::DeadLetter
        );
        assert_eq!(
            google(403, "no").next_queued(&q, 1, 0.0),
            QueueAction::DeadLetter
        );
        let ok = Attempt::answered(200, None, String::new());
        assert_eq!(ok.next_queued(&q, 3, 0.0), QueueAction::Ack);
    }

    #[test]
    fn the_logged_result_follows_the_last_disposition() {
        assert_eq!(
            DeliveryResult::from(Disposition::Delivered),
            DeliveryResult::Delivered
        );
        assert_eq!(
            DeliveryResult::from(Disposition::Final),
            DeliveryResult::Rejected
        );
        assert_eq!(
            DeliveryResult::from(Disposition::Retryable),
            DeliveryResult::GaveUp
        );
    }

    #[test]
    fn no_first_attempt_starts_without_budget_for_it() {
        let api = api();
        let d = delivery(&api);
        let p = RetryPolicy::default();
        assert_eq!(
            d.first_attempt_timeout(&p, 1_000),
            Some(p.attempt_timeout_ms)
        );
        assert_eq!(d.first_attempt_timeout(&p, 1_000 + p.budget_ms - 500), None);
    }

    /// One attempt in direct mode, not dead-lettered.
    fn end(result: DeliveryResult, last: &Attempt) -> End<'_> {
        End {
            result,
            last: Some(last),
            attempts: 1,
            mode: Mode::Direct,
            dead_lettered: false,
        }
    }

    #[test]
    fn the_ended_line_carries_google_error_and_network_error_without_the_key() {
        let api = api();
        let d = delivery(&api);
        let refused = google(400, "API key AIza+key/1 not valid");
        let line = d
            .ended(1_250, end(DeliveryResult::Rejected, &refused))
            .to_line();
        assert!(line.contains(r#""status":400"#), "{line}");
        assert!(line.contains(r#""ms":250"#), "{line}");
        assert!(line.contains("API key [redacted] not valid"), "{line}");
        let timeout = Attempt::failed("GET https://g/x?key=AIza%2Bkey%2F1 timed out".into());
        let queued = End {
            mode: Mode::Queue,
            dead_lettered: true,
            ..end(DeliveryResult::GaveUp, &timeout)
        };
        let line = d.ended(2_000, queued).to_line();
        assert!(!line.contains("AIza"), "{line}");
        assert!(line.contains(r#""dead_lettered":true"#), "{line}");
    }

    #[test]
    fn a_delivered_line_has_no_error() {
        let api = api();
        let d = delivery(&api);
        let ok = Attempt::answered(200, None, r#"{"error":{"code":1}}"#.into());
        let Event::Annotation { error, .. } = d.ended(1_000, end(DeliveryResult::Delivered, &ok))
        else {
            panic!("not an annotation line");
        };
        assert_eq!(error, None);
    }

    #[test]
    fn a_key_straddling_the_length_cut_leaves_no_trace() {
        let api = api();
        for pad in 290..300 {
            let message = format!("{}{KEY} tail", "m".repeat(pad));
            let body =
                format!(r#"{{"error":{{"code":400,"message":"{message}","status":"BAD {KEY}"}}}}"#);
            let e = Attempt::answered(400, None, body)
                .google_error(&api)
                .unwrap();
            assert!(!e.message.contains("AIza"), "{pad}: {}", e.message);
            assert_eq!(e.status, "BAD [redacted]");
            let long = Attempt::failed(format!("{}{KEY}", "n".repeat(pad)));
            assert!(!long.describe(&api).contains("AIza"), "{pad}");
        }
    }

    #[test]
    fn a_redirect_is_a_final_answer_with_a_clear_error() {
        let api = api();
        let moved = Attempt::answered(307, None, String::new());
        assert_eq!(
            moved.next_direct(&RetryPolicy::default(), 1, 0, 0.5),
            Step::Done(DeliveryResult::Rejected)
        );
        let e = moved.google_error(&api).unwrap();
        assert_eq!((e.code, e.status.as_str()), (307, "REDIRECT_NOT_FOLLOWED"));
        assert!(moved
            .describe(&api)
            .starts_with("307 REDIRECT_NOT_FOLLOWED"));
    }

    #[test]
    fn the_dead_letter_reason_is_short_and_scrubbed() {
        let api = api();
        assert_eq!(
            google(400, "key AIza+key/1").describe(&api),
            "400 INVALID_ARGUMENT: key [redacted]"
        );
        assert_eq!(
            Attempt::answered(502, None, "<html>".into()).describe(&api),
            "HTTP 502"
        );
        assert_eq!(
            Attempt::failed("refused ?key=AIza%2Bkey%2F1".into()).describe(&api),
            "refused ?key=[redacted]"
        );
        assert_eq!(Attempt::default().describe(&api), "no response");
    }
}
