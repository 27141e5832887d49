//! Queue mode: the producer side (enqueue) and the consumer behind `#[event(queue)]`.
//!
//! Retries happen by enqueueing the message again with a delay and its attempt
//! count raised, then acknowledging the original, so the envelope always
//! carries the true count and the worker decides when to give up. Messages
//! given up on go to the dead-letter queue through the `ANNOTATIONS_DLQ`
//! producer binding; the queue's own `dead_letter_queue` catches anything the
//! worker could not handle at all (a crash, a failed re-enqueue).

use futures_util::stream::{self, StreamExt};
use wasm_bindgen::JsValue;
use worker::{
    Env, MessageBatch, MessageExt, Queue, QueueContentType, QueueRetryOptions,
    QueueRetryOptionsBuilder, RawMessage, RawMessageBuilder, SendMessage,
};

use crate::config::Config;
use crate::delivery::envelope::Envelope;
use crate::delivery::queue::{QueueName, Send, Settle};
use crate::delivery::{self, Delivery};
use crate::log::Event;
use crate::outcome::annotation::Annotation;
use crate::runtime::clock::now_ms;
use crate::runtime::delivery::attempt;
use crate::runtime::delivery::direct::MAX_IN_FLIGHT;
use crate::runtime::google::auth;
use crate::runtime::log;

/// Producer binding of the annotations queue; its presence turns queue mode on.
pub const BINDING: &str = "ANNOTATIONS";
/// Producer binding of the dead-letter queue.
pub const DLQ_BINDING: &str = "ANNOTATIONS_DLQ";
/// The key of a poisoned message wrapped for the dead-letter queue.
const SET_ASIDE: &str = "set_aside";
/// Queues' `sendBatch` limits are 100 messages and 256 KB per call; the
/// bytes are capped lower, at 200 KiB, a margin for the platform's own
/// per-message overhead on top of each body.
const SEND_BATCH_MAX_MESSAGES: usize = 100;
const SEND_BATCH_MAX_BYTES: usize = 200 * 1024;

pub fn producer(env: &Env) -> Option<Queue> {
    thread_local! {
        /// Whether the isolate's environment has the binding: it cannot
        /// change, and looking up a missing one builds an error message.
        static BOUND: std::cell::OnceCell<bool> = const { std::cell::OnceCell::new() };
    }
    let queue = || env.queue(BINDING).ok();
    match BOUND.with(|bound| bound.get().copied()) {
        Some(false) => None,
        Some(true) => queue(),
        None => {
            let found = queue();
            BOUND.with(|bound| bound.set(found.is_some()).ok());
            found
        }
    }
}

/// The envelope as a plain JS object (JSON content type). Built from its JSON
/// text: serde_wasm_bindgen would turn the body's map into a JS `Map`, which
/// does not survive JSON.
fn message(envelope_json: &str, delay_seconds: u32) -> worker::Result<SendMessage<JsValue>> {
    let value = js_sys::JSON::parse(envelope_json)?;
    Ok(RawMessageBuilder::new(value)
        .delay_seconds(delay_seconds)
        .build_with_content_type(QueueContentType::Json))
}

pub async fn enqueue(queue: &Queue, envelope: &Envelope, delay_seconds: u32) -> worker::Result<()> {
    queue
        .send_raw(message(&envelope.to_json(), delay_seconds)?)
        .await
}

/// Sends many envelopes in as few `sendBatch` calls as the limits allow.
/// Returns how many were enqueued before any error.
pub async fn enqueue_all(
    queue: &Queue,
    envelopes: &[Envelope],
) -> Result<usize, (usize, worker::Error)> {
    let mut sent = 0;
    let mut chunk: Vec<SendMessage<JsValue>> = Vec::new();
    let mut bytes = 0;
    for (i, envelope) in envelopes.iter().enumerate() {
        let json = envelope.to_json();
        bytes += json.len();
        chunk.push(message(&json, 0).map_err(|e| (sent, e))?);
        let last = i + 1 == envelopes.len();
        if last || chunk.len() == SEND_BATCH_MAX_MESSAGES || bytes + 2 * 1024 > SEND_BATCH_MAX_BYTES
        {
            let n = chunk.len();
            queue
                .send_raw_batch(std::mem::take(&mut chunk))
                .await
                .map_err(|e| (sent, e))?;
            sent += n;
            bytes = 0;
        }
    }
    Ok(sent)
}

