//! Whether an origin response was served from a cache. A cached response
//! replays the outcome header the origin wrote for the request that filled
//! the cache: annotating it again would put one visitor's verdict on
//! another's assessment (account ID included). So an outcome on such a
//! response is never annotated.
//!
//! Cloudflare says where a response came from in `CF-Cache-Status`; any
//! HTTP cache says it with `Age` (RFC 9111 §5.1: its presence "implies that
//! the response was not generated or validated by the origin server for
//! this request"). A cache on the origin's side may send `Age: 0` for a
//! response it just fetched, so only a value other than zero counts.

use crate::redact::snippet;

/// `CF-Cache-Status` values of a response Cloudflare did not serve from its
/// cache: fetched from the origin (`MISS`, `EXPIRED`), not cacheable
/// (`DYNAMIC`, `BYPASS`, `NONE`, `UNKNOWN`).
const FRESH: &[&str] = &["MISS", "EXPIRED", "DYNAMIC", "BYPASS", "NONE", "UNKNOWN"];

/// Why a response counts as served from a cache: the two headers as sent,
/// shortened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FromCache {
    pub cache_status: Option<String>,
    pub age: Option<String>,
}

impl FromCache {
    /// The `outcome_from_cache` log event.
    pub fn event(self) -> crate::log::Event {
        crate::log::Event::OutcomeFromCache {
            cache_status: self.cache_status,
            age: self.age,
        }
    }
}

/// Whether the response was served from a cache: `CF-Cache-Status` is
/// anything but absent or a [`FRESH`] value (`HIT`, `STALE`, `UPDATING`,
/// `REVALIDATED`, and any value not known to be fresh), or `Age` is
/// anything but absent or zero. The one test for outcome headers and
/// outcome rules alike.
pub fn is_from_cache(cache_status: Option<&str>, age: Option<&str>) -> bool {
    let status_cached = cache_status
        .map(str::trim)
        .is_some_and(|s| !s.is_empty() && !FRESH.iter().any(|fresh| s.eq_ignore_ascii_case(fresh)));
    let age_cached = age
        .map(str::trim)
        .is_some_and(|a| a.is_empty() || a.bytes().any(|b| b != b'0'));
    status_cached || age_cached
}

/// [`is_from_cache`], with the two headers for the log line.
pub fn served_from_cache(cache_status: Option<&str>, age: Option<&str>) -> Option<FromCache> {
    is_from_cache(cache_status, age).then(|| FromCache {
        cache_status: cache_status.map(snippet),
        age: age.map(snippet),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    fn cached(status: Option<&str>, age: Option<&str>) -> bool {
        served_from_cache(status, age).is_some()
    }

    #[test]
    fn hit_stale_updating_and_revalidated_are_from_the_cache() {
        for status in ["HIT", "STALE", "UPDATING", "REVALIDATED", "hit", " HIT "] {
            assert!(cached(Some(status), None), "{status}");
        }
    }

    #[test]
    fn miss_expired_dynamic_bypass_and_no_status_are_the_origins_answer() {
        for status in [
            "MISS", "EXPIRED", "DYNAMIC", "BYPASS", "NONE", "UNKNOWN", "dynamic", "",
        ] {
            assert!(!cached(Some(status), None), "{status}");
        }
        assert!(!cached(None, None));
    }

    #[test]
    fn a_status_not_known_to_be_fresh_counts_as_cached() {
        // Two values joined by the runtime, or one Cloudflare may add later.
        for status in ["MISS, HIT", "DEFERRED", "MISS;x"] {
            assert!(cached(Some(status), None), "{status}");
        }
    }

    #[test]
    fn an_age_other_than_zero_means_a_cache_served_it() {
        assert!(!cached(Some("MISS"), Some("0")));
        assert!(!cached(None, Some(" 00 ")));
        for age in ["1", "86400", "0, 5", "-1", "1.5", "abc", ""] {
            assert!(cached(Some("MISS"), Some(age)), "{age:?}");
        }
    }

    #[test]
    fn the_log_carries_both_headers_shortened() {
        let long = "H".repeat(500);
        let got = served_from_cache(Some(&long), Some("12")).unwrap();
        assert!(got.cache_status.unwrap().len() < 60);
        assert_eq!(got.age.as_deref(), Some("12"));
        let line = served_from_cache(Some("HIT"), None)
            .unwrap()
            .event()
            .to_line();
        assert_eq!(
            line,
            r#"{"level":"warn","event":"outcome_from_cache","cache_status":"HIT"}"#
        );
    }
}
