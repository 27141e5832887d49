//! The variables' names and defaults, and how a value the runtime holds
//! (a `[vars]` entry may be a TOML number or boolean) becomes text.

use crate::error::ConfigError;

pub const PROJECT_ID: &str = "RECAPTCHA_PROJECT_ID";
pub const API_KEY: &str = "RECAPTCHA_API_KEY";
pub const API_BASE: &str = "RECAPTCHA_API_BASE";
pub const SERVICE_ACCOUNT_KEY: &str = "GOOGLE_SERVICE_ACCOUNT_KEY";
pub const TOKEN_URI: &str = "GOOGLE_TOKEN_URI";
pub const AUTH_MODE: &str = "GOOGLE_AUTH_MODE";
pub const ORIGIN_URL: &str = "ORIGIN_URL";
pub const OUTCOME_HEADER: &str = "OUTCOME_HEADER";
pub const TOKEN_HEADER: &str = "TOKEN_HEADER";
pub const TOKEN_COOKIES: &str = "TOKEN_COOKIES";
pub const ASSESSMENT_ID_HEADER: &str = "ASSESSMENT_ID_HEADER";
pub const ADMIN_PATH: &str = "ADMIN_PATH";
pub const ADMIN_TOKEN: &str = "ADMIN_TOKEN";
pub const QUEUE_RETRY_BASE_SECONDS: &str = "QUEUE_RETRY_BASE_SECONDS";
pub const QUEUE_RETRY_MAX_SECONDS: &str = "QUEUE_RETRY_MAX_SECONDS";
pub const QUEUE_MAX_ATTEMPTS: &str = "QUEUE_MAX_ATTEMPTS";
pub const DEAD_LETTER_QUEUE: &str = "DEAD_LETTER_QUEUE";
pub const LOG_LEVEL: &str = "LOG_LEVEL";
pub const TOKEN_SOURCES: &str = "TOKEN_SOURCES";
pub const OUTCOME_RULES: &str = "OUTCOME_RULES";
pub const OUTCOME_RULES_HASH_KEY: &str = "OUTCOME_RULES_HASH_KEY";
/// Google's WAF worker's site keys, by the names it reads them under.
pub const ACTION_SITE_KEY: &str = "ACTION_SITE_KEY";
pub const ENTERPRISE_SITE_KEY: &str = "ENTERPRISE_SITE_KEY";
pub const CHALLENGE_PAGE_SITE_KEY: &str = "CHALLENGE_PAGE_SITE_KEY";
pub const SESSION_SITE_KEY: &str = "SESSION_SITE_KEY";
pub const EXPRESS_SITE_KEY: &str = "EXPRESS_SITE_KEY";
pub const SITE_KEY_VARS: &[&str] = &[
    ACTION_SITE_KEY,
    ENTERPRISE_SITE_KEY,
    CHALLENGE_PAGE_SITE_KEY,
    SESSION_SITE_KEY,
    EXPRESS_SITE_KEY,
];
/// A binding, not a variable: the Worker requests are handed to.
pub const UPSTREAM: &str = "UPSTREAM";

/// Every variable the worker reads, for checking the runtime's values.
pub const VARS: &[&str] = &[
    PROJECT_ID,
    API_KEY,
    API_BASE,
    SERVICE_ACCOUNT_KEY,
    TOKEN_URI,
    AUTH_MODE,
    ORIGIN_URL,
    OUTCOME_HEADER,
    TOKEN_HEADER,
    TOKEN_COOKIES,
    TOKEN_SOURCES,
    ACTION_SITE_KEY,
    ENTERPRISE_SITE_KEY,
    CHALLENGE_PAGE_SITE_KEY,
    SESSION_SITE_KEY,
    EXPRESS_SITE_KEY,
    ASSESSMENT_ID_HEADER,
    ADMIN_PATH,
    ADMIN_TOKEN,
    QUEUE_RETRY_BASE_SECONDS,
    QUEUE_RETRY_MAX_SECONDS,
    QUEUE_MAX_ATTEMPTS,
    DEAD_LETTER_QUEUE,
    LOG_LEVEL,
    OUTCOME_RULES,
    OUTCOME_RULES_HASH_KEY,
];

pub const DEFAULT_API_BASE: &str = "https://recaptchaenterprise.googleapis.com";
pub const DEFAULT_OUTCOME_HEADER: &str = "X-Recaptcha-Outcome";
pub const DEFAULT_TOKEN_HEADER: &str = "X-Recaptcha-Token";
pub const DEFAULT_TOKEN_SOURCES: &str = "header,cookies";
pub const DEFAULT_TOKEN_COOKIES: &str = "recaptcha-*-e,recaptcha-*-t";
pub const DEFAULT_ASSESSMENT_ID_HEADER: &str = "X-Recaptcha-Assessment-Id";
pub const DEFAULT_ADMIN_PATH: &str = "/.well-known/recaptcha-annotations";
pub const DEFAULT_DEAD_LETTER_QUEUE: &str = "recaptcha-annotations-dlq";
/// Shortest admin token accepted: anything shorter is guessable.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

/// A variable's value as the runtime holds it.
#[derive(Clone, Debug, PartialEq)]
pub enum VarValue {
    Text(String),
    Number(f64),
    /// An array or object, as JSON text (`[vars]` may hold JSON values).
    Json(String),
    /// Any other type, named for the message (`"a boolean"`).
    Other(&'static str),
}

/// Largest integer a JSON number holds exactly (2^53 - 1).
const MAX_EXACT: f64 = 9_007_199_254_740_991.0;

impl VarValue {
    /// Text as it is; a whole number from 0 to 2^53 - 1 as its digits (a
    /// project number written without quotes). Anything else would silently
    /// read as unset or as another number, so it is refused, naming why.
    pub fn into_text(self, var: &'static str) -> Result<String, ConfigError> {
        let refuse = |why: &str| {
            Err(ConfigError::new(
                var,
                format!("{why}; write it as a quoted string (it is ignored)"),
            ))
        };
        match self {
            VarValue::Text(s) => Ok(s),
            VarValue::Number(n) if !n.is_finite() || n.fract() != 0.0 => {
                refuse("is a number that is not a whole number")
            }
            VarValue::Number(n) if n < 0.0 => refuse("is a negative number"),
            VarValue::Number(n) if n > MAX_EXACT => {
                refuse("is a number above 2^53, which is not held exactly")
            }
            VarValue::Number(n) => Ok(format!("{n:.0}")),
            // Only the rules are JSON by nature.
            VarValue::Json(text) if var == OUTCOME_RULES => Ok(text),
            VarValue::Json(_) => refuse("is an object or array, not a string or number"),
            VarValue::Other(kind) => refuse(&format!("is {kind}, not a string or number")),
        }
    }
}