/// The consumer: each message is delivered once per invocation, at most
/// [`MAX_IN_FLIGHT`] at a time, and acknowledged on its own.
pub async fn consume(batch: MessageBatch<JsValue>, env: &Env, config: &Config) {
    let api = match &config.api {
        Ok(api) => api,
        Err(errors) => {
            // Nothing can be delivered without the API settings: keep the
            // messages (the platform's max_retries and DLQ still apply).
            log::emit(&Event::QueueBatchRetried {
                config_errors: errors.iter().map(ToString::to_string).collect(),
            });
            batch.retry_all_with_options(&platform_retry(config.queue.base_seconds));
            return;
        }
    };
    let main = env.queue(BINDING).ok();
    let dlq = env.queue(DLQ_BINDING).ok();
    let ctx = Consumer {
        plan: delivery::queue::Consumer {
            api,
            policy: &config.queue,
            replaying: batch.queue() == config.dead_letter_queue,
            has_dead_letter_queue: dlq.is_some(),
        },
        main: main.as_ref(),
        dlq: dlq.as_ref(),
    };
    stream::iter(batch.raw_iter())
        .map(|m| ctx.handle(m))
        .buffer_unordered(MAX_IN_FLIGHT)
        .for_each(|_| async {})
        .await;
    // A token fetch a message started lives as long as this invocation.
    auth::outlive_fetch_in_flight().await;
}

struct Consumer<'a> {
    /// The core's side: what to do with each message after its attempt.
    plan: delivery::queue::Consumer<'a>,
    main: Option<&'a Queue>,
    dlq: Option<&'a Queue>,
}

impl Consumer<'_> {
    async fn handle(&self, message: RawMessage) {
        let body = message.body();
        if js_sys::Reflect::has(&body, &SET_ASIDE.into()).unwrap_or(false) {
            // Set aside once already: whichever queue this is, not again.
            log::emit(&Event::QueueMessageInvalid {
                error: "a message set aside before, acknowledged: not sent to the dead-letter queue again".into(),
                dead_lettered: false,
            });
            return message.ack();
        }
        let decoded = js_sys::JSON::stringify(&body)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| "message body is not JSON".to_owned())
            .and_then(|s| Envelope::decode(&s).map_err(|e| e.to_string()));
        match decoded {
            Ok((envelope, annotation)) => self.deliver(message, envelope, annotation).await,
            Err(error) => self.set_aside(message, body, error).await,
        }
    }

    /// A poisoned message is set aside, never retried: to the dead-letter
    /// queue, wrapped with why, so that it is never set aside twice.
    async fn set_aside(&self, message: RawMessage, body: JsValue, error: String) {
        let dlq = self.dlq.filter(|_| !self.plan.replaying);
        let dead_lettered = match dlq {
            Some(dlq) => {
                let wrapped = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&wrapped, &SET_ASIDE.into(), &body);
                let _ = js_sys::Reflect::set(&wrapped, &"error".into(), &error.as_str().into());
                dlq.send_raw(
                    RawMessageBuilder::new(wrapped.into())
                        .build_with_content_type(QueueContentType::V8),
                )
                .await
                .is_ok()
            }
            None => false,
        };
        log::emit(&Event::QueueMessageInvalid {
            error,
            dead_lettered,
        });
        // If the DLQ refused it, the platform retries and dead-letters it.
        if dlq.is_some() && !dead_lettered {
            message.retry()
        } else {
            message.ack()
        }
    }

    /// Makes the message's attempt and performs the plan the core makes of it.
    async fn deliver(&self, message: RawMessage, envelope: Envelope, annotation: Annotation) {
        let delivery = Delivery {
            api: self.plan.api,
            id: envelope.assessment,
            annotation,
            started_ms: envelope.first_seen_ms,
        };
        let timeout_ms = self.plan.policy.attempt_timeout_ms;
        let attempt = attempt::attempt(self.plan.api, &delivery.request(), timeout_ms).await;
        let plan = self.plan.plan(&envelope, &attempt, js_sys::Math::random());
        let sent = match &plan.send {
            Some(send) => self.send(send).await,
            None => false,
        };
        for event in plan.events(&delivery, &envelope, &attempt, sent, now_ms()) {
            log::emit(&event);
        }
        match plan.settle(sent) {
            Settle::Ack => message.ack(),
            Settle::Retry(None) => message.retry(),
            Settle::Retry(Some(delay_seconds)) => {
                message.retry_with_options(&platform_retry(delay_seconds))
            }
        }
    }

    /// Whether `send` went to its queue; a missing binding refuses it.
    async fn send(&self, send: &Send) -> bool {
        let queue = match send.to {
            QueueName::Main => self.main,
            QueueName::DeadLetter => self.dlq,
        };
        match queue {
            Some(queue) => enqueue(queue, &send.message, send.delay_seconds)
                .await
                .is_ok(),
            None => false,
        }
    }
}

/// The platform's retry, after a delay.
fn platform_retry(delay_seconds: u32) -> QueueRetryOptions {
    QueueRetryOptionsBuilder::new()
        .with_delay_seconds(delay_seconds)
        .build()
}
