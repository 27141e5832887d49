//! The annotation plan, in the response phase: what becomes of the
//! origin's response (relayed, refused, or relayed without its outcome
//! header) and of the outcome it carries or an outcome rule gives (sent
//! through the queue or directly, with its dedup key, or not sent, with
//! the line that says why).
//!
//! The proxy in the shell performs the plans; every branch is here.

use crate::config::Config;
use crate::delivery::dedup::{AnnotationKey, RecentlySent};
use crate::delivery::envelope::Envelope;
use crate::delivery::Delivery;
use crate::log::{DropReason, Event};
use crate::outcome::{self, cache, Outcome};
use crate::request::status_line::is_relayable_status;
use crate::request::token_sources::{Extraction, Missing};

/// The origin's response headers the plan may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseHeader {
    /// The configured outcome header.
    Outcome,
    CacheStatus,
    Age,
}

/// What the plan reads of the origin's response: its status, and a header
/// only when it needs it (most responses carry no outcome, and each read
/// crosses into the runtime).
pub struct OriginResponse<'a> {
    pub status: u16,
    pub header: &'a dyn Fn(ResponseHeader) -> Option<String>,
}

/// What the response phase does with the origin's response.
#[derive(Clone, Debug, PartialEq)]
pub enum ResponsePlan {
    /// A status a Workers `Response` cannot carry: this answer instead,
    /// and the line.
    Refuse {
        status: u16,
        body: &'static str,
        event: Event,
    },
    /// No outcome header: the response as it came, which outcome rules may
    /// give a meaning.
    Relay,
    /// The response without its outcome header, once the outcome is on its
    /// way ([`Annotator::plan`]) or, when there is none to send, its line
    /// logged: the annotation begins first, so that nothing in rebuilding
    /// the response can lose it.
    Strip(Result<Outcome, Event>),
}

/// The plan for the origin's response. An outcome on a response served
/// from a cache is never sent: it replays someone else's.
pub fn respond(config: &Config, response: &OriginResponse<'_>) -> ResponsePlan {
    let status = response.status;
    if !is_relayable_status(status) {
        return ResponsePlan::Refuse {
            status: 502,
            body: "Bad gateway: invalid response from origin\n",
            event: Event::OriginInvalidStatus { status },
        };
    }
    let header = response.header;
    let Some(value) = header(ResponseHeader::Outcome) else {
        return ResponsePlan::Relay;
    };
    let cache_status = header(ResponseHeader::CacheStatus);
    let age = header(ResponseHeader::Age);
    if let Some(from_cache) = cache::served_from_cache(cache_status.as_deref(), age.as_deref()) {
        return ResponsePlan::Strip(Err(from_cache.event()));
    }
    ResponsePlan::Strip(
        outcome::parse_header(&value)
            .map_err(|e| Event::outcome_rejected(&config.outcome_header, &e)),
    )
}

/// What becomes of an outcome.
#[derive(Debug)]
pub enum AnnotationPlan<'a, Q> {
    /// Nothing is sent; the line says why.
    Nothing(Event),
    Send(Dispatch<'a, Q>),
}

/// An annotation to send after the response.
#[derive(Debug)]
pub struct Dispatch<'a, Q> {
    pub delivery: Delivery<'a>,
    /// Recorded as sent; forgotten should the delivery give up, so that an
    /// identical outcome may try again.
    pub key: AnnotationKey,
    pub via: Via<Q>,
}

/// How an annotation goes.
#[derive(Debug)]
pub enum Via<Q> {
    /// Onto the bound queue as this message; should the queue refuse it,
    /// delivered directly ([`enqueued`]).
    Queue(Q, Envelope),
    /// Delivered directly, with retries, under `waitUntil`.
    Direct,
}

/// What the plan for an outcome reads besides the outcome.
pub struct Annotator<'a, 'r> {
    pub config: &'a Config,
    /// The request's assessment ID, or why there is none.
    pub extraction: &'r Extraction,
    /// The isolate's memory of what was sent lately.
    pub recent: &'r mut RecentlySent,
    pub now_ms: u64,
}

