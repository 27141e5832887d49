//! `Cookie` header splitting and `TOKEN_COOKIES` name patterns.
//!
//! Input: `pattern \n Cookie header` (no newline: the whole input is both).
//!
//! Asserts: every pair is a `name=value` segment of the header, split at its
//! first `=`, trimmed of JavaScript's white space and nothing else, the value
//! whole; segments without `=` are the only ones skipped. An accepted pattern
//! prints back as itself, and matches a name exactly when the name is the
//! pattern (no `*`) or its prefix, one or more ASCII letters/digits, then its
//! suffix. Google's globs match `recaptcha-`, anything without `/`, `-t` or `-e`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use recaptcha_annotate_edge::request::cookies::{js_trim, pairs, CookiePattern, WafCookie};
use recaptcha_annotate_edge_fuzz::text;

fuzz_target!(|data: &[u8]| {
    let Some(input) = text(data) else { return };
    let (pattern, header) = input.split_once('\n').unwrap_or((input, input));

    let segments: Vec<&str> = header.split(';').filter(|s| s.contains('=')).collect();
    let got: Vec<(&str, &str)> = pairs(header).collect();
    assert_eq!(got.len(), segments.len(), "a pair was lost or invented");
    for ((name, value), segment) in got.iter().zip(&segments) {
        let (raw_name, raw_value) = segment.split_once('=').unwrap();
        assert_eq!(*name, js_trim(raw_name));
        assert!(!name.contains('=') && !name.contains(';'));
        assert!(!value.contains(';'));
        assert_eq!(*value, js_trim(raw_value));
        assert!(raw_value.contains(*value));
        let glob = |suffix: &str| {
            name.len() >= "recaptcha-".len() + suffix.len()
                && name.starts_with("recaptcha-")
                && name.ends_with(suffix)
                && !name["recaptcha-".len()..name.len() - suffix.len()].contains('/')
        };
        let kind = WafCookie::of(name);
        assert_eq!(kind == Some(WafCookie::Session), glob("-t"), "{name:?}");
        assert_eq!(kind == Some(WafCookie::Challenge), glob("-e"), "{name:?}");
    }

    let Ok(p) = CookiePattern::parse(pattern) else {
        return;
    };
    assert_eq!(p.to_string(), pattern, "a pattern does not print as itself");
    assert_eq!(CookiePattern::parse(&p.to_string()).as_ref(), Ok(&p));
    assert!(!pattern.is_empty() && pattern.matches('*').count() <= 1);
    for (name, _) in &got {
        assert_eq!(
            p.matches(name),
            model_matches(pattern, name),
            "{pattern:?} vs {name:?}"
        );
    }
    assert_eq!(p.matches(pattern), !pattern.contains('*'));
    if let Some((prefix, suffix)) = pattern.split_once('*') {
        assert!(p.matches(&format!("{prefix}cf{suffix}")));
        assert!(p.matches(&format!("{prefix}X9{suffix}")));
        assert!(!p.matches(&format!("{prefix}{suffix}")));
        assert!(!p.matches(&format!("{prefix}c-f{suffix}")));
    }
});

/// The documented meaning of a pattern, written the slow way.
fn model_matches(pattern: &str, name: &str) -> bool {
    let Some((prefix, suffix)) = pattern.split_once('*') else {
        return name == pattern;
    };
    name.len() > prefix.len() + suffix.len()
        && name.starts_with(prefix)
        && name.ends_with(suffix)
        && name[prefix.len()..name.len() - suffix.len()]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
}
