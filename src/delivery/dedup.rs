//! Duplicate suppression: session cookies ride on every request, so an origin
//! that marks each page view `LEGITIMATE` would send the same annotation again
//! and again. An annotation identical to one sent for the same assessment in
//! the last [`WINDOW_MS`] is suppressed; anything different is sent.
//!
//! Memory is bounded: at most [`CAPACITY`] keys, oldest evicted first.

use std::collections::{HashMap, VecDeque};

use crate::outcome::annotation::Annotation;
use crate::request::assessment_id::AssessmentId;

pub const WINDOW_MS: u64 = 10 * 60 * 1000;
pub const CAPACITY: usize = 4096;

/// Identifies one annotation of one assessment: the same ID and the same body
/// give the same key. Also used as the queue message's idempotency key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnnotationKey(u64);

impl AnnotationKey {
    pub fn new(id: &AssessmentId, annotation: &Annotation) -> Self {
        // FNV-1a: stable across isolates and versions, no dependency; this is
        // not a security boundary, only an identity for identical payloads.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let body = annotation.to_json();
        for b in id.as_str().bytes().chain([0]).chain(body.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Self(h)
    }

    pub fn to_hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Keys seen recently, with when they were first sent.
#[derive(Debug, Default)]
pub struct RecentlySent {
    seen: HashMap<AnnotationKey, u64>,
    order: VecDeque<(AnnotationKey, u64)>,
}

impl RecentlySent {
    /// True if `key` should be sent now (and records it); false if an
    /// identical annotation was sent within the window.
    pub fn should_send(&mut self, key: AnnotationKey, now_ms: u64) -> bool {
        self.expire(now_ms);
        if self.seen.contains_key(&key) {
            return false;
        }
        if self.order.len() >= CAPACITY {
            if let Some((old, _)) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        self.seen.insert(key, now_ms);
        self.order.push_back((key, now_ms));
        true
    }

    /// Forgets `key`, so that a delivery that failed can be tried again.
    pub fn forget(&mut self, key: AnnotationKey) {
        if self.seen.remove(&key).is_some() {
            self.order.retain(|(k, _)| *k != key);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.len()
    }

    fn expire(&mut self, now_ms: u64) {
        while let Some(&(key, at)) = self.order.front() {
            if now_ms.saturating_sub(at) < WINDOW_MS {
                break;
            }
            self.order.pop_front();
            self.seen.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome;
    use crate::testing::test;

    fn key(id: &str, header: &str) -> AnnotationKey {
        let o = outcome::parse_header(header).unwrap();
        AnnotationKey::new(&AssessmentId::parse(id).unwrap(), &o.annotation)
    }

    const ID: &str = "bc304e08a0000000";

    #[test]
    fn an_identical_annotation_within_ten_minutes_is_suppressed() {
        let mut r = RecentlySent::default();
        assert!(r.should_send(key(ID, "LEGITIMATE"), 0));
        assert!(!r.should_send(key(ID, "legitimate"), 1_000));
        assert!(!r.should_send(key(ID, "LEGITIMATE"), WINDOW_MS - 1));
    }

    #[test]
    fn it_is_sent_again_after_the_window() {
        let mut r = RecentlySent::default();
        assert!(r.should_send(key(ID, "LEGITIMATE"), 0));
        assert!(r.should_send(key(ID, "LEGITIMATE"), WINDOW_MS));
    }

    #[test]
    fn a_different_label_reason_or_assessment_is_sent() {
        let mut r = RecentlySent::default();
        assert!(r.should_send(key(ID, "LEGITIMATE"), 0));
        assert!(r.should_send(key(ID, "FRAUDULENT"), 1));
        assert!(r.should_send(key(ID, "LEGITIMATE; reasons=CORRECT_PASSWORD"), 2));
        assert!(r.should_send(key("bc304e08a0000001", "LEGITIMATE"), 3));
        assert_eq!(r.len(), 4);
    }

    #[test]
    fn memory_is_bounded_by_evicting_the_oldest() {
        let mut r = RecentlySent::default();
        for i in 0..(CAPACITY as u64 + 10) {
            let id = format!("{i:016}");
            assert!(r.should_send(key(&id, "LEGITIMATE"), i));
        }
        assert_eq!(r.len(), CAPACITY);
        // The oldest were evicted, so they are sent again.
        assert!(r.should_send(
            key(&format!("{:016}", 0), "LEGITIMATE"),
            CAPACITY as u64 + 11
        ));
    }

    #[test]
    fn a_forgotten_key_can_be_sent_again() {
        let mut r = RecentlySent::default();
        let k = key(ID, "LEGITIMATE");
        assert!(r.should_send(k, 0));
        r.forget(k);
        assert!(r.should_send(k, 1));
    }

    #[test]
    fn keys_are_stable_hex() {
        let k = key(ID, "LEGITIMATE");
        assert_eq!(k, key(ID, "LEGITIMATE"));
        assert_eq!(k.to_hex().len(), 16);
    }
}
