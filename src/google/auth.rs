//! How an annotate call proves who sends it: an API key in the URL, or a
//! service account's bearer token, obtained through the OAuth 2.0
//! JWT-bearer exchange or (AIP-4111) as a self-signed JWT. The shell signs
//! with WebCrypto; everything else is decided here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::delivery::retry::{disposition, Disposition};
use crate::google::service_account::ServiceAccount;

/// The scope the exchange asks for (annotate needs no narrower one).
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
/// A signed assertion (and a self-signed token) lives one hour, Google's most.
pub const JWT_LIFETIME_S: u64 = 3600;
/// A token is replaced this long before it expires.
pub const REFRESH_MARGIN_MS: u64 = 5 * 60 * 1000;
/// A token fetch's own time limit, whatever time the annotation that
/// starts it has left: others share the fetch, and each stops waiting at
/// its own deadline.
pub const TOKEN_FETCH_TIMEOUT_MS: u64 = 10_000;

/// `GOOGLE_AUTH_MODE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// Sign an assertion, exchange it at `token_uri` for an access token.
    /// Works for every Google API: the default.
    TokenExchange,
    /// Use the signed JWT itself as the bearer token: no round trip.
    SelfSignedJwt,
}

impl AuthMode {
    pub fn parse(v: &str) -> Option<Self> {
        match v.trim().to_ascii_lowercase().as_str() {
            "exchange" => Some(Self::TokenExchange),
            "self-signed-jwt" => Some(Self::SelfSignedJwt),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::TokenExchange => "exchange",
            Self::SelfSignedJwt => "self-signed-jwt",
        }
    }
}

/// A service account as configured: the key file, the mode and where its
/// JWTs are addressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccountAuth {
    pub account: ServiceAccount,
    pub mode: AuthMode,
    /// Where the exchange goes: `GOOGLE_TOKEN_URI`, else the key file's.
    pub token_uri: String,
    /// The self-signed JWT's `aud`: `{RECAPTCHA_API_BASE}/`.
    pub api_audience: String,
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    kid: &'a str,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'static str>,
    aud: &'a str,
    iat: u64,
    exp: u64,
}

impl ServiceAccountAuth {
    /// `base64url(header).base64url(claims)`: the bytes to sign with RS256,
    /// for a JWT issued at `now_s` (seconds since the epoch).
    pub fn signing_input(&self, now_s: u64) -> String {
        let header = Header {
            alg: "RS256",
            typ: "JWT",
            kid: &self.account.private_key_id,
        };
        let email = self.account.client_email.as_str();
        let claims = match self.mode {
            AuthMode::TokenExchange => Claims {
                iss: email,
                sub: None,
                scope: Some(SCOPE),
                aud: &self.token_uri,
                iat: now_s,
                exp: now_s + JWT_LIFETIME_S,
            },
            AuthMode::SelfSignedJwt => Claims {
                iss: email,
                sub: Some(email),
                scope: None,
                aud: &self.api_audience,
                iat: now_s,
                exp: now_s + JWT_LIFETIME_S,
            },
        };
        format!("{}.{}", part(&header), part(&claims))
    }
}

/// One JWT part: base64url of its JSON (which cannot fail for these structs).
fn part(value: &impl Serialize) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

/// The signed JWT: the signing input, a dot, the signature.
pub fn jwt(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The exchange's form body. A JWT is base64url and dots: nothing to encode.
pub fn token_request_body(assertion: &str) -> String {
    format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
    )
}

/// A bearer token and when it stops being used (ms since the epoch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub value: String,
    pub refresh_at_ms: u64,
}

impl Token {
    /// Valid for `lifetime_ms` from `now_ms`; replaced [`REFRESH_MARGIN_MS`]
    /// before it ends, or at half its life if that is shorter.
    pub fn new(value: String, now_ms: u64, lifetime_ms: u64) -> Self {
        let margin = REFRESH_MARGIN_MS.min(lifetime_ms / 2);
        Token {
            value,
            refresh_at_ms: now_ms.saturating_add(lifetime_ms - margin),
        }
    }

    pub fn is_fresh(&self, now_ms: u64) -> bool {
        now_ms < self.refresh_at_ms
    }
}

/// Reads the token endpoint's success answer. The token goes into a
/// header, so it must be a plain visible-ASCII word.
pub fn parse_token_response(body: &str, now_ms: u64) -> Result<Token, String> {
    #[derive(Deserialize)]
    struct Answer {
        access_token: String,
        expires_in: u64,
        #[serde(default)]
        token_type: Option<String>,
    }
    let a: Answer = serde_json::from_str(body)
        .map_err(|_| "the token endpoint's answer is not an access token".to_owned())?;
    if a.token_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
    {
        return Err("the token endpoint issued a token that is not a bearer token".into());
    }
    if a.access_token.is_empty()
        || a.access_token.len() > 4096
        || !a.access_token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err("the token endpoint issued a token that cannot be sent in a header".into());
    }
    if a.expires_in == 0 || a.expires_in > 86_400 {
        return Err("the token endpoint's expires_in is out of range".into());
    }
    Ok(Token::new(a.access_token, now_ms, a.expires_in * 1000))
}

/// Why an attempt got no bearer token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthFailure {
    /// The token endpoint's status; `None` when it gave no answer.
    pub status: Option<u16>,
    /// What went wrong, with the endpoint's OAuth error when it sent one.
    pub error: String,
    /// WebCrypto refused the private key: no retry can help.
    pub key_refused: bool,
}

