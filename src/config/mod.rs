//! The worker's configuration, parsed and validated once per isolate.
//!
//! Header names and token sources always have a usable value (an invalid one
//! falls back to its default), so the proxy keeps working and header hygiene
//! keeps applying; the API target is a `Result`, and only a valid one enables
//! annotate calls. Every problem is kept for the log, naming the variable.

use crate::delivery::retry::{QueuePolicy, RetryPolicy, QUEUE_MAX_DELAY_SECONDS};
use crate::error::ConfigError;
use crate::google::annotate_call::ApiTarget;
use crate::log::Level;
use crate::outcome::rules::RuleSet;
use crate::request::admin::Admin;
use crate::request::token_sources::WafRules;
use crate::url::{base_url, https_unless_loopback};

mod api;
mod vars;
mod waf;
pub use vars::*;

use api::api_target;
use waf::{odd_site_keys, waf_rules};

/// Without `LOG_LEVEL`: one line per annotation result and every problem;
/// the per-outcome debug lines (suppressed, enqueued, retrying) are dropped.
pub const DEFAULT_LOG_LEVEL: Level = Level::Info;

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

/// What the runtime found bound as `UPSTREAM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamBinding {
    Absent,
    /// An object with a `fetch` method.
    Service,
    Other,
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

    /// Records what is bound as `UPSTREAM`; anything but a service is a
    /// configuration problem.
    pub fn with_upstream(mut self, binding: UpstreamBinding) -> Self {
        self.upstream = match binding {
            UpstreamBinding::Absent => Upstream::Fetch,
            UpstreamBinding::Service => Upstream::Service,
            UpstreamBinding::Other => {
                self.problems.push(ConfigError::new(
                    UPSTREAM,
                    "is bound but is not a service binding (services = [{ binding = \"UPSTREAM\", service = \"…\" }]); every request gets a 502",
                ));
                Upstream::NotAService
            }
        };
        self
    }

    /// Parses configuration from the runtime's values (`None` = not set);
    /// a value of the wrong type is reported and counts as unset.
    pub fn from_values(lookup: impl Fn(&str) -> Option<VarValue>) -> Self {
        // A site key the WAF reads by JavaScript truthiness: not guessed at.
        let mut wrong_type = odd_site_keys(&lookup);
        let unknown_waf = !wrong_type.is_empty();
        let mut text = std::collections::HashMap::new();
        for &var in VARS
            .iter()
            .filter(|v| !unknown_waf || !SITE_KEY_VARS.contains(v))
        {
            match lookup(var).map(|v| v.into_text(var)) {
                Some(Ok(v)) => {
                    text.insert(var, v);
                }
                Some(Err(e)) => wrong_type.push(e),
                None => {}
            }
        }
        let mut config = Config::parse(|name| text.get(name).cloned());
        if unknown_waf {
            config.token_rules = WafRules::Unknown;
        }
        wrong_type.append(&mut config.problems);
        config.problems = wrong_type;
        config
    }

    /// Parses configuration from a variable lookup (`None` = not set).
    /// An empty value counts as unset, except `ASSESSMENT_ID_HEADER` (where
    /// `""` switches the header off).
    pub fn parse(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get =
            |name: &str| lookup(name).filter(|v| !v.is_empty() || name == ASSESSMENT_ID_HEADER);
        let mut problems = Vec::new();
        let origin = match get(ORIGIN_URL) {
            None => Origin::SameAsRequest,
            Some(v) => match base_url(&v, false) {
                Ok(url) => Origin::Fixed(url),
                Err(why) => {
                    problems.push(ConfigError::new(ORIGIN_URL, why));
                    Origin::Invalid
                }
            },
        };
        let mut header = |var, default: &str| match get(var) {
            None => default.to_owned(),
            Some(v) if is_header_name(&v) => v,
            Some(v) => {
                problems.push(ConfigError::new(
                    var,
                    format!("{v:?} is not a valid header name; using {default}"),
                ));
                default.to_owned()
            }
        };
        let outcome_header = header(OUTCOME_HEADER, DEFAULT_OUTCOME_HEADER);
        let token_header = header(TOKEN_HEADER, DEFAULT_TOKEN_HEADER);
        let assessment_id_header = match get(ASSESSMENT_ID_HEADER) {
            Some(v) if v.is_empty() => None,
            _ => Some(header(ASSESSMENT_ID_HEADER, DEFAULT_ASSESSMENT_ID_HEADER)),
        };
        let (token_rules, token_header) = waf_rules(&get, token_header, &mut problems);

        let reserved = get(ADMIN_TOKEN).map(|token| {
            let path = get(ADMIN_PATH)
                .filter(|p| admin_path_ok(p))
                .unwrap_or_else(|| DEFAULT_ADMIN_PATH.to_owned());
            // Trimmed: a job sends the token without the newline a pasted
            // secret may end with.
            Admin::new(path, token.trim().to_owned())
        });
        let admin = admin(&get).unwrap_or_else(|e| {
            problems.push(e);
            None
        });
        let queue = queue_policy(&get, &mut problems);
        let log_level = match get(LOG_LEVEL) {
            None => DEFAULT_LOG_LEVEL,
            Some(v) => Level::parse(v.trim()).unwrap_or_else(|| {
                problems.push(ConfigError::new(
                    LOG_LEVEL,
                    format!(
                        "{v:?} is not debug, info, warn or error; using {}",
                        DEFAULT_LOG_LEVEL.name()
                    ),
                ));
                DEFAULT_LOG_LEVEL
            }),
        };
        let outcome_rules = outcome_rules(&get, &mut problems);
        let api = api_target(&get);
        if let Err(errors) = &api {
            problems.extend(errors.iter().cloned());
        }
        Config {
            origin,
            upstream: Upstream::Fetch,
            outcome_header,
            token_header,
            token_rules,
            assessment_id_header,
            api,
            admin,
            reserved,
            direct: RetryPolicy::default(),
            queue,
            dead_letter_queue: get(DEAD_LETTER_QUEUE)
                .unwrap_or_else(|| DEFAULT_DEAD_LETTER_QUEUE.to_owned()),
            log_level,
            outcome_rules,
            problems,
        }
    }
}

