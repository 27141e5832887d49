//! When to try an annotate call again, and when to stop.
//!
//! Exponential backoff with full jitter (AWS architecture blog's
//! "FullJitter"), `Retry-After` as a floor, and one overall budget measured
//! from the moment the client's response was handed back: the runtime cancels
//! `waitUntil` work about 30 s after the response, so everything must end well
//! before that.

/// What a response (or the lack of one) means for the annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    Delivered,
    /// Network error, 408, 429, 500, 502, 503, 504.
    Retryable,
    /// Any other status: Google has decided; retrying cannot help.
    Final,
}

/// `None` is a network error (no HTTP status at all).
pub fn disposition(status: Option<u16>) -> Disposition {
    match status {
        Some(200..=299) => Disposition::Delivered,
        None | Some(408 | 429 | 500 | 502 | 503 | 504) => Disposition::Retryable,
        Some(_) => Disposition::Final,
    }
}

/// `Retry-After` in its delta-seconds form, as milliseconds. The HTTP-date
/// form is not used by Google's API and is ignored.
pub fn parse_retry_after(value: &str) -> Option<u64> {
    let v = value.trim();
    if v.is_empty() || v.len() > 10 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<u64>().ok().map(|s| s.saturating_mul(1000))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Backoff ceiling before jitter for the first retry.
    pub base_ms: u64,
    /// Largest backoff ceiling (before `Retry-After`).
    pub max_backoff_ms: u64,
    /// Everything, waits and attempts, ends within this many ms of the response.
    pub budget_ms: u64,
    /// A retry is only worth starting with at least this much budget left.
    pub min_attempt_ms: u64,
    /// Longest single attempt.
    pub attempt_timeout_ms: u64,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_ms: 250,
            max_backoff_ms: 8_000,
            budget_ms: 20_000,
            min_attempt_ms: 1_000,
            attempt_timeout_ms: 10_000,
            max_attempts: 8,
        }
    }
}

impl RetryPolicy {
    /// How long to wait before the next attempt, or `None` to give up.
    ///
    /// `attempts` is how many were made so far (≥ 1), `elapsed_ms` the time
    /// since the response, `jitter` a uniform sample in `[0, 1)`.
    pub fn next_delay(
        &self,
        attempts: u32,
        elapsed_ms: u64,
        retry_after_ms: Option<u64>,
        jitter: f64,
    ) -> Option<u64> {
        if attempts >= self.max_attempts {
            return None;
        }
        let ceiling = doubled(self.base_ms, attempts, self.max_backoff_ms);
        let backoff = (ceiling as f64 * unit(jitter)) as u64;
        let delay = backoff.max(retry_after_ms.unwrap_or(0));
        let starts_at = elapsed_ms.saturating_add(delay);
        (starts_at.saturating_add(self.min_attempt_ms) <= self.budget_ms).then_some(delay)
    }

    /// Whether a first attempt may still start (a batch delivered under one
    /// shared budget can run out of time before reaching its last items).
    pub fn can_start(&self, elapsed_ms: u64) -> bool {
        elapsed_ms.saturating_add(self.min_attempt_ms) <= self.budget_ms
    }

    /// Timeout for an attempt starting at `elapsed_ms`: never past the budget.
    pub fn attempt_timeout(&self, elapsed_ms: u64) -> u64 {
        self.budget_ms
            .saturating_sub(elapsed_ms)
            .min(self.attempt_timeout_ms)
    }
}

/// Longest delay Cloudflare Queues accepts for a message (12 h).
pub const QUEUE_MAX_DELAY_SECONDS: u32 = 43_200;

/// What a queue consumer does with a message after one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueAction {
    /// Delivered: acknowledge it.
    Ack,
    /// Transient failure: enqueue again, delayed by this many seconds.
    Requeue(u32),
    /// Give up on it: send it to the dead-letter queue (if any) and acknowledge.
    DeadLetter,
}

/// Retries through the queue: growing delays measured in seconds to hours,
/// so an API outage far longer than `waitUntil`'s 30 s is survived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueuePolicy {
    pub base_seconds: u32,
    pub max_delay_seconds: u32,
    pub max_attempts: u32,
    /// Longest single attempt made by the consumer.
    pub attempt_timeout_ms: u64,
}

impl Default for QueuePolicy {
    fn default() -> Self {
        // 30 s doubling, half jittered: the 10th attempt comes 2 to 4 h after the first.
        Self {
            base_seconds: 30,
            max_delay_seconds: QUEUE_MAX_DELAY_SECONDS,
            max_attempts: 10,
            attempt_timeout_ms: 10_000,
        }
    }
}

impl QueuePolicy {
    /// `attempts` counts every attempt so far, this one included.
    pub fn action(
        &self,
        disposition: Disposition,
        attempts: u32,
        retry_after_ms: Option<u64>,
        jitter: f64,
    ) -> QueueAction {
        match disposition {
            Disposition::Delivered => QueueAction::Ack,
            Disposition::Final => QueueAction::DeadLetter,
            Disposition::Retryable if attempts >= self.max_attempts => QueueAction::DeadLetter,
            Disposition::Retryable => {
                QueueAction::Requeue(self.delay_seconds(attempts, retry_after_ms, jitter))
            }
        }
    }

