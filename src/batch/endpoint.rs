//! The batch endpoint's verdict on a request: an answer, or the accepted
//! items and how they go (enqueued before the reply, or delivered after
//! it), with the receipt. In two steps, because the body is read only once
//! the request may send one: [`Endpoint::head`] on the method and headers,
//! then [`Endpoint::body`] on the body the shell read.
//!
//! The shell in `runtime/batch.rs` performs the verdict; every branch is here.

use serde::Serialize;

use super::{parse, BatchError, Format, RejectedItem, MAX_BYTES};
use crate::config::environment::Bindings;
use crate::config::Config;
use crate::delivery::envelope::Envelope;
use crate::delivery::result::Mode;
use crate::delivery::Delivery;
use crate::log::Event;
use crate::operate::status::status;
use crate::request::admin::Admin;

/// The headers every answer of the endpoint has.
pub const HEADERS: [(&str, &str); 2] = [
    ("content-type", "application/json; charset=utf-8"),
    ("cache-control", "no-store"),
];

/// A request's method, as the endpoint tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Other,
}

/// What the endpoint reads of a request before its body.
#[derive(Clone, Copy, Debug)]
pub struct RequestHead<'a> {
    pub method: Method,
    pub authorization: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub content_length: Option<&'a str>,
}

/// A reply: status, JSON body and the one header it may add to [`HEADERS`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub header: Option<(&'static str, &'static str)>,
}

/// The verdict on a request's method and headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Head {
    Answer(Answer),
    /// Read the body, at most `cap` bytes, as `format`.
    ReadBody {
        format: Format,
        cap: usize,
    },
}

/// The body did not fit under the cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverCap;

/// The verdict once the body is read.
#[derive(Debug)]
pub enum Verdict<'a, Q> {
    Answer(Answer),
    Accepted(AcceptedBatch<'a, Q>),
}

/// Accepted items: the line to log first, how they go, and the receipt.
#[derive(Debug)]
pub struct AcceptedBatch<'a, Q> {
    /// `batch_received`.
    pub event: Event,
    pub send: BatchSend<'a, Q>,
    pub receipt: Receipt,
}

/// How accepted items go.
#[derive(Debug)]
pub enum BatchSend<'a, Q> {
    /// Onto the queue, before the reply: accepted means enqueued.
    Queue(Q, Vec<Envelope>),
    /// To Google after the reply, under `waitUntil`.
    Direct(Vec<Delivery<'a>>),
}

/// What the reply to an accepted batch reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The accepted items' positions in the request, in order.
    accepted: Vec<usize>,
    rejected: Vec<RejectedItem>,
}

/// The endpoint as configured.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint<'c, 'r> {
    pub admin: &'r Admin,
    /// What accepted items borrow: the API they go to.
    pub config: &'c Config,
    pub bindings: &'r Bindings,
}