/// The rules, all or none: a set missing one rule could let a later rule
/// fire where the missing one was meant to.
fn outcome_rules(
    get: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<ConfigError>,
) -> RuleSet {
    let Some(text) = get(OUTCOME_RULES) else {
        return RuleSet::default();
    };
    RuleSet::parse(&text, get(OUTCOME_RULES_HASH_KEY).as_deref()).unwrap_or_else(|errors| {
        problems.extend(
            errors
                .iter()
                .map(|e| ConfigError::new(OUTCOME_RULES, format!("{e}; no rule applies"))),
        );
        RuleSet::default()
    })
}

/// The batch endpoint exists only with a strong enough `ADMIN_TOKEN`.
fn admin(get: &impl Fn(&str) -> Option<String>) -> Result<Option<Admin>, ConfigError> {
    let Some(token) = get(ADMIN_TOKEN) else {
        return Ok(None);
    };
    // The token's value never appears in a message.
    if !admin_token_ok(&token) {
        return Err(ConfigError::new(
            ADMIN_TOKEN,
            format!("must be at least {MIN_ADMIN_TOKEN_LEN} of the characters a bearer token can hold (A-Z a-z 0-9 - . _ ~ + /, then optionally =), as `openssl rand -hex 32` makes; the batch endpoint is disabled"),
        ));
    }
    let path = get(ADMIN_PATH).unwrap_or_else(|| DEFAULT_ADMIN_PATH.to_owned());
    if !admin_path_ok(&path) {
        return Err(ConfigError::new(
            ADMIN_PATH,
            format!("{path:?} must be a path of one or more segments, such as /ops/annotations: starting with '/', not ending with one, no empty, '.' or '..' segment (percent-decoded), no query or fragment; the batch endpoint is disabled"),
        ));
    }
    Ok(Some(Admin::new(path, token)))
}

/// An RFC 6750 `b64token` of at least [`MIN_ADMIN_TOKEN_LEN`] characters
/// before its padding: what a client can send after `Bearer ` as it is, and
/// what [`Admin::carried_by`] finds whatever the header around it.
fn admin_token_ok(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    body.len() >= MIN_ADMIN_TOKEN_LEN && body.bytes().all(crate::request::admin::is_token_char)
}

/// A path the endpoint can own without shadowing the site: every path starts
/// with `/`, and the endpoint reserves every path that starts with its own,
/// so `/` or `//` would take the whole site. Segments are checked as the
/// URL parser and the reservation see them: percent-decoded, `.` and `..`
/// resolved away (such a path could never be requested).
fn admin_path_ok(path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    path.starts_with('/')
        && !path.contains(['?', '#'])
        && path.bytes().all(|b| b.is_ascii_graphic())
        && decoded[1..]
            .split('/')
            .all(|segment| !matches!(segment, "" | "." | ".."))
}

