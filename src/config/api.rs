//! The annotate API's settings: base URL, project and credential.

use super::values::Values;
use super::vars::{API_BASE, API_KEY, AUTH_MODE, PROJECT_ID, SERVICE_ACCOUNT_KEY, TOKEN_URI};
use crate::error::ConfigError;
use crate::google::annotate_call::{ApiTarget, Credential};
use crate::google::service_account::key_file::ServiceAccount;
use crate::google::service_account::{AuthMode, ServiceAccountAuth};
use crate::url::{base_url, https_unless_loopback};

pub(super) fn api_target(values: &Values) -> Result<ApiTarget, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let base = values.value(&API_BASE).map_err(|e| errors.push(e));
    let project = values.value(&PROJECT_ID).map_err(|e| errors.push(e));
    // A service account, when configured, is used even if a key is set too.
    let credential = match values.get(&SERVICE_ACCOUNT_KEY) {
        Some(account) => service_account(values, account, base.as_deref().ok())
            .map(|sa| Credential::ServiceAccount(Box::new(sa)))
            .map_err(|mut e| errors.append(&mut e)),
        None => values
            .value(&API_KEY)
            .map(Credential::ApiKey)
            .map_err(|e| errors.push(e)),
    };
    match (base, project, credential) {
        (Ok(base), Ok(project), Ok(credential)) => Ok(ApiTarget::new(base, project, credential)),
        _ => Err(errors),
    }
}

/// The key's value never appears in a message.
pub(super) fn api_key(k: &str) -> Result<String, String> {
    if k.len() > 256 || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("has whitespace, non-ASCII or is too long".into());
    }
    Ok(k.to_owned())
}

pub(super) fn api_base(v: &str) -> Result<String, String> {
    base_url(v, true).and_then(https_unless_loopback)
}

pub(super) fn auth_mode(v: &str) -> Result<AuthMode, String> {
    AuthMode::parse(v).ok_or_else(|| {
        format!(
            "{:?} is not exchange or self-signed-jwt",
            crate::redact::snippet(v)
        )
    })
}

/// The key file, the mode, and where the JWTs are addressed. No part of
/// the key file appears in a message.
fn service_account(
    values: &Values,
    account: Result<ServiceAccount, ConfigError>,
    base: Option<&str>,
) -> Result<ServiceAccountAuth, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let account = account.map_err(|e| errors.push(e));
    let mode = values.value(&AUTH_MODE).map_err(|e| errors.push(e));
    let token_uri = values
        .get(&TOKEN_URI)
        .transpose()
        .map_err(|e| errors.push(e));
    match (account, mode, token_uri, base) {
        (Ok(account), Ok(mode), Ok(token_uri), Some(base)) => {
            Ok(ServiceAccountAuth::new(account, mode, token_uri, base))
        }
        _ => Err(errors),
    }
}

