//! Queue mode's plan for one consumed message: after its attempt, where the
//! message goes next, how the original is settled, and what is logged.
//!
//! The consumer in the shell performs the plan; every branch is here.

use super::result::{DeliveryResult, Mode};
use super::{Attempt, Delivery, End};
use crate::delivery::envelope::Envelope;
use crate::delivery::retry::{QueueAction, QueuePolicy};
use crate::google::annotate_call::ApiTarget;
use crate::log::Event;

/// The consumer's situation besides the message and its attempt.
#[derive(Clone, Copy, Debug)]
pub struct Consumer<'a> {
    pub api: &'a ApiTarget,
    pub policy: &'a QueuePolicy,
    /// The batch comes from the dead-letter queue: nothing goes back there,
    /// so a replay can never loop.
    pub replaying: bool,
    /// The `ANNOTATIONS_DLQ` producer binding exists.
    pub has_dead_letter_queue: bool,
}

/// One of the worker's two queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueName {
    Main,
    DeadLetter,
}

/// A message to send on.
#[derive(Clone, Debug)]
pub struct Send {
    pub to: QueueName,
    pub message: Envelope,
    pub delay_seconds: u32,
}

/// How the consumed message is settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settle {
    Ack,
    /// The platform's retry (counted against `max_retries`, then the
    /// queue's own dead-letter queue), after this delay if any.
    Retry(Option<u32>),
}

/// What the consumer does after one attempt of a message's annotation.
#[derive(Clone, Debug)]
pub struct QueuePlan {
    /// The attempt count, this one included (a replay starts again at 1).
    pub attempts: u32,
    /// The message to send on, if any; a missing binding counts as refused.
    pub send: Option<Send>,
    /// How the original is settled when the send was refused; once it went
    /// (or there was none) the original is acknowledged.
    pub if_refused: Settle,
    /// The annotation ended with this result; `None` while it goes on.
    pub result: Option<DeliveryResult>,
    /// The message reached the dead-letter limit and is dropped.
    pub dead_letter_limit: bool,
}

impl Consumer<'_> {
    /// The plan for `envelope` after `attempt`; `jitter` is uniform in `[0, 1)`.
    pub fn plan(&self, envelope: &Envelope, attempt: &Attempt, jitter: f64) -> QueuePlan {
        // A replay starts a fresh count: one transient failure sends the
        // message back to the main queue for a new life, not to the DLQ.
        let attempts = if self.replaying {
            1
        } else {
            envelope.attempts.saturating_add(1)
        };
        let ended = |result, dead_letter_limit| QueuePlan {
            attempts,
            send: None,
            if_refused: Settle::Ack,
            result: Some(result),
            dead_letter_limit,
        };
        match attempt.next_queued(self.policy, attempts, jitter) {
            QueueAction::Ack => ended(DeliveryResult::Delivered, false),
            QueueAction::Requeue(delay_seconds) => {
                let mut message = envelope.clone();
                message.attempts = attempts;
                // A replayed message that fails transiently starts a normal life again.
                message.last_error = None;
                QueuePlan {
                    attempts,
                    send: Some(Send {
                        to: QueueName::Main,
                        message,
                        delay_seconds,
                    }),
                    if_refused: Settle::Retry(Some(delay_seconds)),
                    result: None,
                    dead_letter_limit: false,
                }
            }
            QueueAction::DeadLetter => {
                let result = DeliveryResult::from(attempt.disposition());
                if self.replaying {
                    return ended(result, false);
                }
                if !envelope.may_dead_letter() {
                    return ended(result, true);
                }
                if !self.has_dead_letter_queue {
                    return ended(result, false);
                }
                let mut message = envelope.clone();
                message.attempts = attempts;
                message.dead_letters += 1;
                message.last_error = Some(attempt.describe(self.api));
                QueuePlan {
                    send: Some(Send {
                        to: QueueName::DeadLetter,
                        message,
                        delay_seconds: 0,
                    }),
                    if_refused: Settle::Retry(None),
                    ..ended(result, false)
                }
            }
        }
    }
}

