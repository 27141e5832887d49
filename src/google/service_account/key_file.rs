//! A Google service-account key file (`GOOGLE_SERVICE_ACCOUNT_KEY`), read
//! and checked without ever quoting it: an error names the field and why.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::url::{base_url, https_unless_loopback};

/// Largest key file accepted (Google's are about 2.3 KB).
pub const MAX_KEY_FILE: usize = 16 * 1024;
const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

/// The parts of the key file the worker uses. `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceAccount {
    pub client_email: String,
    pub private_key_id: String,
    /// The PKCS#8 DER bytes of `private_key`, for WebCrypto's `importKey`.
    pub private_key_der: Vec<u8>,
    /// `token_uri`, validated like `RECAPTCHA_API_BASE`.
    pub token_uri: String,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("private_key_id", &"<redacted>")
            .field("private_key", &"<redacted>")
            .field("token_uri", &self.token_uri)
            .finish()
    }
}

impl ServiceAccount {
    /// Reads a key file as Google issues it. The error never repeats any
    /// part of the input.
    pub fn parse(json: &str) -> Result<Self, String> {
        if json.len() > MAX_KEY_FILE {
            return Err(format!("is over {MAX_KEY_FILE} bytes: not a key file"));
        }
        // Each field stays raw until it is checked to be a string, so no
        // parse error can quote a value.
        #[derive(Deserialize)]
        struct Fields<'a> {
            #[serde(borrow, rename = "type")]
            kind: Option<&'a RawValue>,
            #[serde(borrow)]
            client_email: Option<&'a RawValue>,
            #[serde(borrow)]
            private_key_id: Option<&'a RawValue>,
            #[serde(borrow)]
            private_key: Option<&'a RawValue>,
            #[serde(borrow)]
            token_uri: Option<&'a RawValue>,
        }
        let fields: Fields = serde_json::from_str(json).map_err(|e| {
            format!(
                "is not a JSON object (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        let text = |name: &str, raw: Option<&RawValue>| -> Result<String, String> {
            let raw = raw.ok_or_else(|| format!("{name} is missing"))?;
            serde_json::from_str::<String>(raw.get()).map_err(|_| format!("{name} is not a string"))
        };
        let kind = text("type", fields.kind)?;
        let client_email = text("client_email", fields.client_email)?;
        let private_key_id = text("private_key_id", fields.private_key_id)?;
        let private_key = text("private_key", fields.private_key)?;
        let token_uri = text("token_uri", fields.token_uri)?;
        if kind != "service_account" {
            return Err("type is not \"service_account\" (is this a key file?)".into());
        }
        if !is_email(&client_email) {
            return Err("client_email is not an email address".into());
        }
        if private_key_id.is_empty()
            || private_key_id.len() > 128
            || !private_key_id.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err("private_key_id is not a key ID (letters and digits)".into());
        }
        let private_key_der = pem_to_der(&private_key)?;
        let token_uri = checked_token_uri(&token_uri).map_err(|why| format!("token_uri {why}"))?;
        Ok(ServiceAccount {
            client_email,
            private_key_id,
            private_key_der,
            token_uri,
        })
    }
}

/// An OAuth token endpoint: https, or plain http only on this machine, as
/// for `RECAPTCHA_API_BASE` (the assertion is a credential for an hour).
pub fn checked_token_uri(v: &str) -> Result<String, String> {
    base_url(v, true)
        .map_err(|_| "is not an http(s) URL without query or user info".to_owned())
        .and_then(https_unless_loopback)
}

/// `local@domain`, visible ASCII: it is logged and signed into claims.
fn is_email(s: &str) -> bool {
    let mut parts = s.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && s.bytes().all(|b| b.is_ascii_graphic())
}

