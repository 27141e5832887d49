//! How an annotation's delivery ended, and in which mode: words the log

//! line, the metrics and the plans share, kept in a leaf module so the log
//! does not depend on delivery's decisions.

use serde::Serialize;

/// How an annotation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryResult {
    Delivered,
    /// Google answered with a final (non-retryable) error.
    Rejected,
    /// Retries or time ran out on transient failures.
    GaveUp,
}

impl DeliveryResult {
    pub fn name(self) -> &'static str {
        match self {
            DeliveryResult::Delivered => "delivered",
            DeliveryResult::Rejected => "rejected",
            DeliveryResult::GaveUp => "gave_up",
        }
    }
}

/// How an annotation travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Sent from the request's `waitUntil`, retried within 20 s.
    Direct,
    /// Sent by the queue consumer, retried through the queue.
    Queue,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Direct => "direct",
            Mode::Queue => "queue",
        }
    }
}
