//! The configuration table: one entry per variable, holding its README row
//! (name, kind, default, meaning) and the parser of its value. Reading the
//! environment, the `config_invalid` messages and the README's configuration
//! table all come from here (`readme.rs` holds the README to it).
//!
//! The order is the README's, and the order values of the wrong type are
//! reported in.

use super::{admin, api, is_header_name, waf};
use crate::delivery::retry::QUEUE_MAX_DELAY_SECONDS;
use crate::google::service_account::key_file::{checked_token_uri, ServiceAccount};
use crate::google::service_account::AuthMode;
use crate::log::Level;
use crate::request::cookies::CookiePattern;
use crate::request::token_sources::TokenSources;
use crate::url::base_url;

/// Where a value is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A `vars` entry in `wrangler.jsonc`.
    Var,
    /// `wrangler secret put`.
    Secret,
    /// A service binding, not a value.
    Binding,
}

/// What an unset variable means (the README's "default").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfUnset {
    /// Nothing: the variable must be set (`when` qualifies that in the
    /// README), and `problem` is what is reported when it is not.
    Required {
        when: &'static str,
        problem: &'static str,
    },
    /// Absent: what it configures is off or taken from elsewhere.
    Absent,
    /// This text, read by the variable's parser as if it were set.
    Value(&'static str),
    /// A value taken from elsewhere, described for the README.
    Described(&'static str),
}

impl IfUnset {
    /// The default value's text (`""` when there is none).
    pub const fn text(&self) -> &'static str {
        match self {
            IfUnset::Value(text) => text,
            _ => "",
        }
    }
}

/// What the runtime may hold for the variable beside non-empty text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// Only text; empty text counts as unset.
    Text,
    /// Empty text is a value (it switches something off).
    MayBeEmpty,
    /// A JSON array or object too, read as its JSON text.
    MayBeJson,
}

/// A variable as the README's configuration table shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    pub name: &'static str,
    pub kind: Kind,
    pub if_unset: IfUnset,
    pub form: Form,
    /// The README's "meaning" cell. Only the README check reads it, so
    /// only test builds hold it: every byte of the module is paid at each
    /// cold start.
    #[cfg(test)]
    pub doc: &'static str,
}

/// A table entry: the row and what its value is parsed into; the parser's
/// `Err` is the problem's text, never quoting a secret.
pub struct Var<T> {
    pub row: Row,
    pub parse: fn(&str) -> Result<T, String>,
}

/// Any entry, whatever its parser makes.
pub trait Entry {
    fn row(&self) -> &Row;
    /// Whether the parser accepts `text`.
    #[cfg(test)]
    fn accepts(&self, text: &str) -> bool;
}

impl<T> Entry for Var<T> {
    fn row(&self) -> &Row {
        &self.row
    }
    #[cfg(test)]
    fn accepts(&self, text: &str) -> bool {
        (self.parse)(text).is_ok()
    }
}

/// A binding: a row, with no text to parse.
impl Entry for Row {
    fn row(&self) -> &Row {
        self
    }
    #[cfg(test)]
    fn accepts(&self, _: &str) -> bool {
        false
    }
}

/// Every entry, in order.
pub const TABLE: &[&dyn Entry] = &[
    &PROJECT_ID,
    &API_KEY,
    &API_BASE,
    &SERVICE_ACCOUNT_KEY,
    &TOKEN_URI,
    &AUTH_MODE,
    &ORIGIN_URL,
    &OUTCOME_HEADER,
    &TOKEN_HEADER,
    &TOKEN_COOKIES,
    &TOKEN_SOURCES,
    &ACTION_SITE_KEY,
    &ENTERPRISE_SITE_KEY,
    &CHALLENGE_PAGE_SITE_KEY,
    &SESSION_SITE_KEY,
    &EXPRESS_SITE_KEY,
    &ASSESSMENT_ID_HEADER,
    &ADMIN_PATH,
    &ADMIN_TOKEN,
    &QUEUE_RETRY_BASE_SECONDS,
    &QUEUE_RETRY_MAX_SECONDS,
    &QUEUE_MAX_ATTEMPTS,
    &DEAD_LETTER_QUEUE,
    &LOG_LEVEL,
    &OUTCOME_RULES,
    &OUTCOME_RULES_HASH_KEY,
    &UPSTREAM,
];

/// An entry of kind `var`, read as text: the shape most entries have.
const fn var<T>(
    name: &'static str,
    if_unset: IfUnset,
    parse: fn(&str) -> Result<T, String>,
    doc: &'static str,
) -> Var<T> {
    #[cfg(not(test))]
    let _ = doc;
    let row = Row {
        name,
        kind: Kind::Var,
        if_unset,
        form: Form::Text,
        #[cfg(test)]
        doc,
    };
    Var { row, parse }
}