impl<'c> Endpoint<'c, '_> {
    /// `POST` sends annotations and `GET` asks for the status, each with
    /// the bearer token; a `POST` body must be JSON or NDJSON and declare
    /// no more than [`MAX_BYTES`].
    pub fn head(&self, head: &RequestHead<'_>) -> Head {
        if head.method == Method::Other {
            return Head::Answer(Answer {
                header: Some(("allow", "GET, POST")),
                ..error(405, "use POST to send annotations, GET for the status")
            });
        }
        if !self.admin.authorized(head.authorization) {
            return Head::Answer(Answer {
                header: Some(("www-authenticate", "Bearer realm=\"recaptcha-annotations\"")),
                ..error(401, "missing or wrong bearer token")
            });
        }
        if head.method == Method::Get {
            return Head::Answer(answer(200, status(self.config, self.bindings)));
        }
        let Some(format) = Format::from_content_type(head.content_type.unwrap_or_default()) else {
            return Head::Answer(refused(&BatchError::UnsupportedContentType));
        };
        let declared = head
            .content_length
            .and_then(|v| v.trim().parse::<usize>().ok());
        if declared.is_some_and(|n| n > MAX_BYTES) {
            return Head::Answer(refused(&BatchError::TooLarge));
        }
        Head::ReadBody {
            format,
            cap: MAX_BYTES,
        }
    }

    /// The body's items, accepted one by one, go through `queue` when it is
    /// bound, else directly; nothing goes while annotation is disabled.
    /// `now_ms` is when they were first seen.
    pub fn body<Q>(
        &self,
        format: Format,
        body: Result<Vec<u8>, OverCap>,
        queue: Option<Q>,
        now_ms: u64,
    ) -> Verdict<'c, Q> {
        let text = match body {
            Err(OverCap) => Err(BatchError::TooLarge),
            Ok(bytes) => String::from_utf8(bytes)
                .map_err(|_| BatchError::NotJson("body is not UTF-8".into())),
        };
        let (accepted, rejected) = match text.and_then(|text| parse(&text, format)) {
            Ok(parsed) => parsed,
            Err(e) => return Verdict::Answer(refused(&e)),
        };
        let Ok(api) = &self.config.api else {
            return Verdict::Answer(error(
                503,
                "annotation is disabled: the worker's configuration is invalid (see its log)",
            ));
        };
        let event = Event::BatchReceived {
            accepted: accepted.len(),
            rejected: rejected.len(),
            mode: if queue.is_some() {
                Mode::Queue
            } else {
                Mode::Direct
            },
        };
        let receipt = Receipt {
            accepted: accepted.iter().map(|a| a.index).collect(),
            rejected,
        };
        let send = match queue {
            Some(queue) => BatchSend::Queue(
                queue,
                (accepted.iter())
                    .map(|a| Envelope::new(a.assessment, &a.annotation, now_ms))
                    .collect(),
            ),
            None => BatchSend::Direct(
                (accepted.into_iter())
                    .map(|a| Delivery {
                        api,
                        id: a.assessment,
                        annotation: a.annotation,
                        started_ms: now_ms,
                    })
                    .collect(),
            ),
        };
        Verdict::Accepted(AcceptedBatch {
            event,
            send,
            receipt,
        })
    }
}

/// The reply to accepted items and which were rejected.
#[derive(Serialize)]
struct ReceiptBody<'a> {
    accepted: usize,
    rejected: &'a [RejectedItem],
}

/// The queue failed part-way: which request items to send again.
#[derive(Serialize)]
struct PartlyEnqueued<'a> {
    error: &'a str,
    accepted: usize,
    not_enqueued: &'a [usize],
    rejected: &'a [RejectedItem],
}

impl Receipt {
    /// `202`: how many were accepted, and each rejected item with why.
    pub fn answer(&self) -> Answer {
        answer(
            202,
            to_json(&ReceiptBody {
                accepted: self.accepted.len(),
                rejected: &self.rejected,
            }),
        )
    }

    /// After the enqueue: the receipt, or when the queue refused the batch
    /// after its first `sent` items, a `503` naming the items to send
    /// again, and the failure's line.
    pub fn enqueued(&self, refused: Option<(usize, String)>) -> (Option<Event>, Answer) {
        let Some((sent, error)) = refused else {
            return (None, self.answer());
        };
        let sent = sent.min(self.accepted.len());
        let body = PartlyEnqueued {
            error: "the queue refused part of the batch: send the items in not_enqueued again",
            accepted: sent,
            not_enqueued: &self.accepted[sent..],
            rejected: &self.rejected,
        };
        (
            Some(Event::EnqueueFailed { error }),
            answer(503, to_json(&body)),
        )
    }
}

/// The answer under the endpoint's path when it is not the endpoint: its
/// path is exactly the configured one.
pub fn not_found() -> Answer {
    error(
        404,
        "no such endpoint: the batch endpoint is at exactly its configured path",
    )
}

/// The answer under the endpoint's path while its configuration is invalid.
pub fn disabled() -> Answer {
    error(503, "the batch endpoint is disabled: ADMIN_TOKEN or ADMIN_PATH is invalid (see the worker's log)")
}

fn answer(status: u16, body: String) -> Answer {
    Answer {
        status,
        body,
        header: None,
    }
}

fn refused(e: &BatchError) -> Answer {
    error(e.status(), &e.to_string())
}

#[derive(Serialize)]
struct Failure<'a> {
    error: &'a str,
}

fn error(status: u16, message: &str) -> Answer {
    answer(status, to_json(&Failure { error: message }))
}

