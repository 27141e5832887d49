//! Host tier: the token the worker takes is the one the WAF assessed.
//!
//! `googles_choice` transcribes `addTokenAndSiteKeyToEvent` (Google's
//! recaptcha-edge, `src/createAssessment.ts`, as the Cloudflare binding runs
//! it: non-strict cookies, `recaptcha-cf-*` names) statement by statement,
//! with JavaScript's string semantics, and shares no code with the worker.
//! For every configuration of site keys and any request, the worker's ID
//! must be that token's, and there must be none when the WAF assessed none.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashMap;

use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use recaptcha_annotate_edge::config::Config;
use recaptcha_annotate_edge::request::assessment_id::AssessmentId;
use recaptcha_annotate_edge::request::token_sources::{select, Missing, TokenRequest};

const KEY_VARS: [&str; 5] = [
    "ACTION_SITE_KEY",
    "ENTERPRISE_SITE_KEY",
    "CHALLENGE_PAGE_SITE_KEY",
    "SESSION_SITE_KEY",
    "EXPRESS_SITE_KEY",
];

/// What Google's worker sends to createAssessment.
#[derive(Debug, PartialEq)]
enum Choice {
    /// `event.token`, and whether it came from a cookie.
    Token(String, bool),
    /// `g-recaptcha-response` from the body.
    Body,
    Express,
    /// It throws "No site key was found …" and allows the request unassessed.
    Nothing,
}

/// `String.prototype.trim`.
fn js_trim(s: &str) -> String {
    let js_space = |c: char| (c.is_whitespace() && c != '\u{85}') || c == '\u{FEFF}';
    s.trim_matches(js_space).to_owned()
}

/// picomatch's `isMatch` for a glob whose only special character is `*`
/// (any run of characters but `/`, empty included).
fn is_match(name: &str, glob: &str) -> bool {
    match glob.split_once('*') {
        None => name == glob,
        Some((head, tail)) => (0..=name.len()).any(|i| {
            name.is_char_boundary(i)
                && name[..i]
                    .strip_prefix(head)
                    .is_some_and(|run| !run.contains('/'))
                && is_match(&name[i..], tail)
        }),
    }
}

fn googles_choice(
    keys: [bool; 5],
    method: &str,
    header: Option<&str>,
    cookie: Option<&str>,
) -> Choice {
    let [action, enterprise, challenge_key, session_key, express] = keys;
    // const actionToken = req.getHeader("X-Recaptcha-Token");
    // if (context.config.actionSiteKey && actionToken) { … return event; }
    if let Some(token) = header.filter(|t| action && !t.is_empty()) {
        return Choice::Token(token.to_owned(), false);
    }
    let mut cookie_map: HashMap<String, String> = HashMap::new();
    let mut challenge_token: Option<String> = None;
    let mut session_token: Option<String> = None;
    // for (const cookie of req.getHeader("cookie")?.split(";") ?? [])
    for cookie in cookie
        .map(|c| c.split(';').collect::<Vec<_>>())
        .unwrap_or_default()
    {
        // indexOf("=") is -1 without one; substring(0, -1) is "".
        let (key, value) = match cookie.find('=') {
            Some(delim) => (&cookie[..delim], &cookie[delim + 1..]),
            None => ("", cookie),
        };
        cookie_map.insert(js_trim(key), js_trim(value));
        if is_match(&js_trim(key), "recaptcha-*-t") {
            session_token = Some(js_trim(value));
        } else if is_match(&js_trim(key), "recaptcha-*-e") {
            challenge_token = Some(js_trim(value));
        }
    }
    let truthy = |t: &Option<String>| t.as_deref().is_some_and(|t| !t.is_empty());
    if !truthy(&challenge_token) {
        challenge_token = cookie_map.get("recaptcha-cf-e").cloned();
    }
    if !truthy(&session_token) {
        session_token = cookie_map.get("recaptcha-cf-t").cloned();
    }
    if enterprise && method == "POST" {
        Choice::Body
    } else if challenge_key && truthy(&challenge_token) {
        Choice::Token(challenge_token.unwrap_or_default(), true)
    } else if session_key && truthy(&session_token) {
        Choice::Token(session_token.unwrap_or_default(), true)
    } else if express {
        Choice::Express
    } else {
        Choice::Nothing
    }
}

fn config(keys: [bool; 5]) -> Config {
    Config::parse(|var| {
        let i = KEY_VARS.iter().position(|v| *v == var)?;
        keys[i].then(|| "6Lc-site-key".to_owned())
    })
}

/// A cookie segment: names the WAF cares about and some it must not, values
/// with IDs, `=`, escapes, spaces and nothing at all.
fn segment() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("recaptcha-cf-t"),
        Just("recaptcha-cf-e"),
        Just("recaptcha-fastly-t"),
        Just("recaptcha--e"),
        Just("recaptcha-a/b-t"),
        Just("recaptcha-a.b-e"),
        Just("recaptcha-t"),
        Just("session"),
        Just(""),
    ];
    let id = "[A-Za-z0-9]{15,17}";
    let value = prop_oneof![
        id.prop_map(|id| format!("03AF-x:U={id}")),
        id.prop_map(|id| format!("03AF-x%3AU%3D{id}")),
        id.prop_map(|id| format!("a=b:U={id}")),
        Just(String::new()),
        "[ -~]{0,12}",
    ];
    let pad = prop_oneof![
        Just(""),
        Just(" "),
        Just("\u{FEFF}"),
        Just("\u{85}"),
        Just("\t")
    ];
    (pad.clone(), name, any::<bool>(), pad, value).prop_map(|(p1, name, eq, p2, value)| {
        format!("{p1}{name}{}{p2}{value}", if eq { "=" } else { "" })
    })
}

