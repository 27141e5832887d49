//! The worker's configuration: [`Config::load`] reads what the shell found in
//! the isolate's environment, once, by the table in [`vars`], into the
//! finished configuration and every problem with it.
//!
//! Header names and token sources always have a usable value (an invalid one
//! falls back to its default), so the proxy keeps working and header hygiene
//! keeps applying; the API target is a `Result`, and only a valid one enables
//! annotate calls. Every problem is kept for the log, naming the variable.

use crate::delivery::retry::{QueuePolicy, RetryPolicy};
use crate::error::ConfigError;
use crate::google::annotate_call::ApiTarget;
use crate::log::Level;
use crate::outcome::rules::RuleSet;
use crate::request::admin::Admin;
use crate::request::token_sources::WafRules;

mod admin;
mod api;
pub mod environment;
#[cfg(test)]
mod readme;
mod values;
mod vars;
mod waf;

use environment::{Bindings, Environment, UpstreamBinding, VarValue};
use values::Values;

/// The variables' names, as the table spells them.
pub const PROJECT_ID: &str = vars::PROJECT_ID.row.name;
pub const API_KEY: &str = vars::API_KEY.row.name;
pub const API_BASE: &str = vars::API_BASE.row.name;
pub const SERVICE_ACCOUNT_KEY: &str = vars::SERVICE_ACCOUNT_KEY.row.name;
pub const TOKEN_URI: &str = vars::TOKEN_URI.row.name;
pub const AUTH_MODE: &str = vars::AUTH_MODE.row.name;
pub const ORIGIN_URL: &str = vars::ORIGIN_URL.row.name;
pub const OUTCOME_HEADER: &str = vars::OUTCOME_HEADER.row.name;
pub const TOKEN_HEADER: &str = vars::TOKEN_HEADER.row.name;
pub const TOKEN_COOKIES: &str = vars::TOKEN_COOKIES.row.name;
pub const TOKEN_SOURCES: &str = vars::TOKEN_SOURCES.row.name;
pub const ACTION_SITE_KEY: &str = vars::ACTION_SITE_KEY.row.name;
pub const ENTERPRISE_SITE_KEY: &str = vars::ENTERPRISE_SITE_KEY.row.name;
pub const CHALLENGE_PAGE_SITE_KEY: &str = vars::CHALLENGE_PAGE_SITE_KEY.row.name;
pub const SESSION_SITE_KEY: &str = vars::SESSION_SITE_KEY.row.name;
pub const EXPRESS_SITE_KEY: &str = vars::EXPRESS_SITE_KEY.row.name;
pub const SITE_KEY_VARS: [&str; 5] = [
    ACTION_SITE_KEY,
    ENTERPRISE_SITE_KEY,
    CHALLENGE_PAGE_SITE_KEY,
    SESSION_SITE_KEY,
    EXPRESS_SITE_KEY,
];
pub const ASSESSMENT_ID_HEADER: &str = vars::ASSESSMENT_ID_HEADER.row.name;
pub const ADMIN_PATH: &str = vars::ADMIN_PATH.row.name;
pub const ADMIN_TOKEN: &str = vars::ADMIN_TOKEN.row.name;
pub const QUEUE_RETRY_BASE_SECONDS: &str = vars::QUEUE_RETRY_BASE_SECONDS.row.name;
pub const QUEUE_RETRY_MAX_SECONDS: &str = vars::QUEUE_RETRY_MAX_SECONDS.row.name;
pub const QUEUE_MAX_ATTEMPTS: &str = vars::QUEUE_MAX_ATTEMPTS.row.name;
pub const DEAD_LETTER_QUEUE: &str = vars::DEAD_LETTER_QUEUE.row.name;
pub const LOG_LEVEL: &str = vars::LOG_LEVEL.row.name;
pub const OUTCOME_RULES: &str = vars::OUTCOME_RULES.row.name;
pub const OUTCOME_RULES_HASH_KEY: &str = vars::OUTCOME_RULES_HASH_KEY.row.name;
pub const UPSTREAM: &str = vars::UPSTREAM.name;

pub const DEFAULT_OUTCOME_HEADER: &str = vars::OUTCOME_HEADER.row.if_unset.text();
pub const DEFAULT_TOKEN_HEADER: &str = vars::TOKEN_HEADER.row.if_unset.text();
pub const DEFAULT_ADMIN_PATH: &str = vars::ADMIN_PATH.row.if_unset.text();

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Fetch the request's own URL (a Cloudflare route in front of the zone's origin).
    SameAsRequest,
    /// Send to this `scheme://host[:port]`, keeping path and query.
    Fixed(String),
    /// `ORIGIN_URL` is set but unusable: requests get a 502 rather than
    /// going somewhere the operator did not intend.
    Invalid,
}