impl<'a> Annotator<'a, '_> {
    /// The outcome's own `assessment=` before the request's; nothing while
    /// the API settings are invalid, nor when an identical annotation of
    /// the assessment went lately; through the queue when `queue` finds
    /// one bound (asked only when there is something to send), else
    /// directly.
    pub fn plan<Q>(
        self,
        outcome: Outcome,
        queue: impl FnOnce() -> Option<Q>,
    ) -> AnnotationPlan<'a, Q> {
        let extraction = self.extraction;
        let Some(id) = outcome.assessment.or(extraction.id()) else {
            let why = extraction.chosen.as_ref().err().copied();
            return AnnotationPlan::Nothing(Event::OutcomeDropped {
                reason: DropReason::NoAssessmentId(why.unwrap_or(Missing::NoToken)),
                tokens_rejected: extraction.rejected.clone(),
                tokens_unlisted: extraction.unlisted,
                config_errors: Vec::new(),
            });
        };
        let api = match &self.config.api {
            Ok(api) => api,
            Err(errors) => {
                return AnnotationPlan::Nothing(Event::OutcomeDropped {
                    reason: DropReason::ConfigInvalid,
                    tokens_rejected: Vec::new(),
                    tokens_unlisted: 0,
                    config_errors: errors.iter().map(ToString::to_string).collect(),
                })
            }
        };
        let key = AnnotationKey::new(&id, &outcome.annotation);
        if !self.recent.should_send(key, self.now_ms) {
            return AnnotationPlan::Nothing(Event::AnnotationSuppressed {
                assessment: id,
                idempotency_key: key.to_hex(),
            });
        }
        let via = match queue() {
            Some(queue) => Via::Queue(queue, Envelope::new(id, &outcome.annotation, self.now_ms)),
            None => Via::Direct,
        };
        AnnotationPlan::Send(Dispatch {
            delivery: Delivery {
                api,
                id,
                annotation: outcome.annotation,
                started_ms: self.now_ms,
            },
            key,
            via,
        })
    }
}

/// What follows an enqueue.
#[derive(Clone, Debug, PartialEq)]
pub struct AfterEnqueue {
    pub event: Event,
    /// The queue refused the message: it is delivered directly instead,
    /// within the `waitUntil` budget.
    pub deliver_directly: bool,
}