/// An entry of kind `secret`, read as text.
const fn secret<T>(
    name: &'static str,
    if_unset: IfUnset,
    parse: fn(&str) -> Result<T, String>,
    doc: &'static str,
) -> Var<T> {
    let Var { row, parse } = var(name, if_unset, parse, doc);
    let row = Row {
        kind: Kind::Secret,
        ..row
    };
    Var { row, parse }
}

/// The entry, read in this form.
const fn with_form<T>(var: Var<T>, form: Form) -> Var<T> {
    let Var { row, parse } = var;
    Var {
        row: Row { form, ..row },
        parse,
    }
}

pub const PROJECT_ID: Var<String> = var(
    "RECAPTCHA_PROJECT_ID",
    IfUnset::Required {
        when: "",
        problem: "required but not set",
    },
    api::project_id,
    "Google Cloud project ID or number",
);
pub const API_KEY: Var<String> = secret(
    "RECAPTCHA_API_KEY",
    IfUnset::Required {
        when: "without a service account",
        problem: "required secret not set (wrangler secret put RECAPTCHA_API_KEY, or .dev.vars locally; or GOOGLE_SERVICE_ACCOUNT_KEY for a service account)",
    },
    api::api_key,
    "API key, sent as `?key=`",
);
pub const API_BASE: Var<String> = var(
    "RECAPTCHA_API_BASE",
    IfUnset::Value("https://recaptchaenterprise.googleapis.com"),
    api::api_base,
    "`https://` unless the host is `localhost`, `127.x.x.x` or `[::1]`",
);
pub const SERVICE_ACCOUNT_KEY: Var<ServiceAccount> = secret(
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    IfUnset::Absent,
    ServiceAccount::parse,
    "service account JSON key file ([below](#authenticate-as-a-service-account))",
);
pub const TOKEN_URI: Var<String> = var(
    "GOOGLE_TOKEN_URI",
    IfUnset::Described("the key file's `token_uri`"),
    checked_token_uri,
    "token endpoint; `https://` unless the host is loopback",
);
pub const AUTH_MODE: Var<AuthMode> = var(
    "GOOGLE_AUTH_MODE",
    IfUnset::Value("exchange"),
    api::auth_mode,
    "`exchange` (OAuth JWT-bearer exchange) or `self-signed-jwt`",
);
pub const ORIGIN_URL: Var<String> = var(
    "ORIGIN_URL",
    IfUnset::Absent,
    |v| base_url(v, false),
    "`scheme://host[:port]`, request path and query kept; unset = the request's own URL (the zone's origin on a route; under `wrangler dev` the worker itself, so every request gets `508`); invalid = every request gets `502`",
);
pub const OUTCOME_HEADER: Var<String> = var(
    "OUTCOME_HEADER",
    IfUnset::Value("X-Recaptcha-Outcome"),
    header_name,
    "response header the origin sets",
);
pub const TOKEN_HEADER: Var<String> = var(
    "TOKEN_HEADER",
    IfUnset::Value("X-Recaptcha-Token"),
    header_name,
    "without site keys: the request header holding an action token",
);
pub const TOKEN_COOKIES: Var<Vec<CookiePattern>> = var(
    "TOKEN_COOKIES",
    IfUnset::Value("recaptcha-*-e,recaptcha-*-t"),
    waf::token_cookies,
    "without site keys: the token cookies' names, at most one `*` each",
);
pub const TOKEN_SOURCES: Var<TokenSources> = var(
    "TOKEN_SOURCES",
    IfUnset::Value("header,cookies"),
    TokenSources::parse,
    "without site keys: where another WAF reads tokens, `header`, `cookies` or both",
);

/// Google's WAF worker's site keys, by the names it reads them under: only
/// whether one is set matters.
const fn site_key(name: &'static str) -> Var<()> {
    var(name, IfUnset::Absent, |_| Ok(()), SITE_KEY_DOC)
}
const SITE_KEY_DOC: &str = "Google's `recaptcha-waf` Worker's site keys, as its own `[vars]`: any set means that WAF assesses the requests, by [its rules](#where-the-assessment-id-comes-from); only which are set matters; a value that is not a quoted string is `config_invalid` and no token names an assessment";
pub const ACTION_SITE_KEY: Var<()> = site_key("ACTION_SITE_KEY");
pub const ENTERPRISE_SITE_KEY: Var<()> = site_key("ENTERPRISE_SITE_KEY");
pub const CHALLENGE_PAGE_SITE_KEY: Var<()> = site_key("CHALLENGE_PAGE_SITE_KEY");
pub const SESSION_SITE_KEY: Var<()> = site_key("SESSION_SITE_KEY");
pub const EXPRESS_SITE_KEY: Var<()> = site_key("EXPRESS_SITE_KEY");
pub const SITE_KEYS: [&Var<()>; 5] = [
    &ACTION_SITE_KEY,
    &ENTERPRISE_SITE_KEY,
    &CHALLENGE_PAGE_SITE_KEY,
    &SESSION_SITE_KEY,
    &EXPRESS_SITE_KEY,
];

