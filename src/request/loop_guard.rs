//! The worker's own request coming back to it. With `ORIGIN_URL` unset the
//! worker fetches the request's own URL: on a route that is the zone's
//! origin, but under `wrangler dev` or on a Custom Domain it is the worker
//! itself, which would fetch it again, without end.
//!
//! Every request the worker passes on carries [`LOOP_HEADER`] with the
//! isolate's random nonce appended, so a request that arrives with this
//! isolate's nonce has come back to the worker that sent it. Another
//! isolate of the same worker has another nonce: a request that has passed
//! through [`MAX_PASSES`] workers running this code is taken for a loop too.
//! Either gets a `508`, never a fetch.

use std::cell::Cell;

use crate::config::{Origin, Upstream, ORIGIN_URL};
use crate::error::ConfigError;
use crate::log::Event;

/// The request header the worker adds to every request it passes on.
pub const LOOP_HEADER: &str = "X-Annotate-Edge-Loop";

/// Passes through workers running this code after which a request is taken
/// for a loop: more than any plausible chain of separate deployments.
pub const MAX_PASSES: usize = 4;

/// What a looping request gets: the same text whatever the cause, so that it
/// tells a client who forged the header nothing about the configuration.
pub const LOOP_RESPONSE: &str = "Loop detected: the worker received its own request. Set ORIGIN_URL to the origin (npx wrangler dev --var ORIGIN_URL:http://localhost:8080)\n";

const HEX: &[u8; 16] = b"0123456789abcdef";

/// How a request showed that it went round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loop {
    /// It carries this isolate's own nonce.
    Returned,
    /// It carries [`MAX_PASSES`] nonces or more, none of them this isolate's.
    TooManyPasses,
}

/// The answer to a looping request and, the first time in this isolate,
/// the line that says why.
#[derive(Debug, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub body: &'static str,
    pub log: Option<Event>,
}

/// One isolate's nonce, and whether its loop has been logged.
#[derive(Debug)]
pub struct LoopGuard {
    nonce: String,
    reported: Cell<bool>,
}

impl LoopGuard {
    /// `random`: bytes from the runtime's cryptographic generator, so no
    /// client can guess the nonce and no other isolate shares it.
    pub fn new(random: [u8; 16]) -> Self {
        LoopGuard {
            nonce: random
                .iter()
                .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
                .map(char::from)
                .collect(),
            reported: Cell::new(false),
        }
    }

    /// The value appended to [`LOOP_HEADER`] on every request passed on.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// Whether a request whose [`LOOP_HEADER`] is `seen` (its values joined
    /// with `,`) went round.
    pub fn detect(&self, seen: Option<&str>) -> Option<Loop> {
        let mut passes = 0;
        for value in seen?.split(',').map(str::trim).filter(|v| !v.is_empty()) {
            if value == self.nonce {
                return Some(Loop::Returned);
            }
            passes += 1;
        }
        (passes >= MAX_PASSES).then_some(Loop::TooManyPasses)
    }

    /// A `508` for a looping request; the log line only for the first one in
    /// the isolate, since every later request loops the same way.
    pub fn refuse(
        &self,
        found: Loop,
        origin: &Origin,
        upstream: Upstream,
        annotate_enabled: bool,
    ) -> Refusal {
        let log = (!self.reported.replace(true)).then(|| {
            Event::config_invalid(&[loop_error(found, origin, upstream)], annotate_enabled)
        });
        Refusal {
            status: 508,
            body: LOOP_RESPONSE,
            log,
        }
    }
}

/// Why the request came back, naming `ORIGIN_URL`, never its value (which
/// may hold credentials).
fn loop_error(found: Loop, origin: &Origin, upstream: Upstream) -> ConfigError {
    let target = match origin {
        Origin::SameAsRequest => "is unset, so the worker fetches the request's own URL",
        _ => "is set",
    };
    let via = match upstream {
        Upstream::Service => " through the UPSTREAM Worker",
        _ => "",
    };
    let seen = match found {
        Loop::Returned => "its own request came back to it",
        Loop::TooManyPasses => "a request came through workers running its code 4 times",
    };
    ConfigError::new(
        ORIGIN_URL,
        format!(
            "{target}, and {seen}{via}: a loop, answered 508. Set ORIGIN_URL to the origin, \
             or deploy on a route (where the request's own URL is the origin)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> LoopGuard {
        LoopGuard::new([0xa5; 16])
    }

    #[test]
    fn the_nonce_is_the_random_bytes_in_hex() {
        let g = LoopGuard::new([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff]);
        assert_eq!(g.nonce(), "000102030405060708090a0b0c0d0eff");
    }

    #[test]
    fn a_request_without_the_header_or_with_other_nonces_is_passed_on() {
        let g = guard();
        assert_eq!(g.detect(None), None);
        assert_eq!(g.detect(Some("")), None);
        assert_eq!(g.detect(Some("other")), None);
        assert_eq!(g.detect(Some("a, b ,c")), None);
        // The nonce must be a whole value, not part of one.
        assert_eq!(g.detect(Some(&format!("x{}", g.nonce()))), None);
    }

    #[test]
    fn a_request_carrying_the_isolates_nonce_is_a_loop() {
        let g = guard();
        let own = g.nonce().to_owned();
        assert_eq!(g.detect(Some(&own)), Some(Loop::Returned));
        assert_eq!(
            g.detect(Some(&format!("forged, {own}"))),
            Some(Loop::Returned)
        );
    }

    #[test]
    fn a_request_through_too_many_workers_is_a_loop() {
        let g = guard();
        assert_eq!(g.detect(Some("a, b, c")), None);
        assert_eq!(g.detect(Some("a, b, c, d")), Some(Loop::TooManyPasses));
        assert_eq!(
            g.detect(Some("a,,b, ,c")),
            None,
            "empty values do not count"
        );
    }

    #[test]
    fn a_loop_is_answered_508_every_time_and_logged_once_naming_origin_url() {
        let g = guard();
        let first = g.refuse(
            Loop::Returned,
            &Origin::SameAsRequest,
            Upstream::Fetch,
            false,
        );
        assert_eq!((first.status, first.body), (508, LOOP_RESPONSE));
        assert!(first.body.contains("ORIGIN_URL"));
        let line = first.log.expect("the first loop is logged").to_line();
        assert!(line.contains(r#""event":"config_invalid""#), "{line}");
        assert!(line.contains("ORIGIN_URL: is unset"), "{line}");
        assert!(line.contains("own request came back"), "{line}");
        assert!(!line.contains("UPSTREAM"), "{line}");
        let again = g.refuse(
            Loop::Returned,
            &Origin::SameAsRequest,
            Upstream::Fetch,
            false,
        );
        assert_eq!((again.status, again.log), (508, None));
    }

    #[test]
    fn the_log_line_never_quotes_origin_url() {
        let origin = Origin::Fixed("https://user:hunter2@origin.example".into());
        let r = guard().refuse(Loop::TooManyPasses, &origin, Upstream::Service, true);
        let line = r.log.unwrap().to_line();
        assert!(
            !line.contains("hunter2") && !line.contains("origin.example"),
            "{line}"
        );
        assert!(
            line.contains("4 times") && line.contains("UPSTREAM"),
            "{line}"
        );
        assert!(!r.body.contains("hunter2"));
    }
}
