//! `GOOGLE_SERVICE_ACCOUNT_KEY`: the key file's JSON.
//!
//! Input: the secret's text, as an operator might paste it.
//!
//! Asserts: no panic; an accepted file has a PKCS#8-shaped key (a DER
//! SEQUENCE), an email, and an http(s) token URI, and its `Debug` redacts
//! the key and its ID; a refused one's message is one of a fixed set, where only a line
//! and column number vary: it can quote no part of the file.

#![no_main]

use libfuzzer_sys::fuzz_target;
use recaptcha_annotate_edge::google::service_account::key_file::ServiceAccount;
use recaptcha_annotate_edge_fuzz::text;

fuzz_target!(|data: &[u8]| {
    let Some(input) = text(data) else { return };
    match ServiceAccount::parse(input) {
        Ok(sa) => {
            assert_eq!(sa.private_key_der.first(), Some(&0x30));
            assert!(sa.client_email.contains('@'));
            assert!(sa.token_uri.starts_with("http"));
            let debug = format!("{sa:?}");
            assert!(debug.contains(r#"private_key_id: "<redacted>""#), "{debug}");
            assert!(debug.contains(r#"private_key: "<redacted>""#), "{debug}");
        }
        Err(why) => {
            // Each run of digits (and `#`) as one `#`.
            let mut shape = String::new();
            for c in why.chars() {
                let c = if c.is_ascii_digit() { '#' } else { c };
                if !(c == '#' && shape.ends_with('#')) {
                    shape.push(c);
                }
            }
            assert!(MESSAGES.contains(&shape.as_str()), "{why:?} is not a fixed message");
        }
    }
});

/// Every refusal, with each run of digits and `#` as one `#`.
const MESSAGES: &[&str] = &[
    "is over # bytes: not a key file",
    "is not a JSON object (line #, column #)",
    "type is missing",
    "type is not a string",
    "client_email is missing",
    "client_email is not a string",
    "private_key_id is missing",
    "private_key_id is not a string",
    "private_key is missing",
    "private_key is not a string",
    "token_uri is missing",
    "token_uri is not a string",
    "type is not \"service_account\" (is this a key file?)",
    "client_email is not an email address",
    "private_key_id is not a key ID (letters and digits)",
    "private_key is PKCS# (BEGIN RSA PRIVATE KEY); a PKCS# key (BEGIN PRIVATE KEY) is needed",
    "private_key is not a PEM block (BEGIN PRIVATE KEY … END PRIVATE KEY)",
    "private_key's PEM body is not base#",
    "private_key's PEM body is not a PKCS# structure",
    "token_uri is not an http(s) URL without query or user info",
    "token_uri must use https (http only for a loopback stand-in): credentials travel with it",
];