pub const ASSESSMENT_ID_HEADER: Var<String> = with_form(
    var(
        "ASSESSMENT_ID_HEADER",
        IfUnset::Value("X-Recaptcha-Assessment-Id"),
        header_name,
        "request header set toward the origin; `\"\"` disables it",
    ),
    Form::MayBeEmpty,
);
pub const ADMIN_PATH: Var<String> = var(
    "ADMIN_PATH",
    IfUnset::Value("/.well-known/recaptcha-annotations"),
    admin::path,
    "batch endpoint's path: one or more segments, not `/` (which would take the whole site), no empty, `.` or `..` segment, no trailing `/`",
);
pub const ADMIN_TOKEN: Var<String> = secret(
    "ADMIN_TOKEN",
    IfUnset::Absent,
    admin::token,
    "batch endpoint's bearer token: ≥ 16 of `A-Z a-z 0-9 - . _ ~ + /`, then optional `=` (a bearer token's characters; anything else could hide it from the check that keeps it from the origin); unset = no endpoint",
);
pub const QUEUE_RETRY_BASE_SECONDS: Var<u32> = var(
    "QUEUE_RETRY_BASE_SECONDS",
    IfUnset::Value("30"),
    |v| whole_number(v, 1, QUEUE_MAX_DELAY_SECONDS),
    "base delay of queue retries ([above](#queue-mode))",
);
pub const QUEUE_RETRY_MAX_SECONDS: Var<u32> = var(
    "QUEUE_RETRY_MAX_SECONDS",
    IfUnset::Value("43200"),
    |v| whole_number(v, 1, QUEUE_MAX_DELAY_SECONDS),
    "longest wait between queue attempts (12 h, the maximum)",
);
pub const QUEUE_MAX_ATTEMPTS: Var<u32> = var(
    "QUEUE_MAX_ATTEMPTS",
    IfUnset::Value("10"),
    |v| whole_number(v, 1, 100),
    "queue attempts before dead-lettering (1–100)",
);
pub const DEAD_LETTER_QUEUE: Var<String> = var(
    "DEAD_LETTER_QUEUE",
    IfUnset::Value("recaptcha-annotations-dlq"),
    text,
    "the DLQ's name, so a replay is recognised",
);
/// `info` by default: one line per annotation result and every problem;
/// the per-outcome debug lines (suppressed, enqueued, retrying) are dropped.
pub const LOG_LEVEL: Var<Level> = var(
    "LOG_LEVEL",
    IfUnset::Value("info"),
    |v| Level::parse(v.trim()).ok_or_else(|| format!("{v:?} is not debug, info, warn or error")),
    "`debug`, `info`, `warn` or `error`: events below it are dropped ([why `info`](#what-gets-logged))",
);
/// Text here: the rule set is parsed with its hash key.
pub const OUTCOME_RULES: Var<String> = with_form(
    var(
        "OUTCOME_RULES",
        IfUnset::Absent,
        text,
        "outcome rules for responses without an outcome header ([above](#outcome-rules)); invalid = no rule applies",
    ),
    Form::MayBeJson,
);
pub const OUTCOME_RULES_HASH_KEY: Var<String> = secret(
    "OUTCOME_RULES_HASH_KEY",
    IfUnset::Absent,
    text,
    "HMAC key for rules with `\"hash\": true` (≥ 32 bytes)",
);
/// A binding, not a variable: the Worker requests are handed to.
pub const UPSTREAM: Row = Row {
    name: "UPSTREAM",
    kind: Kind::Binding,
    if_unset: IfUnset::Absent,
    form: Form::Text,
    #[cfg(test)]
    doc: "the Worker handed every proxied request instead of `fetch` ([reCAPTCHA WAF](#deploy-with-recaptcha-waf-on-cloudflare)); not a service = every request gets `502`",
};

fn text(v: &str) -> Result<String, String> {
    Ok(v.to_owned())
}

fn header_name(v: &str) -> Result<String, String> {
    if is_header_name(v) {
        Ok(v.to_owned())
    } else {
        Err(format!("{v:?} is not a valid header name"))
    }
}

fn whole_number(v: &str, min: u32, max: u32) -> Result<u32, String> {
    match v.trim().parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{v:?} is not a whole number in {min}..={max}")),
    }
}
