//! A Google service account signing the annotate calls: its key file
//! ([`key_file`]), the JWTs it signs ([`jwt`]) and the bearer tokens they
//! become ([`token`]): when a token is fresh, when it is replaced, which
//! fetch a caller waits for, what a failure means. The shell signs with
//! WebCrypto and makes the calls; everything else is decided here.

pub mod jwt;
pub mod key_file;
pub mod token;

use key_file::ServiceAccount;

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

impl ServiceAccountAuth {
    /// `token_uri` is `GOOGLE_TOKEN_URI`, checked, if set; `api_base` the
    /// validated `RECAPTCHA_API_BASE`.
    pub fn new(
        account: ServiceAccount,
        mode: AuthMode,
        token_uri: Option<String>,
        api_base: &str,
    ) -> Self {
        ServiceAccountAuth {
            token_uri: token_uri.unwrap_or_else(|| account.token_uri.clone()),
            account,
            mode,
            api_audience: format!("{api_base}/"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    fn account() -> ServiceAccount {
        ServiceAccount {
            client_email: "a@p.iam.gserviceaccount.com".into(),
            private_key_id: "kid1".into(),
            private_key_der: vec![0x30; 64],
            token_uri: "https://oauth2.googleapis.com/token".into(),
        }
    }

    #[test]
    fn the_token_uri_setting_beats_the_key_files_and_the_api_is_the_audience() {
        let api = "https://recaptchaenterprise.googleapis.com";
        let from_file = ServiceAccountAuth::new(account(), AuthMode::TokenExchange, None, api);
        assert_eq!(from_file.token_uri, "https://oauth2.googleapis.com/token");
        assert_eq!(
            from_file.api_audience,
            "https://recaptchaenterprise.googleapis.com/"
        );
        let set = Some("http://127.0.0.1:9/token".to_owned());
        let set = ServiceAccountAuth::new(account(), AuthMode::TokenExchange, set, api);
        assert_eq!(set.token_uri, "http://127.0.0.1:9/token");
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