fn queue_policy(
    get: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<ConfigError>,
) -> QueuePolicy {
    let defaults = QueuePolicy::default();
    let mut number = |var: &'static str, default: u32, range: std::ops::RangeInclusive<u32>| {
        let Some(v) = get(var) else { return default };
        match v.trim().parse::<u32>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                problems.push(ConfigError::new(
                    var,
                    format!(
                        "{v:?} is not a whole number in {}..={}; using {default}",
                        range.start(),
                        range.end()
                    ),
                ));
                default
            }
        }
    };
    QueuePolicy {
        base_seconds: number(
            QUEUE_RETRY_BASE_SECONDS,
            defaults.base_seconds,
            1..=QUEUE_MAX_DELAY_SECONDS,
        ),
        max_delay_seconds: number(
            QUEUE_RETRY_MAX_SECONDS,
            defaults.max_delay_seconds,
            1..=QUEUE_MAX_DELAY_SECONDS,
        ),
        max_attempts: number(QUEUE_MAX_ATTEMPTS, defaults.max_attempts, 1..=100),
        attempt_timeout_ms: defaults.attempt_timeout_ms,
    }
}

/// RFC 9110 field-name (`token`).
pub fn is_header_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::service_account::AuthMode;
    use crate::request::assessment_id::AssessmentId;
    use crate::testing::test;
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::parse(|k| map.get(k).cloned())
    }

    const GOOD: &[(&str, &str)] = &[
        (PROJECT_ID, "my-project"),
        (API_KEY, "AIzaSyExample_key-123"),
    ];

    #[test]
    fn defaults_apply_when_only_the_required_values_are_set() {
        let c = parse(GOOD);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.origin, Origin::SameAsRequest);
        assert_eq!(c.outcome_header, "X-Recaptcha-Outcome");
        assert_eq!(c.token_header, "X-Recaptcha-Token");
        assert_eq!(
            c.assessment_id_header.as_deref(),
            Some("X-Recaptcha-Assessment-Id")
        );
        assert!(matches!(&c.token_rules, WafRules::Listed(l) if l.cookies.len() == 2));
        assert_eq!(c.log_level, Level::Info);
        let id = AssessmentId::parse("bc304e08a0000000").unwrap();
        assert_eq!(
            c.api.unwrap().annotate_url(&id),
            "https://recaptchaenterprise.googleapis.com/v1/projects/my-project/assessments/bc304e08a0000000:annotate?key=AIzaSyExample_key-123"
        );
    }

    #[test]
    fn log_level_drops_events_below_it_and_an_unknown_one_falls_back_to_info() {
        let level = |v: &str| {
            let mut vars = GOOD.to_vec();
            vars.push((LOG_LEVEL, v));
            let c = parse(&vars);
            (c.log_level, c.problems)
        };
        assert_eq!(level("warn"), (Level::Warn, vec![]));
        assert_eq!(level(" ERROR ").0, Level::Error);
        assert_eq!(level("info").0, Level::Info);
        assert_eq!(level("debug").0, Level::Debug);
        let (fallback, problems) = level("verbose");
        assert_eq!(fallback, Level::Info);
        assert_eq!(problems.len(), 1);
        assert!(problems[0]
            .to_string()
            .starts_with("LOG_LEVEL: \"verbose\""));
        assert!(
            Level::Debug < Level::Info && Level::Info < Level::Warn && Level::Warn < Level::Error
        );
    }

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

    #[test]
    fn invalid_optional_values_fall_back_and_are_reported() {
        let mut vars = GOOD.to_vec();
        vars.extend([
            (OUTCOME_HEADER, "bad header"),
            (TOKEN_COOKIES, "a*b*c"),
            (ORIGIN_URL, "ftp://x"),
        ]);
        let c = parse(&vars);
        assert_eq!(c.outcome_header, "X-Recaptcha-Outcome");
        assert!(matches!(&c.token_rules, WafRules::Listed(l) if l.cookies.len() == 2));
        assert_eq!(c.origin, Origin::Invalid);
        let vars: Vec<_> = c.problems.iter().map(|e| e.var).collect();
        assert_eq!(vars, vec![ORIGIN_URL, OUTCOME_HEADER, TOKEN_COOKIES]);
        assert!(c.api.is_ok());
    }

    #[test]
    fn the_batch_endpoint_needs_a_strong_admin_token() {
        assert_eq!(parse(GOOD).admin, None);
        let mut vars = GOOD.to_vec();
        vars.push((ADMIN_TOKEN, "short"));
        let c = parse(&vars);
        assert_eq!(c.admin, None);
        assert_eq!(c.problems[0].var, ADMIN_TOKEN);
        assert!(!c.problems[0].to_string().contains("short"));
        let token = "0123456789abcdef-admin";
        let mut vars = GOOD.to_vec();
        vars.extend([(ADMIN_TOKEN, token), (ADMIN_PATH, "/ops/annotations")]);
        let admin = parse(&vars).admin.unwrap();
        assert_eq!(admin.path, "/ops/annotations");
        assert!(admin.authorized(Some(&format!("Bearer {token}"))));
        assert!(!format!("{admin:?}").contains(token));
    }

    #[test]
    fn an_admin_token_holds_only_what_a_bearer_token_can() {
        let with_token = |t: &str| {
            let mut vars = GOOD.to_vec();
            vars.push((ADMIN_TOKEN, t));
            parse(&vars)
        };
        for ok in [
            "0123456789abcdef0123456789abcdef",
            "A-Za-z0.9_~+/xyzw",
            "c2VjcmV0LWFkbWluLXRva2Vu==",
        ] {
            assert!(with_token(ok).admin.is_some(), "{ok}");
        }
        for bad in [
            "0123456789abcdef,x",
            "0123456789abcdef;x",
            "\"0123456789abcdef\"",
            "0123456789abcdef\"",
            "0123456789abcdef:x",
            "0123456789=abcdef",
            "0123456789abcde=",
            "0123456789abcdef\n",
        ] {
            let c = with_token(bad);
            assert_eq!(c.admin, None, "{bad:?}");
            assert_eq!(c.problems[0].var, ADMIN_TOKEN);
            assert!(!c.problems[0].to_string().contains("0123456789"), "{bad:?}");
        }
    }

    #[test]
    fn an_admin_path_that_would_shadow_the_site_is_refused() {
        let with_path = |p: &str| {
            let mut vars = GOOD.to_vec();
            vars.extend([(ADMIN_TOKEN, "0123456789abcdef-admin"), (ADMIN_PATH, p)]);
            parse(&vars)
        };
        for ok in ["/ops", "/ops/annotations", "/.well-known/x", "/a%2Eb"] {
            assert_eq!(with_path(ok).admin.map(|a| a.path), Some(ok.to_owned()));
        }
        for bad in [
            "/", "//", "///", "/ops/", "/ops//x", "/.", "/..", "/x/..", "/x/./y", "/%2F", "/%2e",
            "ops", "/ops?x", "/ops#x", "/o ps",
        ] {
            let c = with_path(bad);
            assert_eq!(c.admin, None, "{bad:?}");
            assert_eq!(c.problems[0].var, ADMIN_PATH, "{bad:?}");
            // Reserved instead: the default path, never the whole site.
            assert_eq!(c.reserved.unwrap().path, DEFAULT_ADMIN_PATH, "{bad:?}");
        }
    }

    #[test]
    fn queue_settings_are_validated() {
        let mut vars = GOOD.to_vec();
        vars.extend([
            (QUEUE_RETRY_BASE_SECONDS, "2"),
            (QUEUE_RETRY_MAX_SECONDS, "4"),
            (QUEUE_MAX_ATTEMPTS, "0"),
        ]);
        let c = parse(&vars);
        assert_eq!((c.queue.base_seconds, c.queue.max_delay_seconds), (2, 4));
        assert_eq!(c.queue.max_attempts, QueuePolicy::default().max_attempts);
        assert_eq!(c.problems[0].var, QUEUE_MAX_ATTEMPTS);
    }

    #[test]
    fn an_upstream_binding_that_is_not_a_service_is_refused_not_bypassed() {
        assert_eq!(parse(GOOD).upstream, Upstream::Fetch);
        let c = parse(GOOD).with_upstream(UpstreamBinding::Service);
        assert_eq!((c.upstream, c.problems.len()), (Upstream::Service, 0));
        let c = parse(GOOD).with_upstream(UpstreamBinding::Other);
        assert_eq!(c.upstream, Upstream::NotAService);
        assert_eq!(c.problems[0].var, UPSTREAM);
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
    fn values_of_the_wrong_type_are_reported_not_ignored() {
        let c = Config::from_values(|name| match name {
            PROJECT_ID => Some(VarValue::Number(123_456_789.0)),
            API_KEY => Some(VarValue::Text("k".into())),
            QUEUE_MAX_ATTEMPTS => Some(VarValue::Number(-1.0)),
            QUEUE_RETRY_BASE_SECONDS => Some(VarValue::Number(1.5)),
            QUEUE_RETRY_MAX_SECONDS => Some(VarValue::Number(2f64.powi(60))),
            LOG_LEVEL => Some(VarValue::Other("a boolean")),
            _ => None,
        });
        assert!(c.api.is_ok(), "a project number without quotes is fine");
        let vars: Vec<_> = c.problems.iter().map(|e| e.var).collect();
        assert_eq!(
            vars,
            vec![
                QUEUE_RETRY_BASE_SECONDS,
                QUEUE_RETRY_MAX_SECONDS,
                QUEUE_MAX_ATTEMPTS,
                LOG_LEVEL
            ]
        );
        assert!(c.problems[3].to_string().contains("a boolean"));
        assert_eq!(c.queue, QueuePolicy::default());
        assert_eq!(c.log_level, Level::Info);
    }

    #[test]
    fn secrets_pasted_into_url_variables_are_not_echoed() {
        let mut vars = GOOD.to_vec();
        vars.extend([
            (ORIGIN_URL, "https://user:hunter2@origin.example"),
            (API_BASE, "https://proxy.example/g?key=AIzaPasted"),
        ]);
        let c = parse(&vars);
        let line = crate::log::Event::config_invalid(&c.problems, false).to_line();
        assert_eq!(c.problems.len(), 2, "{line}");
        assert!(
            !line.contains("hunter2") && !line.contains("AIzaPasted"),
            "{line}"
        );
    }

    #[test]
    fn an_admin_token_reserves_the_admin_path_even_when_invalid() {
        assert_eq!(parse(GOOD).reserved, None);
        let c = parse(&[GOOD[0], GOOD[1], (ADMIN_TOKEN, "0123456789abcdef\n")]);
        assert_eq!(c.admin, None);
        let reserved = c.reserved.unwrap();
        assert_eq!(reserved.path, DEFAULT_ADMIN_PATH);
        assert!(reserved.authorized(Some("Bearer 0123456789abcdef")));
        let c = parse(&[
            GOOD[0],
            GOOD[1],
            (ADMIN_TOKEN, "0123456789abcdef-x"),
            (ADMIN_PATH, "/ops"),
        ]);
        assert_eq!(c.reserved.unwrap().path, "/ops");
    }

    #[test]
    fn empty_optional_values_count_as_unset() {
        let mut vars = GOOD.to_vec();
        vars.extend([(ORIGIN_URL, ""), (OUTCOME_HEADER, ""), (API_BASE, "")]);
        let c = parse(&vars);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.origin, Origin::SameAsRequest);
        assert_eq!(c.outcome_header, DEFAULT_OUTCOME_HEADER);
    }

    #[test]
    fn invalid_outcome_rules_are_named_by_rule_and_field_and_none_applies() {
        let rules = r#"[{"name":"ok","method":"POST","path":"/a","status":401,"outcome":"FRAUDULENT"},
                        {"name":"bad","method":"POST","path":"/b","status":401,"outcome":"MAYBE"}]"#;
        let c = parse(&[GOOD[0], GOOD[1], (OUTCOME_RULES, rules)]);
        assert!(c.outcome_rules.is_empty());
        assert!(c.api.is_ok());
        assert_eq!(c.problems.len(), 1);
        let line = c.problems[0].to_string();
        assert!(
            line.starts_with(r#"OUTCOME_RULES: rule 1 ("bad"): outcome: unknown label"#),
            "{line}"
        );
        assert!(line.ends_with("no rule applies"), "{line}");
        let good =
            r#"[{"name":"ok","method":"POST","path":"/a","status":401,"outcome":"FRAUDULENT"}]"#;
        let c = parse(&[GOOD[0], GOOD[1], (OUTCOME_RULES, good)]);
        assert_eq!((c.outcome_rules.rules().len(), c.problems.len()), (1, 0));
    }

    #[test]
    fn outcome_rules_may_be_a_json_value_and_no_other_variable_may() {
        let rules =
            r#"[{"name":"ok","method":"POST","path":"/a","status":401,"outcome":"FRAUDULENT"}]"#;
        let c = Config::from_values(|name| match name {
            PROJECT_ID => Some(VarValue::Text("p".into())),
            API_KEY => Some(VarValue::Text("k".into())),
            OUTCOME_RULES => Some(VarValue::Json(rules.into())),
            LOG_LEVEL => Some(VarValue::Json("[]".into())),
            _ => None,
        });
        assert_eq!(c.outcome_rules.rules().len(), 1);
        let vars: Vec<_> = c.problems.iter().map(|e| e.var).collect();
        assert_eq!(vars, vec![LOG_LEVEL]);
    }

    #[test]
    fn an_empty_assessment_id_header_disables_it() {
        let mut vars = GOOD.to_vec();
        vars.push((ASSESSMENT_ID_HEADER, ""));
        assert_eq!(parse(&vars).assessment_id_header, None);
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
