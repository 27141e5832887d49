//! The JWT a service account signs: its claims for the OAuth 2.0
//! JWT-bearer exchange or (AIP-4111) as a self-signed bearer token, and
//! what the signed JWT becomes. The shell signs the bytes with WebCrypto.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use super::token::Token;
use super::{AuthMode, ServiceAccountAuth};

/// The scope the exchange asks for (annotate needs no narrower one).
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
/// A signed assertion (and a self-signed token) lives one hour, Google's most.
pub const JWT_LIFETIME_S: u64 = 3600;

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

/// What a signed JWT is used as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signed<'a> {
    /// The bearer token itself (self-signed mode).
    Token(Token),
    /// An assertion to trade for an access token: POST `body` to `url`.
    Exchange { url: &'a str, body: String },
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

    /// What `jwt`, signed at `now_ms`, becomes in this account's mode.
    pub fn use_signed(&self, jwt: String, now_ms: u64) -> Signed<'_> {
        match self.mode {
            AuthMode::SelfSignedJwt => {
                Signed::Token(Token::new(jwt, now_ms, JWT_LIFETIME_S * 1000))
            }
            AuthMode::TokenExchange => Signed::Exchange {
                url: &self.token_uri,
                body: token_request_body(&jwt),
            },
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::service_account::key_file::ServiceAccount;
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
    fn a_signed_jwt_is_the_token_when_self_signed_else_exchanged_at_the_token_uri() {
        let own = auth(AuthMode::SelfSignedJwt);
        assert_eq!(
            own.use_signed("a.b.c".into(), 1_000),
            Signed::Token(Token::new("a.b.c".into(), 1_000, 3_600_000))
        );
        let exchange = auth(AuthMode::TokenExchange);
        assert_eq!(
            exchange.use_signed("a.b.c".into(), 1_000),
            Signed::Exchange {
                url: "https://oauth2.googleapis.com/token",
                body: token_request_body("a.b.c"),
            }
        );
    }
}
