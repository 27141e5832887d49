//! Host tier: the service-account key file and the JWTs made from it, over
//! generated and hostile input. No input panics, no error quotes the file,
//! and every JWT carries the claims Google checks.

#![cfg(not(target_arch = "wasm32"))]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use proptest::prelude::*;
use recaptcha_annotate_edge::google::service_account::jwt::{JWT_LIFETIME_S, SCOPE};
use recaptcha_annotate_edge::google::service_account::key_file::ServiceAccount;
use recaptcha_annotate_edge::google::service_account::{AuthMode, ServiceAccountAuth};
use serde_json::{json, Value};

fn pem(der: &[u8], width: usize) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(width)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

fn key_file(private_key: &str, email: &str) -> String {
    json!({
        "type": "service_account",
        "private_key_id": "0123abcd",
        "private_key": private_key,
        "client_email": email,
        "token_uri": "https://oauth2.googleapis.com/token",
    })
    .to_string()
}

fn der() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 64..1300).prop_map(|mut d| {
        d[0] = 0x30;
        d
    })
}

proptest! {
    #[test]
    fn any_pem_line_width_reads_the_same_key(der in der(), width in 1usize..120) {
        let sa = ServiceAccount::parse(&key_file(&pem(&der, width), "a@b.iam.gserviceaccount.com")).unwrap();
        prop_assert_eq!(sa.private_key_der, der);
    }

    #[test]
    fn no_error_repeats_any_part_of_a_private_key(secret in "[A-Za-z0-9+/=!-]{12,200}", wrap in any::<bool>()) {
        let value = if wrap {
            format!("-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----")
        } else {
            secret.clone()
        };
        if let Err(why) = ServiceAccount::parse(&key_file(&value, "a@b.example")) {
            for window in secret.as_bytes().windows(8) {
                let w = std::str::from_utf8(window).unwrap();
                prop_assert!(!why.contains(w), "{why} quotes {w}");
            }
        }
    }

    #[test]
    fn hostile_text_never_panics_and_is_never_quoted(text in "\\PC{0,400}") {
        if let Err(why) = ServiceAccount::parse(&text) {
            prop_assert!(why.len() < 200);
            if text.len() >= 24 {
                prop_assert!(!why.contains(&text[..text.char_indices().nth(24).map_or(text.len(), |(i, _)| i)]));
            }
        }
    }

    #[test]
    fn every_jwt_names_its_issuer_audience_and_an_hour_of_life(
        user in "[a-z][a-z0-9-]{0,20}",
        now in 1_600_000_000u64..2_000_000_000,
        self_signed in any::<bool>(),
    ) {
        let email = format!("{user}@p.iam.gserviceaccount.com");
        let account = ServiceAccount::parse(&key_file(&pem(&[0x30; 100], 64), &email)).unwrap();
        let auth = ServiceAccountAuth {
            token_uri: account.token_uri.clone(),
            account,
            mode: if self_signed { AuthMode::SelfSignedJwt } else { AuthMode::TokenExchange },
            api_audience: "https://recaptchaenterprise.googleapis.com/".into(),
        };
        let input = auth.signing_input(now);
        let parts: Vec<Value> = input
            .split('.')
            .map(|p| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap())
            .collect();
        prop_assert_eq!(parts.len(), 2);
        prop_assert_eq!(&parts[0]["kid"], "0123abcd");
        let claims = &parts[1];
        prop_assert_eq!(&claims["iss"], &Value::from(email));
        prop_assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), JWT_LIFETIME_S);
        if self_signed {
            prop_assert_eq!(&claims["aud"], "https://recaptchaenterprise.googleapis.com/");
            prop_assert!(claims.get("scope").is_none());
        } else {
            prop_assert_eq!(&claims["aud"], "https://oauth2.googleapis.com/token");
            prop_assert_eq!(&claims["scope"], SCOPE);
        }
    }
}
