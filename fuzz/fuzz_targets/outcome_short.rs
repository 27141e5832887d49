//! The short outcome form: `LABEL; reasons=R1,R2; account-id=…; assessment=…`.
//!
//! Input: the header value, as the origin sent it (`outcome::parse_header` picks
//! the form, so JSON-looking input goes to the other parser and is only
//! checked for not panicking here).
//!
//! Asserts: an accepted outcome is a non-empty, Google-shaped body; its
//! assessment appears verbatim in the header; written back in canonical
//! short form (the account ID percent-encoded, and last, as the README tells
//! origins to write it) it parses to the same outcome, and its JSON body
//! parses as the same annotation.

#![no_main]

use libfuzzer_sys::fuzz_target;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use recaptcha_annotate_edge::outcome::{self, Outcome};
use recaptcha_annotate_edge_fuzz::{check_annotation, check_id, check_round_trip, text};

fuzz_target!(|data: &[u8]| {
    let Some(header) = text(data) else { return };
    let Ok(o) = outcome::parse_header(header) else {
        return;
    };
    check_annotation(&o.annotation);
    check_round_trip(&o.annotation);
    if let Some(id) = &o.assessment {
        check_id(id);
    }
    if header.trim_start_matches([' ', '\t']).starts_with('{') {
        return;
    }
    // Short-form values are taken verbatim (JSON ones may be escaped).
    if let Some(id) = &o.assessment {
        assert!(header.contains(id.as_str()));
    }
    // The short form has no way to say anything but these three fields.
    let a = &o.annotation;
    assert!(a.hashed_account_id.is_none() && a.transaction_event.is_none());
    assert!(a.phone_authentication_event.is_none());
    let canonical = short_form(&o);
    // Canonical parts are never longer than the ones they came from (an
    // account ID may grow: the canonical form encodes what was raw).
    if a.account_id.is_none() {
        assert!(canonical.len() <= header.len(), "{canonical:?}");
    }
    // Encoding can take an account ID past the header's size limit.
    if canonical.len() <= outcome::MAX_LEN {
        assert_eq!(outcome::parse_header(&canonical).as_ref(), Ok(&o), "{canonical:?}");
    }
});

fn short_form(o: &Outcome) -> String {
    let a = &o.annotation;
    let mut parts = Vec::new();
    if let Some(label) = a.label {
        parts.push(label.as_str().to_owned());
    }
    if !a.reasons.is_empty() {
        let names: Vec<&str> = a.reasons.iter().map(|r| r.as_str()).collect();
        parts.push(format!("reasons={}", names.join(",")));
    }
    if let Some(id) = &o.assessment {
        parts.push(format!("assessment={id}"));
    }
    // Decoded text can hold anything (`;`, `,`, `=`, `%`, edge whitespace),
    // so it is written back encoded, as `encodeURIComponent` would.
    if let Some(account) = &a.account_id {
        let encoded = utf8_percent_encode(account, COMPONENT);
        parts.push(format!("account-id={encoded}"));
    }
    parts.join(";")
}

/// What `encodeURIComponent` encodes.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');
