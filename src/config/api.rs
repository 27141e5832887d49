//! The annotate API's settings: base URL, project and credential.

use super::*;
use crate::google::annotate_call::Credential;
use crate::google::service_account::key_file::{checked_token_uri, ServiceAccount};
use crate::google::service_account::{AuthMode, ServiceAccountAuth};

pub(super) fn api_target(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<ApiTarget, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let base = base_url(get(API_BASE).as_deref().unwrap_or(DEFAULT_API_BASE), true)
        .and_then(https_unless_loopback)
        .map_err(|why| errors.push(ConfigError::new(API_BASE, why)));
    let project = match get(PROJECT_ID) {
        None => Err(ConfigError::new(PROJECT_ID, "required but not set")),
        Some(p) if is_project_id(&p) => Ok(p),
        Some(p) => Err(ConfigError::new(
            PROJECT_ID,
            format!("{p:?} is not a Google Cloud project ID or number"),
        )),
    }
    .map_err(|e| errors.push(e));
    // A service account, when configured, is used even if a key is set too.
    let credential = match get(SERVICE_ACCOUNT_KEY) {
        Some(file) => service_account(get, &file, base.as_deref().ok())
            .map(|sa| Credential::ServiceAccount(Box::new(sa)))
            .map_err(|mut e| errors.append(&mut e)),
        None => api_key(get)
            .map(Credential::ApiKey)
            .map_err(|e| errors.push(e)),
    };
    match (base, project, credential) {
        (Ok(base), Ok(project), Ok(credential)) => Ok(ApiTarget::new(base, project, credential)),
        _ => Err(errors),
    }
}

/// The key's value never appears in a message.
fn api_key(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    match get(API_KEY) {
        None => Err(ConfigError::new(
            API_KEY,
            "required secret not set (wrangler secret put RECAPTCHA_API_KEY, or .dev.vars locally; or GOOGLE_SERVICE_ACCOUNT_KEY for a service account)",
        )),
        Some(k) if k.is_empty() => Err(ConfigError::new(API_KEY, "is empty")),
        Some(k) if k.len() > 256 || !k.bytes().all(|b| b.is_ascii_graphic()) => Err(
            ConfigError::new(API_KEY, "has whitespace, non-ASCII or is too long"),
        ),
        Some(k) => Ok(k),
    }
}

/// The key file, the mode, and where the JWTs are addressed. No part of
/// the key file appears in a message.
fn service_account(
    get: &impl Fn(&str) -> Option<String>,
    file: &str,
    base: Option<&str>,
) -> Result<ServiceAccountAuth, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let account = ServiceAccount::parse(file)
        .map_err(|why| errors.push(ConfigError::new(SERVICE_ACCOUNT_KEY, why)));
    let mode = match get(AUTH_MODE) {
        None => Ok(AuthMode::TokenExchange),
        Some(v) => AuthMode::parse(&v).ok_or_else(|| {
            errors.push(ConfigError::new(
                AUTH_MODE,
                format!(
                    "{:?} is not exchange or self-signed-jwt",
                    crate::redact::snippet(&v)
                ),
            ))
        }),
    };
    let token_uri = get(TOKEN_URI)
        .map(|v| checked_token_uri(&v).map_err(|why| errors.push(ConfigError::new(TOKEN_URI, why))))
        .transpose();
    match (account, mode, token_uri, base) {
        (Ok(account), Ok(mode), Ok(token_uri), Some(base)) => {
            Ok(ServiceAccountAuth::new(account, mode, token_uri, base))
        }
        _ => Err(errors),
    }
}

/// Project ID (`my-project`), number (`123456789`) or legacy domain-scoped
/// ID (`example.com:my-project`). Still percent-encoded in the URL.
fn is_project_id(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:_".contains(&b))
}