/// serde_json fails only on a map with keys that are not strings, or a
/// `Serialize` of one's own that fails; the bodies here have neither.
fn to_json<T: Serialize>(body: &T) -> String {
    serde_json::to_string(body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ADMIN_TOKEN, API_KEY, PROJECT_ID};
    use crate::testing::test;

    const TOKEN: &str = "0123456789abcdef-admin";
    const ID: &str = "bc304e08a0000000";

    fn config(api_key: Option<&str>) -> Config {
        Config::parse(|name| match name {
            PROJECT_ID => Some("p".into()),
            API_KEY => api_key.map(Into::into),
            ADMIN_TOKEN => Some(TOKEN.into()),
            _ => None,
        })
    }

    fn head<'a>(method: Method, authorization: Option<&'a str>) -> RequestHead<'a> {
        RequestHead {
            method,
            authorization,
            content_type: Some("application/json"),
            content_length: None,
        }
    }

    fn endpoint<'a>(config: &'a Config, bindings: &'a Bindings) -> Endpoint<'a, 'a> {
        Endpoint {
            admin: config.admin.as_ref().unwrap(),
            config,
            bindings,
        }
    }

    fn answered(head: Head) -> Answer {
        match head {
            Head::Answer(answer) => answer,
            other => panic!("not an answer: {other:?}"),
        }
    }

    const BEARER: Option<&str> = Some("Bearer 0123456789abcdef-admin");

    #[test]
    fn a_method_other_than_get_or_post_is_405_naming_both() {
        let (c, b) = (config(Some("k")), Bindings::default());
        let a = answered(endpoint(&c, &b).head(&head(Method::Other, BEARER)));
        assert_eq!((a.status, a.header), (405, Some(("allow", "GET, POST"))));
        assert!(a.body.contains("use POST"), "{}", a.body);
    }

    #[test]
    fn a_missing_or_wrong_bearer_token_is_401_with_its_challenge() {
        let (c, b) = (config(Some("k")), Bindings::default());
        for auth in [None, Some("Bearer 0123456789abcdef-admiN")] {
            for method in [Method::Get, Method::Post] {
                let a = answered(endpoint(&c, &b).head(&head(method, auth)));
                assert_eq!(a.status, 401);
                assert_eq!(a.header.unwrap().0, "www-authenticate");
                assert!(!a.body.contains(TOKEN));
            }
        }
    }

    #[test]
    fn an_authorized_get_is_the_status_check() {
        let (c, b) = (config(Some("k")), Bindings::default());
        let a = answered(endpoint(&c, &b).head(&head(Method::Get, BEARER)));
        assert_eq!((a.status, a.body), (200, status(&c, &b)));
    }

    #[test]
    fn a_post_that_is_not_json_or_ndjson_is_415() {
        let (c, b) = (config(Some("k")), Bindings::default());
        let h = RequestHead {
            content_type: Some("text/plain"),
            ..head(Method::Post, BEARER)
        };
        assert_eq!(answered(endpoint(&c, &b).head(&h)).status, 415);
        let none = RequestHead {
            content_type: None,
            ..h
        };
        assert_eq!(answered(endpoint(&c, &b).head(&none)).status, 415);
    }

    #[test]
    fn a_declared_length_over_the_cap_is_413_before_the_body_is_read() {
        let (c, b) = (config(Some("k")), Bindings::default());
        let over = (MAX_BYTES + 1).to_string();
        let h = RequestHead {
            content_length: Some(&over),
            ..head(Method::Post, BEARER)
        };
        assert_eq!(answered(endpoint(&c, &b).head(&h)).status, 413);
        let fits = MAX_BYTES.to_string();
        let h = RequestHead {
            content_length: Some(&fits),
            ..h
        };
        assert_eq!(
            endpoint(&c, &b).head(&h),
            Head::ReadBody {
                format: Format::Json,
                cap: MAX_BYTES
            }
        );
    }

    fn body_answer(verdict: Verdict<'_, ()>) -> Answer {
        match verdict {
            Verdict::Answer(answer) => answer,
            Verdict::Accepted(a) => panic!("accepted: {a:?}"),
        }
    }

    #[test]
    fn a_body_over_the_cap_not_utf8_or_not_an_array_is_refused_whole() {
        let (c, b) = (config(Some("k")), Bindings::default());
        let e = endpoint(&c, &b);
        let over = body_answer(e.body(Format::Json, Err(OverCap), Some(()), 0));
        assert_eq!(over.status, 413);
        let bytes = body_answer(e.body(Format::Json, Ok(vec![b'[', 0xff, b']']), None, 0));
        assert_eq!(bytes.status, 400);
        assert!(bytes.body.contains("not UTF-8"), "{}", bytes.body);
        let object = body_answer(e.body(Format::Json, Ok(b"{}".to_vec()), None, 0));
        assert_eq!(object.status, 400);
    }

    #[test]
    fn while_annotation_is_disabled_a_valid_batch_is_503() {
        let (c, b) = (config(None), Bindings::default());
        let items = format!(r#"[{{"assessment":"{ID}","annotation":"FRAUDULENT"}}]"#);
        let a = body_answer(endpoint(&c, &b).body(Format::Json, Ok(items.into()), Some(()), 0));
        assert_eq!(a.status, 503);
        assert!(a.body.contains("annotation is disabled"), "{}", a.body);
    }

    fn mixed() -> Vec<u8> {
        format!(
            r#"[{{"assessment":"{ID}","annotation":"FRAUDULENT"}},7,{{"token":"x:U={ID}","annotation":"LEGITIMATE"}}]"#
        )
        .into_bytes()
    }

    #[test]
    fn with_a_queue_accepted_items_are_enqueued_first_seen_now() {
        let (c, b) = (config(Some("k")), Bindings::default());
        let Verdict::Accepted(a) = endpoint(&c, &b).body(Format::Json, Ok(mixed()), Some(7), 9)
        else {
            panic!("refused")
        };
        assert!(matches!(
            a.event,
            Event::BatchReceived {
                accepted: 2,
                rejected: 1,
                mode: Mode::Queue
            }
        ));
        let BatchSend::Queue(7, envelopes) = &a.send else {
            panic!("not queued: {:?}", a.send)
        };
        assert_eq!(envelopes.len(), 2);
        assert!(envelopes.iter().all(|e| e.first_seen_ms == 9));
        let receipt = a.receipt.answer();
        assert_eq!(receipt.status, 202);
        assert_eq!(
            receipt.body,
            r#"{"accepted":2,"rejected":[{"index":1,"error":"invalid JSON outcome: item is not a JSON object"}]}"#
        );
    }

    #[test]
    fn without_a_queue_accepted_items_are_delivered_directly() {
        let (c, b) = (config(Some("k")), Bindings::default());
        let Verdict::Accepted(a) = endpoint(&c, &b).body::<()>(Format::Json, Ok(mixed()), None, 9)
        else {
            panic!("refused")
        };
        assert!(matches!(
            a.event,
            Event::BatchReceived {
                mode: Mode::Direct,
                ..
            }
        ));
        let BatchSend::Direct(deliveries) = &a.send else {
            panic!("not direct")
        };
        assert_eq!(deliveries.len(), 2);
        assert!(deliveries.iter().all(|d| d.started_ms == 9));
    }

    #[test]
    fn a_queue_that_refuses_part_way_gets_503_naming_the_items_to_send_again() {
        let receipt = Receipt {
            accepted: vec![0, 2, 5],
            rejected: vec![RejectedItem {
                index: 1,
                error: "bad".into(),
            }],
        };
        let (event, a) = receipt.enqueued(Some((1, "queue full".into())));
        assert_eq!(
            event,
            Some(Event::EnqueueFailed {
                error: "queue full".into()
            })
        );
        assert_eq!(a.status, 503);
        assert!(
            a.body
                .contains(r#""accepted":1,"not_enqueued":[2,5],"rejected":[{"index":1"#),
            "{}",
            a.body
        );
        assert_eq!(receipt.enqueued(None), (None, receipt.answer()));
    }

    #[test]
    fn near_the_path_is_404_and_a_disabled_endpoint_503() {
        assert_eq!(not_found().status, 404);
        assert_eq!(disabled().status, 503);
        assert!(disabled().body.contains("ADMIN_TOKEN or ADMIN_PATH"));
    }
}