/// After `envelope`'s enqueue, which the queue `refused` with this error
/// or took.
pub fn enqueued(envelope: &Envelope, refused: Option<String>) -> AfterEnqueue {
    match refused {
        None => AfterEnqueue {
            event: Event::AnnotationEnqueued {
                assessment: envelope.assessment,
                idempotency_key: envelope.idempotency_key.clone(),
            },
            deliver_directly: false,
        },
        Some(error) => AfterEnqueue {
            event: Event::EnqueueFailed { error },
            deliver_directly: true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{API_KEY, PROJECT_ID};
    use crate::request::assessment_id::AssessmentId;
    use crate::request::token_sources::{RejectedToken, Source, TokenProblem};
    use crate::testing::test;
    use std::cell::Cell;

    const TOKEN_ID: &str = "bc304e08a0000000";
    const OTHER_ID: &str = "bc304e08a0000001";

    fn config(api_key: Option<&str>) -> Config {
        Config::parse(|name| match name {
            PROJECT_ID => Some("p".into()),
            API_KEY => api_key.map(Into::into),
            _ => None,
        })
    }

    fn with_token() -> Extraction {
        Extraction {
            chosen: Ok((
                AssessmentId::parse(TOKEN_ID).unwrap(),
                Source::Header("x-recaptcha-token".into()),
            )),
            rejected: Vec::new(),
            unlisted: 0,
        }
    }

    fn without(why: Missing) -> Extraction {
        Extraction {
            chosen: Err(why),
            rejected: vec![RejectedToken {
                source: Source::Cookie("recaptcha-ca-t".into()),
                problem: TokenProblem::NoAssessmentId,
            }],
            unlisted: 2,
        }
    }

    fn outcome(header: &str) -> Outcome {
        outcome::parse_header(header).unwrap()
    }

    /// A response with these headers, counting the reads.
    fn plan_response(
        status: u16,
        headers: &[(ResponseHeader, &str)],
        reads: &Cell<usize>,
    ) -> ResponsePlan {
        let header = |name| {
            reads.set(reads.get() + 1);
            let found = headers.iter().find(|(n, _)| *n == name);
            found.map(|(_, v)| (*v).to_owned())
        };
        respond(
            &config(Some("k")),
            &OriginResponse {
                status,
                header: &header,
            },
        )
    }

    #[test]
    fn a_status_a_response_cannot_carry_is_a_502_and_reads_no_header() {
        let reads = Cell::new(0);
        let plan = plan_response(99, &[(ResponseHeader::Outcome, "FRAUDULENT")], &reads);
        let ResponsePlan::Refuse {
            status: 502, event, ..
        } = plan
        else {
            panic!("not refused: {plan:?}")
        };
        assert_eq!(event, Event::OriginInvalidStatus { status: 99 });
        assert_eq!(reads.get(), 0);
    }

    #[test]
    fn a_response_without_an_outcome_is_relayed_reading_that_header_only() {
        let reads = Cell::new(0);
        let plan = plan_response(200, &[(ResponseHeader::CacheStatus, "HIT")], &reads);
        assert_eq!(plan, ResponsePlan::Relay);
        assert_eq!(reads.get(), 1);
    }

    #[test]
    fn an_outcome_is_stripped_and_parsed_for_sending() {
        let reads = Cell::new(0);
        let headers = [
            (
                ResponseHeader::Outcome,
                "FRAUDULENT; reasons=INCORRECT_PASSWORD",
            ),
            (ResponseHeader::CacheStatus, "DYNAMIC"),
            (ResponseHeader::Age, "0"),
        ];
        let plan = plan_response(401, &headers, &reads);
        let want = outcome("FRAUDULENT; reasons=INCORRECT_PASSWORD");
        assert_eq!(plan, ResponsePlan::Strip(Ok(want)));
        assert_eq!(reads.get(), 3);
    }

    #[test]
    fn an_outcome_served_from_a_cache_is_stripped_and_only_logged() {
        let reads = Cell::new(0);
        for cached in [
            [
                (ResponseHeader::Outcome, "LEGITIMATE"),
                (ResponseHeader::CacheStatus, "HIT"),
            ],
            [
                (ResponseHeader::Outcome, "LEGITIMATE"),
                (ResponseHeader::Age, "30"),
            ],
        ] {
            let plan = plan_response(200, &cached, &reads);
            assert!(
                matches!(
                    plan,
                    ResponsePlan::Strip(Err(Event::OutcomeFromCache { .. }))
                ),
                "{plan:?}"
            );
        }
    }

    #[test]
    fn an_invalid_outcome_is_stripped_and_its_rejection_logged() {
        let reads = Cell::new(0);
        let plan = plan_response(200, &[(ResponseHeader::Outcome, "MAYBE")], &reads);
        let ResponsePlan::Strip(Err(event)) = plan else {
            panic!("{plan:?}")
        };
        let line = event.to_line();
        assert!(line.contains(r#""event":"outcome_rejected""#), "{line}");
        assert!(line.contains("X-Recaptcha-Outcome"), "{line}");
    }

    /// The plan for `outcome` with the queue lookup `queue`, counting lookups.
    fn plan<'a>(
        config: &'a Config,
        extraction: &Extraction,
        recent: &mut RecentlySent,
        outcome: Outcome,
        queue: Option<u8>,
        lookups: &Cell<usize>,
    ) -> AnnotationPlan<'a, u8> {
        let annotator = Annotator {
            config,
            extraction,
            recent,
            now_ms: 7_000,
        };
        annotator.plan(outcome, || {
            lookups.set(lookups.get() + 1);
            queue
        })
    }

    fn sent<Q: std::fmt::Debug>(plan: AnnotationPlan<'_, Q>) -> Dispatch<'_, Q> {
        match plan {
            AnnotationPlan::Send(dispatch) => dispatch,
            AnnotationPlan::Nothing(event) => panic!("not sent: {event:?}"),
        }
    }

    #[test]
    fn an_outcome_for_the_requests_assessment_is_delivered_directly_without_a_queue() {
        let (c, lookups) = (config(Some("k")), Cell::new(0));
        let mut recent = RecentlySent::default();
        let o = outcome("FRAUDULENT");
        let d = sent(plan(
            &c,
            &with_token(),
            &mut recent,
            o.clone(),
            None,
            &lookups,
        ));
        assert_eq!(d.delivery.id.as_str(), TOKEN_ID);
        assert_eq!(d.delivery.annotation, o.annotation);
        assert_eq!(d.delivery.started_ms, 7_000);
        assert_eq!(d.key, AnnotationKey::new(&d.delivery.id, &o.annotation));
        assert!(matches!(d.via, Via::Direct), "{:?}", d.via);
        assert_eq!(lookups.get(), 1);
    }

    #[test]
    fn with_a_queue_bound_the_outcome_is_enqueued_under_its_dedup_key() {
        let (c, lookups) = (config(Some("k")), Cell::new(0));
        let mut recent = RecentlySent::default();
        let d = sent(plan(
            &c,
            &with_token(),
            &mut recent,
            outcome("FRAUDULENT"),
            Some(3),
            &lookups,
        ));
        let Via::Queue(3, envelope) = &d.via else {
            panic!("not queued: {:?}", d.via)
        };
        assert_eq!(envelope.idempotency_key, d.key.to_hex());
        assert_eq!(
            (envelope.assessment, envelope.first_seen_ms),
            (d.delivery.id, 7_000)
        );
    }

    #[test]
    fn the_outcomes_own_assessment_beats_the_requests_token() {
        let (c, lookups) = (config(Some("k")), Cell::new(0));
        let mut recent = RecentlySent::default();
        let o = outcome(&format!("LEGITIMATE; assessment={OTHER_ID}"));
        for extraction in [with_token(), without(Missing::NoToken)] {
            let d = sent(plan(
                &c,
                &extraction,
                &mut recent,
                o.clone(),
                None,
                &lookups,
            ));
            assert_eq!(d.delivery.id.as_str(), OTHER_ID);
            recent.forget(d.key);
        }
    }

    #[test]
    fn without_an_assessment_nothing_is_sent_and_the_line_says_why() {
        let (c, lookups) = (config(Some("k")), Cell::new(0));
        let mut recent = RecentlySent::default();
        let p = plan(
            &c,
            &without(Missing::NoId),
            &mut recent,
            outcome("FRAUDULENT"),
            Some(1),
            &lookups,
        );
        let AnnotationPlan::Nothing(Event::OutcomeDropped {
            reason,
            tokens_rejected,
            tokens_unlisted,
            ..
        }) = p
        else {
            panic!("{p:?}")
        };
        assert_eq!(reason, DropReason::NoAssessmentId(Missing::NoId));
        assert_eq!((tokens_rejected.len(), tokens_unlisted), (1, 2));
        assert_eq!(lookups.get(), 0);
    }

    #[test]
    fn while_the_api_settings_are_invalid_nothing_is_sent_or_remembered() {
        let (c, lookups) = (config(None), Cell::new(0));
        let mut recent = RecentlySent::default();
        let o = outcome("FRAUDULENT");
        let p = plan(&c, &with_token(), &mut recent, o.clone(), Some(1), &lookups);
        let AnnotationPlan::Nothing(Event::OutcomeDropped {
            reason: DropReason::ConfigInvalid,
            config_errors,
            ..
        }) = p
        else {
            panic!("{p:?}")
        };
        assert!(
            config_errors.iter().any(|e| e.contains(API_KEY)),
            "{config_errors:?}"
        );
        assert_eq!(lookups.get(), 0);
        let id = AssessmentId::parse(TOKEN_ID).unwrap();
        assert!(recent.should_send(AnnotationKey::new(&id, &o.annotation), 7_000));
    }

    #[test]
    fn an_identical_annotation_sent_lately_is_suppressed_without_a_queue_lookup() {
        let (c, lookups) = (config(Some("k")), Cell::new(0));
        let mut recent = RecentlySent::default();
        let first = sent(plan(
            &c,
            &with_token(),
            &mut recent,
            outcome("LEGITIMATE"),
            None,
            &lookups,
        ));
        let again = plan(
            &c,
            &with_token(),
            &mut recent,
            outcome("legitimate"),
            None,
            &lookups,
        );
        let AnnotationPlan::Nothing(event) = again else {
            panic!("sent again: {again:?}")
        };
        assert_eq!(
            event,
            Event::AnnotationSuppressed {
                assessment: first.delivery.id,
                idempotency_key: first.key.to_hex(),
            }
        );
        assert_eq!(lookups.get(), 1);
        let other = plan(
            &c,
            &with_token(),
            &mut recent,
            outcome("FRAUDULENT"),
            None,
            &lookups,
        );
        assert!(matches!(other, AnnotationPlan::Send(_)));
    }

    #[test]
    fn an_enqueued_outcome_is_logged_and_a_refused_one_delivered_directly() {
        let id = AssessmentId::parse(TOKEN_ID).unwrap();
        let envelope = Envelope::new(id, &outcome("FRAUDULENT").annotation, 1);
        let taken = enqueued(&envelope, None);
        assert_eq!(
            taken.event,
            Event::AnnotationEnqueued {
                assessment: id,
                idempotency_key: envelope.idempotency_key.clone(),
            }
        );
        assert!(!taken.deliver_directly);
        let refused = enqueued(&envelope, Some("queue overloaded".into()));
        assert_eq!(
            refused.event,
            Event::EnqueueFailed {
                error: "queue overloaded".into()
            }
        );
        assert!(refused.deliver_directly);
    }
}