impl AuthFailure {
    pub fn key_refused() -> Self {
        AuthFailure {
            status: None,
            error: "GOOGLE_SERVICE_ACCOUNT_KEY: private_key was refused by WebCrypto as an RSA PKCS#8 signing key".into(),
            key_refused: true,
        }
    }

    /// Retried like an annotate call with the same status: an outage or
    /// throttling is transient, a refused assertion is not.
    pub fn disposition(&self) -> Disposition {
        if self.key_refused {
            Disposition::Final
        } else {
            disposition(self.status)
        }
    }
}

/// The token endpoint's error, `{"error":…,"error_description":…}`, as one
/// short line; `None` if the body is not one.
pub fn parse_oauth_error(body: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        #[serde(default)]
        error_description: String,
    }
    let e: OAuthError = serde_json::from_str(body).ok()?;
    Some(if e.error_description.is_empty() {
        e.error
    } else {
        format!("{}: {}", e.error, e.error_description)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;
    use serde_json::Value;

    fn auth(mode: AuthMode) -> ServiceAccountAuth {
        ServiceAccountAuth {
            account: ServiceAccount {
                client_email: "a@p.iam.gserviceaccount.com".into(),
                private_key_id: "kid1".into(),
                private_key_der: vec![0x30; 64],
                token_uri: "https://oauth2.googleapis.com/token".into(),
            },
            mode,
            token_uri: "https://oauth2.googleapis.com/token".into(),
            api_audience: "https://recaptchaenterprise.googleapis.com/".into(),
        }
    }

    fn decode(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn the_exchange_assertion_is_addressed_to_the_token_endpoint_with_the_scope() {
        let input = auth(AuthMode::TokenExchange).signing_input(1_700_000_000);
        let (header, claims) = input.split_once('.').unwrap();
        assert_eq!(
            decode(header),
            serde_json::json!({"alg":"RS256","typ":"JWT","kid":"kid1"})
        );
        assert_eq!(
            decode(claims),
            serde_json::json!({
                "iss": "a@p.iam.gserviceaccount.com",
                "scope": SCOPE,
                "aud": "https://oauth2.googleapis.com/token",
                "iat": 1_700_000_000u64,
                "exp": 1_700_003_600u64,
            })
        );
    }

    #[test]
    fn a_self_signed_jwt_is_addressed_to_the_api_without_a_scope() {
        let input = auth(AuthMode::SelfSignedJwt).signing_input(10);
        let claims = decode(input.split_once('.').unwrap().1);
        assert_eq!(claims["aud"], "https://recaptchaenterprise.googleapis.com/");
        assert_eq!(claims["sub"], claims["iss"]);
        assert_eq!(claims.get("scope"), None);
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            3600
        );
    }

    #[test]
    fn a_jwt_is_three_base64url_parts() {
        let t = jwt("a.b", &[0xfb, 0xff]);
        assert_eq!(t, "a.b.-_8");
        assert_eq!(
            token_request_body(&t),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.-_8"
        );
    }

    #[test]
    fn a_token_is_replaced_five_minutes_early_or_at_half_life() {
        let hour = Token::new("t".into(), 0, 3_600_000);
        assert!(hour.is_fresh(3_299_999) && !hour.is_fresh(3_300_000));
        let short = Token::new("t".into(), 1_000, 10_000);
        assert_eq!(short.refresh_at_ms, 6_000);
    }

    #[test]
    fn token_answers_are_checked_before_use() {
        let ok = parse_token_response(
            r#"{"access_token":"ya29.abc","expires_in":3599,"token_type":"Bearer"}"#,
            0,
        )
        .unwrap();
        assert_eq!(ok.value, "ya29.abc");
        for bad in [
            r#"{"access_token":"a b","expires_in":60}"#,
            r#"{"access_token":"x\r\nInjected: 1","expires_in":60}"#,
            r#"{"access_token":"","expires_in":60}"#,
            r#"{"access_token":"x","expires_in":0}"#,
            r#"{"access_token":"x","expires_in":60,"token_type":"MAC"}"#,
            r#"{"expires_in":60}"#,
        ] {
            assert!(parse_token_response(bad, 0).is_err(), "{bad}");
        }
        assert_eq!(
            parse_oauth_error(
                r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#
            )
            .as_deref(),
            Some("invalid_grant: Invalid JWT Signature.")
        );
        assert_eq!(parse_oauth_error("<html>"), None);
    }

    #[test]
    fn a_failed_exchange_is_retried_only_when_transient() {
        let failure = |status| AuthFailure {
            status,
            error: "x".into(),
            key_refused: false,
        };
        assert_eq!(failure(Some(503)).disposition(), Disposition::Retryable);
        assert_eq!(failure(None).disposition(), Disposition::Retryable);
        assert_eq!(failure(Some(400)).disposition(), Disposition::Final);
        assert_eq!(AuthFailure::key_refused().disposition(), Disposition::Final);
    }

    #[test]
    fn auth_modes_are_named_as_configured() {
        assert_eq!(
            AuthMode::parse("Self-Signed-JWT"),
            Some(AuthMode::SelfSignedJwt)
        );
        assert_eq!(AuthMode::parse("exchange"), Some(AuthMode::TokenExchange));
        assert_eq!(AuthMode::parse("jwt"), None);
    }
}