fn method() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("GET"), Just("POST"), Just("post"), Just("PUT")]
}

fn header() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        "[A-Za-z0-9]{16}".prop_map(|id| format!("03AF-h:U={id}")),
        Just(String::new()),
        ".{0,24}",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn the_id_is_the_one_of_the_token_googles_waf_assessed_for_every_site_key_configuration(
        keys in any::<[bool; 5]>(),
        method in method(),
        header in header(),
        cookie in proptest::option::of(proptest::collection::vec(segment(), 0..8).prop_map(|s| s.join(";"))),
    ) {
        // Without any site key the worker is told of another WAF, not Google's.
        prop_assume!(keys.contains(&true));
        // The WAF gets the request through fetch, which upper-cases a standard method.
        let waf_method = if method.eq_ignore_ascii_case("post") { "POST" } else { method };
        let want = googles_choice(keys, waf_method, header.as_deref(), cookie.as_deref());
        let request = TokenRequest { method, header: header.as_deref(), cookie: cookie.as_deref() };
        let got = select(&config(keys).token_rules, &request);
        match want {
            Choice::Token(token, is_cookie) => match AssessmentId::from_token(&token) {
                // As the WAF sends it, the token names this ID: the worker's is the same.
                Some(id) => prop_assert_eq!(got.id(), Some(id), "{:?}", got),
                // Otherwise only a cookie's percent-decoded text may name one.
                None => match got.id() {
                    Some(id) => {
                        prop_assert!(is_cookie);
                        let decoded = percent_decode_str(&token).decode_utf8_lossy();
                        prop_assert!(decoded.ends_with(&format!(":U={id}")), "{} from {:?}", id, token);
                    }
                    None => prop_assert_eq!(got.chosen.unwrap_err(), Missing::NoId),
                },
            },
            Choice::Body => prop_assert_eq!(got.chosen, Err(Missing::RequestBody)),
            Choice::Express => prop_assert_eq!(got.chosen, Err(Missing::Express)),
            Choice::Nothing => prop_assert_eq!(got.chosen, Err(Missing::NoToken)),
        }
    }

    #[test]
    fn any_request_under_any_configuration_never_panics_and_yields_only_valid_ids(
        vars in proptest::collection::hash_map(
            prop_oneof![Just("ACTION_SITE_KEY"), Just("SESSION_SITE_KEY"), Just("ENTERPRISE_SITE_KEY"),
                        Just("TOKEN_SOURCES"), Just("TOKEN_COOKIES"), Just("TOKEN_HEADER")],
            ".{0,12}", 0..4),
        method in ".{0,6}",
        header in proptest::option::of(".*"),
        cookie in proptest::option::of(".*"),
    ) {
        let c = Config::parse(|var| vars.get(var).cloned());
        let request = TokenRequest { method: &method, header: header.as_deref(), cookie: cookie.as_deref() };
        let got = select(&c.token_rules, &request);
        if let Some(id) = got.id() {
            prop_assert!(AssessmentId::parse(id.as_str()).is_some());
            let texts = [header.as_deref().unwrap_or_default(), cookie.as_deref().unwrap_or_default()];
            let decoded = percent_decode_str(texts[1]).decode_utf8_lossy();
            let suffix = format!(":U={id}");
            prop_assert!(texts.iter().any(|t| t.contains(&suffix)) || decoded.contains(&suffix));
        }
        prop_assert!(got.rejected.len() <= 16);
    }

    #[test]
    fn without_site_keys_two_different_tokens_name_no_assessment(
        a in "[A-Za-z0-9]{16}",
        b in "[A-Za-z0-9]{16}",
        in_header in any::<bool>(),
    ) {
        prop_assume!(a != b);
        let c = Config::parse(|_| None);
        let header = format!("x:U={a}");
        let cookie = if in_header {
            format!("recaptcha-cf-t=y:U={b}")
        } else {
            format!("recaptcha-cf-t=x%3AU%3D{a}; recaptcha-cf-t=y:U={b}")
        };
        let request = TokenRequest { method: "GET", header: in_header.then_some(header.as_str()), cookie: Some(&cookie) };
        prop_assert_eq!(select(&c.token_rules, &request).chosen, Err(Missing::Ambiguous));
    }
}

proptest! {
    // Each case is a header of up to 3,000 cookies: fewer cases suffice.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn thousands_of_cookies_never_panic_and_yield_only_valid_ids(
        cookies in proptest::collection::vec(("[ -~]{0,12}", "[ -~]{0,40}"), 0..3000),
        keys in any::<[bool; 5]>(),
    ) {
        let header: String = cookies.iter().map(|(k, v)| format!("{k}={v}; ")).collect();
        for c in [Config::parse(|_| None), config(keys)] {
            let request = TokenRequest { method: "GET", header: None, cookie: Some(&header) };
            if let Some(id) = select(&c.token_rules, &request).id() {
                let decoded = percent_decode_str(&header).decode_utf8_lossy();
                let suffix = format!(":U={id}");
                prop_assert!(decoded.contains(&suffix));
            }
        }
    }
}