    /// "Equal jitter": half the exponential ceiling fixed, half random, so
    /// the delay keeps growing; `Retry-After` is a floor; all capped.
    pub fn delay_seconds(&self, attempts: u32, retry_after_ms: Option<u64>, jitter: f64) -> u32 {
        let cap = u64::from(self.max_delay_seconds.min(QUEUE_MAX_DELAY_SECONDS));
        let ceiling = doubled(u64::from(self.base_seconds), attempts, cap);
        let half = ceiling as f64 / 2.0;
        let backoff = (half + half * unit(jitter)).ceil() as u64;
        let floor = retry_after_ms.map_or(0, |ms| ms.div_ceil(1000));
        backoff.max(floor).min(cap) as u32
    }
}

/// `base` doubled once per attempt after the first, capped at `cap`.
fn doubled(base: u64, attempts: u32, cap: u64) -> u64 {
    let exp = attempts.saturating_sub(1).min(32);
    base.saturating_mul(1u64 << exp).min(cap)
}

/// A jitter sample in `[0, 1]`; anything not finite counts as the maximum.
fn unit(jitter: f64) -> f64 {
    if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    #[test]
    fn only_transient_statuses_are_retried() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert_eq!(disposition(Some(s)), Disposition::Retryable, "{s}");
        }
        assert_eq!(disposition(None), Disposition::Retryable);
        for s in [200, 204] {
            assert_eq!(disposition(Some(s)), Disposition::Delivered);
        }
        for s in [301, 400, 401, 403, 404, 409, 413, 501, 505] {
            assert_eq!(disposition(Some(s)), Disposition::Final, "{s}");
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        assert_eq!(parse_retry_after("3"), Some(3000));
        assert_eq!(parse_retry_after(" 0 "), Some(0));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("1.5"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("99999999999"), None);
    }

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let p = RetryPolicy::default();
        let full: Vec<_> = (1..6)
            .map(|n| p.next_delay(n, 0, None, 0.999_999))
            .collect();
        assert_eq!(
            full,
            vec![Some(249), Some(499), Some(999), Some(1999), Some(3999)]
        );
        assert_eq!(p.next_delay(1, 0, None, 0.0), Some(0));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let p = RetryPolicy::default();
        assert_eq!(p.next_delay(1, 0, Some(2_000), 0.5), Some(2_000));
    }

    #[test]
    fn a_retry_after_beyond_the_budget_gives_up_at_once() {
        let p = RetryPolicy::default();
        assert_eq!(p.next_delay(1, 0, Some(60_000), 0.5), None);
        assert_eq!(p.next_delay(1, 19_200, None, 0.9), None);
    }

    #[test]
    fn queue_delays_grow_from_the_base_and_stop_at_twelve_hours() {
        let q = QueuePolicy::default();
        let low: Vec<_> = (1..=5).map(|n| q.delay_seconds(n, None, 0.0)).collect();
        let high: Vec<_> = (1..=5).map(|n| q.delay_seconds(n, None, 1.0)).collect();
        assert_eq!(low, vec![15, 30, 60, 120, 240]);
        assert_eq!(high, vec![30, 60, 120, 240, 480]);
        assert_eq!(q.delay_seconds(40, None, 1.0), QUEUE_MAX_DELAY_SECONDS);
        assert_eq!(q.delay_seconds(1, Some(90_500), 0.0), 91);
        assert_eq!(
            q.delay_seconds(1, Some(u64::MAX), 0.0),
            QUEUE_MAX_DELAY_SECONDS
        );
    }

    #[test]
    fn queue_actions_follow_the_disposition_and_the_attempt_cap() {
        let q = QueuePolicy::default();
        assert_eq!(
            q.action(Disposition::Delivered, 3, None, 0.5),
            QueueAction::Ack
        );
        assert_eq!(
            q.action(Disposition::Final, 1, None, 0.5),
            QueueAction::DeadLetter
        );
        assert_eq!(
            q.action(Disposition::Retryable, 1, None, 0.0),
            QueueAction::Requeue(15)
        );
        assert_eq!(
            q.action(Disposition::Retryable, q.max_attempts, None, 0.0),
            QueueAction::DeadLetter
        );
    }

    #[test]
    fn attempts_are_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.next_delay(p.max_attempts, 0, None, 0.0), None);
    }
}

// Property tests run on the host only (proptest is not built for wasm).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_retry_starts_early_enough_to_finish_within_budget(
            attempts in 1u32..20,
            elapsed in 0u64..40_000,
            retry_after in proptest::option::of(0u64..100_000),
            jitter in 0.0f64..1.0,
        ) {
            let p = RetryPolicy::default();
            if let Some(d) = p.next_delay(attempts, elapsed, retry_after, jitter) {
                prop_assert!(elapsed + d + p.min_attempt_ms <= p.budget_ms);
                prop_assert!(d >= retry_after.unwrap_or(0));
                prop_assert!(d <= p.max_backoff_ms.max(retry_after.unwrap_or(0)));
                prop_assert!(p.attempt_timeout(elapsed + d) >= p.min_attempt_ms);
            }
        }

        #[test]
        fn a_whole_schedule_of_worst_case_attempts_ends_within_budget(
            jitters in proptest::collection::vec(0.0f64..1.0, 8),
        ) {
            // Every attempt runs into its full timeout: the worst case.
            let p = RetryPolicy::default();
            let mut elapsed = 0;
            let mut attempts = 0;
            loop {
                elapsed += p.attempt_timeout(elapsed);
                attempts += 1;
                match p.next_delay(attempts, elapsed, None, jitters[(attempts as usize - 1) % 8]) {
                    Some(d) => elapsed += d,
                    None => break,
                }
            }
            prop_assert!(elapsed <= p.budget_ms);
        }
    }
}