impl QueuePlan {
    /// How the original is settled, once the send (if any) is known.
    pub fn settle(&self, sent: bool) -> Settle {
        if sent || self.send.is_none() {
            Settle::Ack
        } else {
            self.if_refused
        }
    }

    /// The lines to log once the send (if any) is known, in order.
    pub fn events(
        &self,
        delivery: &Delivery<'_>,
        envelope: &Envelope,
        attempt: &Attempt,
        sent: bool,
        now_ms: u64,
    ) -> Vec<Event> {
        let mut events = Vec::with_capacity(2);
        match self.result {
            None => {
                if let Some(send) = &self.send {
                    events.push(Event::AnnotationRetrying {
                        assessment: envelope.assessment,
                        attempts: self.attempts,
                        status: attempt.status,
                        delay_seconds: send.delay_seconds,
                    });
                }
            }
            Some(result) => {
                let dead_lettered =
                    sent && matches!(&self.send, Some(s) if s.to == QueueName::DeadLetter);
                events.push(delivery.ended(
                    now_ms,
                    End {
                        result,
                        last: Some(attempt),
                        attempts: self.attempts,
                        mode: Mode::Queue,
                        dead_lettered,
                    },
                ));
            }
        }
        if self.dead_letter_limit {
            events.push(Event::DeadLetterLimit {
                assessment: envelope.assessment,
                dead_letters: envelope.dead_letters,
            });
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::annotate_call::Credential;
    use crate::outcome;
    use crate::request::assessment_id::AssessmentId;
    use crate::testing::test;

    fn api() -> ApiTarget {
        ApiTarget::new(
            "https://g".into(),
            "p".into(),
            Credential::ApiKey("k".into()),
        )
    }

    fn envelope(attempts: u32, dead_letters: u32) -> Envelope {
        let annotation = outcome::parse_header("FRAUDULENT").unwrap().annotation;
        let id = AssessmentId::parse("bc304e08a0000000").unwrap();
        let mut e = Envelope::new(id, &annotation, 0);
        e.attempts = attempts;
        e.dead_letters = dead_letters;
        e
    }

    fn consumer<'a>(api: &'a ApiTarget, policy: &'a QueuePolicy, replaying: bool) -> Consumer<'a> {
        Consumer {
            api,
            policy,
            replaying,
            has_dead_letter_queue: true,
        }
    }

    const BUSY: fn() -> Attempt = || Attempt::answered(503, None, String::new());
    const REFUSED: fn() -> Attempt = || Attempt::answered(403, None, String::new());

    #[test]
    fn a_delivered_message_is_acknowledged_and_logged_delivered() {
        let (api, policy) = (api(), QueuePolicy::default());
        let ok = Attempt::answered(200, None, String::new());
        let plan = consumer(&api, &policy, false).plan(&envelope(2, 0), &ok, 0.5);
        assert_eq!(plan.attempts, 3);
        assert_eq!(plan.result, Some(DeliveryResult::Delivered));
        assert!(plan.send.is_none());
        assert_eq!(plan.settle(false), Settle::Ack);
    }

    #[test]
    fn a_transient_failure_is_requeued_with_its_count_or_handed_to_the_platform() {
        let (api, policy) = (api(), QueuePolicy::default());
        let plan = consumer(&api, &policy, false).plan(&envelope(0, 0), &BUSY(), 0.0);
        let send = plan.send.clone().unwrap();
        assert_eq!(
            (send.to, send.delay_seconds, send.message.attempts),
            (QueueName::Main, 15, 1)
        );
        assert_eq!(plan.result, None);
        assert_eq!(plan.settle(true), Settle::Ack);
        assert_eq!(plan.settle(false), Settle::Retry(Some(15)));
    }

    #[test]
    fn a_replayed_message_starts_a_fresh_life_on_the_main_queue() {
        let (api, policy) = (api(), QueuePolicy::default());
        let mut replayed = envelope(9, 1);
        replayed.last_error = Some("403".into());
        let plan = consumer(&api, &policy, true).plan(&replayed, &BUSY(), 0.0);
        let send = plan.send.unwrap();
        assert_eq!((send.to, send.message.attempts), (QueueName::Main, 1));
        assert_eq!(send.message.last_error, None);
    }

    #[test]
    fn a_final_failure_goes_to_the_dead_letter_queue_with_why() {
        let (api, policy) = (api(), QueuePolicy::default());
        let e = envelope(0, 0);
        let plan = consumer(&api, &policy, false).plan(&e, &REFUSED(), 0.0);
        let send = plan.send.clone().unwrap();
        assert_eq!(
            (send.to, send.message.dead_letters),
            (QueueName::DeadLetter, 1)
        );
        assert_eq!(send.message.last_error.as_deref(), Some("HTTP 403"));
        assert_eq!(plan.result, Some(DeliveryResult::Rejected));
        assert_eq!(plan.settle(false), Settle::Retry(None));
        let delivery = Delivery {
            api: &api,
            id: e.assessment,
            annotation: outcome::parse_header("FRAUDULENT").unwrap().annotation,
            started_ms: 0,
        };
        let line = plan.events(&delivery, &e, &REFUSED(), true, 5)[0].to_line();
        assert!(line.contains(r#""dead_lettered":true"#), "{line}");
    }

    #[test]
    fn the_last_transient_failure_is_dead_lettered_as_given_up() {
        let (api, policy) = (api(), QueuePolicy::default());
        let plan = consumer(&api, &policy, false).plan(
            &envelope(policy.max_attempts - 1, 0),
            &BUSY(),
            0.0,
        );
        assert_eq!(plan.send.unwrap().to, QueueName::DeadLetter);
        assert_eq!(plan.result, Some(DeliveryResult::GaveUp));
    }

    #[test]
    fn a_replay_that_fails_finally_is_logged_and_acknowledged_never_dead_lettered_again() {
        let (api, policy) = (api(), QueuePolicy::default());
        let plan = consumer(&api, &policy, true).plan(&envelope(3, 1), &REFUSED(), 0.0);
        assert!(plan.send.is_none());
        assert_eq!(plan.settle(false), Settle::Ack);
        assert!(!plan.dead_letter_limit);
    }

    #[test]
    fn a_message_at_the_dead_letter_limit_is_dropped_with_its_own_line() {
        let (api, policy) = (api(), QueuePolicy::default());
        let e = envelope(0, crate::delivery::envelope::MAX_DEAD_LETTERS);
        let plan = consumer(&api, &policy, false).plan(&e, &REFUSED(), 0.0);
        assert!(plan.send.is_none());
        assert_eq!(plan.settle(false), Settle::Ack);
        assert!(plan.dead_letter_limit);
        let delivery = Delivery {
            api: &api,
            id: e.assessment,
            annotation: outcome::parse_header("FRAUDULENT").unwrap().annotation,
            started_ms: 0,
        };
        let events = plan.events(&delivery, &e, &REFUSED(), false, 5);
        assert!(matches!(
            events[1],
            Event::DeadLetterLimit {
                dead_letters: 3,
                ..
            }
        ));
    }

    #[test]
    fn without_a_dead_letter_binding_a_final_failure_is_logged_and_acknowledged() {
        let (api, policy) = (api(), QueuePolicy::default());
        let c = Consumer {
            has_dead_letter_queue: false,
            ..consumer(&api, &policy, false)
        };
        let plan = c.plan(&envelope(0, 0), &REFUSED(), 0.0);
        assert!(plan.send.is_none());
        assert_eq!(plan.settle(false), Settle::Ack);
        assert_eq!(plan.result, Some(DeliveryResult::Rejected));
    }
}