/// Whom proxied requests are handed to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upstream {
    /// The runtime's `fetch`: the origin (or `ORIGIN_URL`).
    Fetch,
    /// The `UPSTREAM` service binding: another Worker on the same thread,
    /// such as Google's reCAPTCHA WAF worker, which then fetches the origin.
    Service,
    /// `UPSTREAM` is bound to something that is not a service: requests get
    /// a 502. Falling back to `fetch` would skip the Worker the operator
    /// put in front of the origin, such as the site's bot protection.
    NotAService,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub origin: Origin,
    pub upstream: Upstream,
    pub outcome_header: String,
    /// The header the token rules read (Google's WAF worker's own name
    /// when a site key is set).
    pub token_header: String,
    /// What the WAF assesses a request by: which token names its assessment.
    pub token_rules: WafRules,
    /// `None` when disabled with an empty `ASSESSMENT_ID_HEADER`.
    pub assessment_id_header: Option<String>,
    /// Annotate calls are made only when this is `Ok`.
    pub api: Result<ApiTarget, Vec<ConfigError>>,
    /// The batch endpoint; `None` without a valid `ADMIN_TOKEN`.
    pub admin: Option<Admin>,
    /// With `ADMIN_TOKEN` set, valid or not: what never reaches the origin,
    /// a request under this path (the default when `ADMIN_PATH` is invalid)
    /// or one that carries this token, whatever its path.
    pub reserved: Option<Admin>,
    /// Retries within `waitUntil` for direct mode (and the batch endpoint's
    /// and the queue's direct fallback).
    pub direct: RetryPolicy,
    /// Retry schedule for queue mode.
    pub queue: QueuePolicy,
    /// Name of the dead-letter queue: a batch from it is a replay, whose
    /// failures are never dead-lettered again.
    pub dead_letter_queue: String,
    /// Events below this level are not logged (every log line costs CPU
    /// and, on Cloudflare, a log event).
    pub log_level: Level,
    /// `OUTCOME_RULES`: empty when unset or invalid.
    pub outcome_rules: RuleSet,
    /// The bindings found beside the variables.
    pub bindings: Bindings,
    /// Every problem found, for one log line per isolate.
    pub problems: Vec<ConfigError>,
}

impl Config {
    /// Request headers only the origin (the outcome) or the worker (the
    /// assessment ID) may send to the origin: a client's are removed in
    /// every spelling that folds to them ([`crate::request::header_names::fold_header_name`]).
    pub fn protected_request_headers(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.outcome_header.as_str()).chain(self.assessment_id_header.as_deref())
    }

    /// The configuration the environment gives, with every problem in it:
    /// values of the wrong type first, then each setting's in turn.
    pub fn load(env: Environment<impl Fn(&str) -> Option<VarValue>>) -> Self {
        // A site key the WAF reads by JavaScript truthiness: not guessed at.
        let odd = waf::odd_site_keys(&env.vars);
        let waf_known = odd.is_empty();
        let mut values = Values::read(&env.vars, |row| waf_known || !waf::is_site_key(row), odd);
        let origin = origin(&mut values);
        let outcome_header = values.or_default(&vars::OUTCOME_HEADER);
        let token_header = values.or_default(&vars::TOKEN_HEADER);
        let assessment_id_header = match values.raw(&vars::ASSESSMENT_ID_HEADER.row) {
            Some("") => None,
            _ => Some(values.or_default(&vars::ASSESSMENT_ID_HEADER)),
        };
        let (token_rules, token_header) = waf::waf_rules(&mut values, token_header, waf_known);
        let admin = admin::admin(&mut values);
        let queue = QueuePolicy {
            base_seconds: values.or_default(&vars::QUEUE_RETRY_BASE_SECONDS),
            max_delay_seconds: values.or_default(&vars::QUEUE_RETRY_MAX_SECONDS),
            max_attempts: values.or_default(&vars::QUEUE_MAX_ATTEMPTS),
            ..QueuePolicy::default()
        };
        let dead_letter_queue = values.or_default(&vars::DEAD_LETTER_QUEUE);
        let log_level = values.or_default(&vars::LOG_LEVEL);
        let outcome_rules = outcome_rules(&mut values);
        let api = api::api_target(&values);
        if let Err(errors) = &api {
            values.problems.extend(errors.iter().cloned());
        }
        let upstream = upstream(env.upstream, &mut values);
        Config {
            origin,
            upstream,
            outcome_header,
            token_header,
            token_rules,
            assessment_id_header,
            api,
            admin: admin.endpoint,
            reserved: admin.reserved,
            direct: RetryPolicy::default(),
            queue,
            dead_letter_queue,
            log_level,
            outcome_rules,
            bindings: env.bindings,
            problems: values.problems,
        }
    }

    /// [`Config::load`] from variables that are all text, with nothing
    /// bound (`None` = not set).
    pub fn parse(lookup: impl Fn(&str) -> Option<String>) -> Self {
        Config::load(Environment::vars(|name| lookup(name).map(VarValue::Text)))
    }
}

/// `ORIGIN_URL`: an invalid one is no origin at all.
fn origin(values: &mut Values) -> Origin {
    match values.get(&vars::ORIGIN_URL) {
        None => Origin::SameAsRequest,
        Some(Ok(url)) => Origin::Fixed(url),
        Some(Err(e)) => {
            values.problems.push(e);
            Origin::Invalid
        }
    }
}

/// The rules, all or none: a set missing one rule could let a later rule
/// fire where the missing one was meant to.
fn outcome_rules(values: &mut Values) -> RuleSet {
    let Some(text) = values.raw(&vars::OUTCOME_RULES.row) else {
        return RuleSet::default();
    };
    match RuleSet::parse(text, values.raw(&vars::OUTCOME_RULES_HASH_KEY.row)) {
        Ok(rules) => rules,
        Err(errors) => {
            for e in errors {
                values.report(OUTCOME_RULES, format!("{e}; no rule applies"));
            }
            RuleSet::default()
        }
    }
}

/// What is bound as `UPSTREAM`; anything but a service is a problem.
fn upstream(binding: UpstreamBinding, values: &mut Values) -> Upstream {
    match binding {
        UpstreamBinding::Absent => Upstream::Fetch,
        UpstreamBinding::Service => Upstream::Service,
        UpstreamBinding::Other => {
            values.report(
                UPSTREAM,
                "is bound but is not a service binding (services = [{ binding = \"UPSTREAM\", service = \"…\" }]); every request gets a 502",
            );
            Upstream::NotAService
        }
    }
}

/// RFC 9110 field-name (`token`).
pub fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests;