/// Project ID (`my-project`), number (`123456789`) or legacy domain-scoped
/// ID (`example.com:my-project`). Still percent-encoded in the URL.
pub(super) fn project_id(p: &str) -> Result<String, String> {
    let ok = (1..=128).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:_".contains(&b));
    if !ok {
        return Err(format!("{p:?} is not a Google Cloud project ID or number"));
    }
    Ok(p.to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{parse, GOOD};
    use crate::config::{API_BASE, API_KEY, AUTH_MODE, PROJECT_ID, SERVICE_ACCOUNT_KEY, TOKEN_URI};
    use crate::google::service_account::AuthMode;
    use crate::request::assessment_id::AssessmentId;
    use crate::testing::test;

    #[test]
    fn project_and_key_are_percent_encoded_in_the_url() {
        let c = parse(&[
            (PROJECT_ID, "example.com:proj"),
            (API_KEY, "a+b/c&d=e"),
            (API_BASE, "http://127.0.0.1:9/base/"),
        ]);
        let id = AssessmentId::parse("AAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(
            c.api.unwrap().annotate_url(&id),
            "http://127.0.0.1:9/base/v1/projects/example.com%3Aproj/assessments/AAAAAAAAAAAAAAAA:annotate?key=a%2Bb%2Fc%26d%3De"
        );
    }

    #[test]
    fn missing_required_values_disable_annotation_and_name_the_variable() {
        let c = parse(&[]);
        let errors = c.api.unwrap_err();
        let vars: Vec<_> = errors.iter().map(|e| e.var).collect();
        assert_eq!(vars, vec![PROJECT_ID, API_KEY]);
        assert_eq!(c.outcome_header, "X-Recaptcha-Outcome");
    }

    #[test]
    fn the_api_key_never_appears_in_a_config_message() {
        let secret = "secret key with spaces";
        let c = parse(&[(PROJECT_ID, "p"), (API_KEY, secret)]);
        assert!(c.api.is_err());
        assert!(c.problems.iter().all(|p| !p.to_string().contains(secret)));
        let ok = parse(GOOD).api.unwrap();
        assert!(!format!("{ok:?}").contains("AIzaSyExample"));
    }

    /// A key file with a placeholder key (parsing only: not a real key).
    fn key_file(email: &str) -> String {
        let der: String = std::iter::once("MIIA")
            .chain(std::iter::repeat_n("AAAA", 30))
            .collect();
        serde_json::json!({
            "type": "service_account",
            "private_key_id": "0123abcd",
            "private_key": format!("-----BEGIN PRIVATE KEY-----\n{der}\n-----END PRIVATE KEY-----\n"),
            "client_email": email,
            "token_uri": "https://oauth2.googleapis.com/token",
        })
        .to_string()
    }

    #[test]
    fn a_service_account_is_used_even_with_an_api_key_and_the_url_carries_no_key() {
        let file = key_file("a@p.iam.gserviceaccount.com");
        let mut vars = GOOD.to_vec();
        vars.push((SERVICE_ACCOUNT_KEY, &file));
        let c = parse(&vars);
        let api = c.api.unwrap();
        let sa = api.service_account().unwrap();
        assert_eq!(sa.mode, AuthMode::TokenExchange);
        assert_eq!(sa.token_uri, "https://oauth2.googleapis.com/token");
        assert_eq!(
            sa.api_audience,
            "https://recaptchaenterprise.googleapis.com/"
        );
        let id = AssessmentId::parse("bc304e08a0000000").unwrap();
        assert!(!api.annotate_url(&id).contains('?'));
        let line = crate::log::Event::credential_in_use(&api).to_line();
        assert!(line.contains("a@p.iam.gserviceaccount.com"), "{line}");
        assert!(
            !line.contains("0123abcd") && !line.contains("MIIA"),
            "{line}"
        );
    }

    #[test]
    fn the_token_uri_and_the_mode_can_be_set() {
        let file = key_file("a@p.iam.gserviceaccount.com");
        let c = parse(&[
            (PROJECT_ID, "p"),
            (SERVICE_ACCOUNT_KEY, &file),
            (TOKEN_URI, "http://127.0.0.1:9/token"),
            (AUTH_MODE, "self-signed-jwt"),
        ]);
        let api = c.api.unwrap();
        let sa = api.service_account().unwrap();
        assert_eq!(
            (sa.mode, sa.token_uri.as_str()),
            (AuthMode::SelfSignedJwt, "http://127.0.0.1:9/token")
        );
        let c = parse(&[
            (PROJECT_ID, "p"),
            (SERVICE_ACCOUNT_KEY, &file),
            (TOKEN_URI, "http://oauth.example/token"),
            (AUTH_MODE, "magic"),
        ]);
        let vars: Vec<_> = c.problems.iter().map(|e| e.var).collect();
        assert_eq!(vars, vec![AUTH_MODE, TOKEN_URI]);
    }

    #[test]
    fn a_bad_key_file_disables_annotation_without_echoing_it() {
        let file = key_file("not-an-email");
        let c = parse(&[GOOD[0], GOOD[1], (SERVICE_ACCOUNT_KEY, &file)]);
        let errors = c.api.unwrap_err();
        assert_eq!(errors[0].var, SERVICE_ACCOUNT_KEY);
        assert!(errors[0].to_string().contains("client_email"));
        assert!(!errors[0].to_string().contains("not-an-email"));
    }

    #[test]
    fn the_api_base_must_be_https_unless_it_is_this_machine() {
        let with_base = |b: &str| {
            let mut vars = GOOD.to_vec();
            vars.push((API_BASE, b));
            parse(&vars).api
        };
        for ok in [
            "https://recaptchaenterprise.googleapis.com",
            "https://proxy.example/google",
            "http://127.0.0.1:8788",
            "http://127.9.9.9",
            "http://localhost:1",
            "http://[::1]:8788",
        ] {
            assert!(with_base(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://recaptchaenterprise.googleapis.com",
            "http://10.0.0.1",
            "http://127.0.0.1.example.com",
            "http://localhost.example",
            "http://[::2]",
            "http://127.0.0",
        ] {
            let errors = with_base(bad).unwrap_err();
            assert_eq!(errors[0].var, API_BASE, "{bad}");
            assert!(
                errors[0].to_string().contains("must use https"),
                "{bad}: {}",
                errors[0]
            );
        }
    }
}
