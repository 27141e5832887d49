//! `GOOGLE_SERVICE_ACCOUNT_KEY`: the key file's JSON.
//!
//! Input: the secret's text, as an operator might paste it.
//!
//! Asserts: no panic; an accepted file has a PKCS#8-shaped key (a DER
//! SEQUENCE), an email, and an http(s) token URI, and its `Debug` shows no
//! key ID; a refused one's message is short and never repeats the file's
//! `private_key` (any 8 bytes of it).

#![no_main]

use libfuzzer_sys::fuzz_target;
use recaptcha_annotate_edge::service_account::ServiceAccount;
use recaptcha_annotate_edge_fuzz::text;

fuzz_target!(|data: &[u8]| {
    let Some(input) = text(data) else { return };
    match ServiceAccount::parse(input) {
        Ok(sa) => {
            assert_eq!(sa.private_key_der.first(), Some(&0x30));
            assert!(sa.client_email.contains('@'));
            assert!(sa.token_uri.starts_with("http"));
            assert!(!format!("{sa:?}").contains(&sa.private_key_id));
        }
        Err(why) => {
            assert!(why.len() < 200, "{why}");
            let key = serde_json::from_str::<serde_json::Value>(input)
                .ok()
                .and_then(|v| v.get("private_key")?.as_str().map(str::to_owned));
            if let Some(key) = key {
                for window in key.as_bytes().windows(8) {
                    if let Ok(w) = std::str::from_utf8(window) {
                        assert!(!why.contains(w), "{why:?} quotes the key");
                    }
                }
            }
        }
    }
});
