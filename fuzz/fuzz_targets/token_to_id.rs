//! Token → assessment ID, through every source `token_sources::select` reads.
//!
//! Input: one line is used as a bare token, then as the action-token header
//! and as a `Cookie` header, under the default `TOKEN_*` variables and under
//! Google's WAF worker with every site key. Two or three lines are
//! `token header \n Cookie header [\n configuration]`, an empty first line
//! meaning no header; the configuration is `keys:` and the letters of the
//! site keys set (`a`ction, `e`nterprise, `c`hallenge page, `s`ession,
//! e`x`press, method POST with `p`), or else `TOKEN_COOKIES`.
//!
//! Asserts: any ID is `^[A-Za-z0-9]{16}$` and, preceded by `:U=`, ends the
//! text it came from (the header value, or a cookie of that name, as it is
//! or percent-decoded); under Google's rules the header yields an ID only
//! with the action key and a cookie only with its kind's key, never for a
//! POST with the enterprise key; `from_token` agrees with `select` on a
//! header alone.

#![no_main]

use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;
use recaptcha_annotate_edge::request::assessment_id::AssessmentId;
use recaptcha_annotate_edge::config::Config;
use recaptcha_annotate_edge::request::cookies::{self, WafCookie};
use recaptcha_annotate_edge::request::token_sources::{
    select, Extraction, SiteKeys, Source, TokenRequest, WafRules,
};
use recaptcha_annotate_edge_fuzz::{check_id, text};

const ALL_KEYS: &str = "keys:aecsx";

fuzz_target!(|data: &[u8]| {
    let Some(input) = text(data) else { return };
    let mut lines = input.splitn(3, '\n');
    let first = lines.next().unwrap_or_default();
    let (header, cookie, setup) = match (lines.next(), lines.next()) {
        (None, _) => {
            // One line: a bare token, then the same text through each source.
            let bare = AssessmentId::from_token(first);
            if let Some(id) = &bare {
                check_id(id);
                assert!(first.ends_with(&format!(":U={id}")));
            }
            let got = run(Some(first), None, None);
            assert_eq!(got.id(), bare, "select and from_token disagree");
            run(None, Some(first), None);
            run(Some(first), Some(first), Some(ALL_KEYS));
            return;
        }
        (Some(cookie), setup) => ((!first.is_empty()).then_some(first), Some(cookie), setup),
    };
    run(header, cookie, setup);
});

fn run(header: Option<&str>, cookie: Option<&str>, setup: Option<&str>) -> Extraction {
    let keys = setup.and_then(|s| s.strip_prefix("keys:"));
    let config = Config::parse(|var| match keys {
        Some(letters) => {
            let letter = match var {
                "ACTION_SITE_KEY" => 'a',
                "ENTERPRISE_SITE_KEY" => 'e',
                "CHALLENGE_PAGE_SITE_KEY" => 'c',
                "SESSION_SITE_KEY" => 's',
                "EXPRESS_SITE_KEY" => 'x',
                _ => return None,
            };
            letters.contains(letter).then(|| "k".to_owned())
        }
        None => (var == "TOKEN_COOKIES").then(|| setup.map(str::to_owned)).flatten(),
    });
    let method = match keys.is_some_and(|k| k.contains('p')) {
        true => "POST",
        false => "GET",
    };
    let request = TokenRequest {
        method,
        header,
        cookie,
    };
    let got = select(&config.token_rules, &request);
    let Ok((id, source)) = &got.chosen else {
        return got;
    };
    check_id(id);
    let suffix = format!(":U={id}");
    let google = match &config.token_rules {
        WafRules::Google(keys) => Some(*keys),
        _ => None,
    };
    match source {
        Source::Header(_) => {
            let token = header.expect("an ID from a header that was not sent");
            assert!(token.ends_with(&suffix), "{id} is not the end of the header");
            if let Some(keys) = google {
                assert!(keys.action, "the header without an action key");
            }
        }
        Source::Cookie(name) => {
            if let Some(keys) = google {
                let kind = WafCookie::of(name).expect("a cookie no WAF glob matches");
                let SiteKeys {
                    challenge_page,
                    session,
                    enterprise,
                    ..
                } = keys;
                assert!(match kind {
                    WafCookie::Challenge => challenge_page,
                    WafCookie::Session => session,
                });
                assert!(!(enterprise && method == "POST"), "a cookie for a POST with an enterprise key");
            }
            let carried = cookies::pairs(cookie.expect("an ID from no cookie"))
                .filter(|(n, _)| n == name)
                .any(|(_, v)| {
                    v.ends_with(&suffix)
                        || percent_decode_str(v)
                            .decode_utf8()
                            .is_ok_and(|d| d.ends_with(&suffix))
                });
            assert!(carried, "no {name:?} cookie ends with {suffix}");
        }
    }
    got
}
