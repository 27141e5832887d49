//! Token → assessment ID, through every source `token_sources::extract` reads.
//!
//! Input: one line is used three ways (as a bare token, as the action-token
//! header, as a `Cookie` header under the default patterns). Two or three
//! lines are `token header \n Cookie header [\n TOKEN_COOKIES]`, an empty
//! first line meaning no header.
//!
//! Asserts: any ID is `^[A-Za-z0-9]{16}$` and, preceded by `:U=`, ends the
//! text it came from (the header value, or the percent-decoded cookie value
//! of a cookie whose name the patterns match); the header wins over cookies
//! and `from_token` agrees with `extract` on a header alone.

#![no_main]

use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;
use recaptcha_annotate_edge::assessment_id::AssessmentId;
use recaptcha_annotate_edge::config::Config;
use recaptcha_annotate_edge::cookies::{self, CookiePattern};
use recaptcha_annotate_edge::token_sources::{extract, Extraction, Source};
use recaptcha_annotate_edge_fuzz::{check_id, text};

const HEADER: &str = "X-Recaptcha-Token";

fuzz_target!(|data: &[u8]| {
    let Some(input) = text(data) else { return };
    let mut lines = input.splitn(3, '\n');
    let first = lines.next().unwrap_or_default();
    let (header, cookie, cookie_patterns) = match (lines.next(), lines.next()) {
        (None, _) => {
            // One line: a bare token, then the same text through each source.
            let bare = AssessmentId::from_token(first);
            if let Some(id) = &bare {
                check_id(id);
                assert!(first.ends_with(&format!(":U={id}")));
            }
            let patterns = Config::parse(|_| None).token_cookies;
            let got = run(Some(first), None, &patterns);
            assert_eq!(got.id(), bare, "extract and from_token disagree");
            run(None, Some(first), &patterns);
            return;
        }
        (Some(cookie), patterns) => ((!first.is_empty()).then_some(first), Some(cookie), patterns),
    };
    let patterns = Config::parse(|var| {
        (var == "TOKEN_COOKIES")
            .then(|| cookie_patterns.map(str::to_owned))
            .flatten()
    })
    .token_cookies;
    run(header, cookie, &patterns);
});

fn run(header: Option<&str>, cookie: Option<&str>, patterns: &[CookiePattern]) -> Extraction {
    let got = extract(HEADER, header, cookie, patterns);
    let header_id = header.and_then(AssessmentId::from_token);
    match &got.found {
        None => assert_eq!(header_id, None, "the header's ID was missed"),
        Some((id, Source::Header(name))) => {
            check_id(id);
            assert_eq!(name, HEADER);
            let token = header.expect("an ID from a header that was not sent");
            assert!(
                token.ends_with(&format!(":U={id}")),
                "{id} is not the end of the header"
            );
            assert!(got.rejected.is_empty());
        }
        Some((id, Source::Cookie(name))) => {
            check_id(id);
            assert_eq!(header_id, None, "a cookie beat the header");
            assert!(
                patterns.iter().any(|p| p.matches(name)),
                "{name:?} matches no pattern"
            );
            let suffix = format!(":U={id}");
            // Some cookie of that name carries the ID at the end of its
            // percent-decoded value.
            let carried = cookies::pairs(cookie.expect("an ID from no cookie"))
                .filter(|(n, _)| n == name)
                .any(|(_, v)| {
                    percent_decode_str(v)
                        .decode_utf8()
                        .is_ok_and(|d| d.ends_with(&suffix))
                });
            assert!(carried, "no {name:?} cookie ends with {suffix}");
        }
    }
    got
}