/// A PKCS#8 PEM's DER bytes. PKCS#1 (`BEGIN RSA PRIVATE KEY`) is refused by
/// name: WebCrypto imports PKCS#8 only, and Google issues PKCS#8.
fn pem_to_der(pem: &str) -> Result<Vec<u8>, String> {
    let pem = pem.trim();
    if pem.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
        return Err("private_key is PKCS#1 (BEGIN RSA PRIVATE KEY); a PKCS#8 key (BEGIN PRIVATE KEY) is needed".into());
    }
    let body = pem
        .strip_prefix(PEM_BEGIN)
        .and_then(|rest| rest.strip_suffix(PEM_END))
        .ok_or("private_key is not a PEM block (BEGIN PRIVATE KEY … END PRIVATE KEY)")?;
    let b64: String = body.split_ascii_whitespace().collect();
    let der = STANDARD
        .decode(b64)
        .map_err(|_| "private_key's PEM body is not base64")?;
    // A DER SEQUENCE with room for an RSA key; WebCrypto checks the rest.
    if der.len() < 64 || der[0] != 0x30 {
        return Err("private_key's PEM body is not a PKCS#8 structure".into());
    }
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;
    use serde_json::{Map, Value};

    /// Not a real key: a DER-shaped placeholder, enough for parsing.
    fn pem() -> String {
        let der: Vec<u8> = [0x30, 0x82].iter().copied().chain(0..200u8).collect();
        format!("{PEM_BEGIN}\n{}\n{PEM_END}\n", STANDARD.encode(der))
    }

    fn key_file(edit: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut m = Map::new();
        m.insert("type".into(), "service_account".into());
        m.insert("project_id".into(), "p".into());
        m.insert("private_key_id".into(), "abc123".into());
        m.insert("private_key".into(), pem().into());
        m.insert(
            "client_email".into(),
            "annotator@p.iam.gserviceaccount.com".into(),
        );
        m.insert(
            "token_uri".into(),
            "https://oauth2.googleapis.com/token".into(),
        );
        edit(&mut m);
        Value::Object(m).to_string()
    }

    #[test]
    fn a_key_file_as_google_issues_it_is_read() {
        let sa = ServiceAccount::parse(&key_file(|_| {})).unwrap();
        assert_eq!(sa.client_email, "annotator@p.iam.gserviceaccount.com");
        assert_eq!(sa.token_uri, "https://oauth2.googleapis.com/token");
        assert_eq!(sa.private_key_der[0], 0x30);
        let debug = format!("{sa:?}");
        assert!(!debug.contains("abc123") && !debug.contains("MIIE"));
    }

    #[test]
    fn each_wrong_field_is_named_without_quoting_the_file() {
        let pkcs1 = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----";
        let not_b64 = format!("{PEM_BEGIN}\n!!secret!!\n{PEM_END}");
        // (field, new value or None to remove it, what the error must say)
        let cases: Vec<(&str, Option<Value>, &str)> = vec![
            ("type", Some("authorized_user".into()), "type"),
            ("client_email", None, "client_email is missing"),
            (
                "client_email",
                Some(7.into()),
                "client_email is not a string",
            ),
            ("private_key_id", Some("a b".into()), "private_key_id"),
            ("private_key", Some(pkcs1.into()), "PKCS#1"),
            ("private_key", Some(not_b64.into()), "not base64"),
            (
                "token_uri",
                Some("http://oauth.example/token".into()),
                "token_uri must use https",
            ),
        ];
        for (field, value, want) in cases {
            let file = key_file(|m| match value {
                Some(v) => {
                    m.insert(field.into(), v);
                }
                None => {
                    m.remove(field);
                }
            });
            let why = ServiceAccount::parse(&file).unwrap_err();
            assert!(why.contains(want), "{why} (wanted {want})");
            assert!(!why.contains("secret") && !why.contains("AAAA"), "{why}");
        }
        let why = ServiceAccount::parse("{\"private_key\": \"-----BEGIN PRIVATE KEY-----\nMIIE")
            .unwrap_err();
        assert!(why.starts_with("is not a JSON object"), "{why}");
        assert!(!why.contains("MIIE"));
    }

    #[test]
    fn a_loopback_token_uri_may_be_plain_http() {
        let file = key_file(|m| {
            m.insert("token_uri".into(), "http://127.0.0.1:9/token".into());
        });
        assert_eq!(
            ServiceAccount::parse(&file).unwrap().token_uri,
            "http://127.0.0.1:9/token"
        );
    }
}
