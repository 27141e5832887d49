//! What the worker is told of the WAF that assesses its requests: Google's
//! WAF worker's site keys under the names that worker reads, or, without
//! any, the sources another WAF reads (`TOKEN_SOURCES`, `TOKEN_HEADER`,
//! `TOKEN_COOKIES`).

use super::environment::VarValue;
use super::values::Values;
use super::vars::{
    Row, ACTION_SITE_KEY, CHALLENGE_PAGE_SITE_KEY, ENTERPRISE_SITE_KEY, EXPRESS_SITE_KEY,
    SESSION_SITE_KEY, SITE_KEYS, TOKEN_COOKIES, TOKEN_HEADER, TOKEN_SOURCES,
};
use crate::error::ConfigError;
use crate::request::cookies::CookiePattern;
use crate::request::token_sources::{Listed, SiteKeys, WafRules, GOOGLE_TOKEN_HEADER};

/// The rules, and the name of the token header they read. `known`: no site
/// key is of a type the WAF would read by JavaScript truthiness (such keys
/// are not read at all, and which token is assessed is unknown).
pub(super) fn waf_rules(
    values: &mut Values,
    token_header: String,
    known: bool,
) -> (WafRules, String) {
    // Set means non-empty text, as a JavaScript string is truthy.
    let keys = SiteKeys {
        action: values.is_set(&ACTION_SITE_KEY.row),
        enterprise: values.is_set(&ENTERPRISE_SITE_KEY.row),
        challenge_page: values.is_set(&CHALLENGE_PAGE_SITE_KEY.row),
        session: values.is_set(&SESSION_SITE_KEY.row),
        express: values.is_set(&EXPRESS_SITE_KEY.row),
    };
    if keys.any() {
        for row in [&TOKEN_HEADER.row, &TOKEN_SOURCES.row, &TOKEN_COOKIES.row] {
            if values.is_set(row) {
                values.report(
                    row.name,
                    "is ignored: a site key is set, so the WAF is Google's WAF worker, which reads X-Recaptcha-Token and the recaptcha-*-e and recaptcha-*-t cookies by its own rules",
                );
            }
        }
        return (WafRules::Google(keys), GOOGLE_TOKEN_HEADER.to_owned());
    }
    let patterns = values.or_default(&TOKEN_COOKIES);
    let sources = values.or_default(&TOKEN_SOURCES);
    let listed = Listed {
        header: sources.header.then(|| token_header.clone()),
        cookies: if sources.cookies {
            patterns
        } else {
            Vec::new()
        },
    };
    if !known {
        return (WafRules::Unknown, token_header);
    }
    (WafRules::Listed(listed), token_header)
}

pub(super) fn is_site_key(row: &Row) -> bool {
    SITE_KEYS.iter().any(|key| key.row.name == row.name)
}

/// Site-key variables whose value is not text: Google's worker would read a
/// number or boolean by JavaScript's truthiness, which the worker does not
/// imitate, so which token it assesses is unknown.
pub(super) fn odd_site_keys(lookup: &impl Fn(&str) -> Option<VarValue>) -> Vec<ConfigError> {
    SITE_KEYS
        .iter()
        .filter(|var| {
            matches!(
                lookup(var.row.name),
                Some(VarValue::Number(_) | VarValue::Other(_))
            )
        })
        .map(|var| {
            ConfigError::new(
                var.row.name,
                "is not a string: write the site key quoted; until then no token names an assessment",
            )
        })
        .collect()
}

/// `TOKEN_COOKIES`: comma-separated patterns, blanks skipped.
pub(super) fn token_cookies(v: &str) -> Result<Vec<CookiePattern>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(CookiePattern::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::environment::Environment;
    use crate::config::{
        Config, ACTION_SITE_KEY, API_KEY, CHALLENGE_PAGE_SITE_KEY, DEFAULT_TOKEN_HEADER,
        EXPRESS_SITE_KEY, PROJECT_ID, SESSION_SITE_KEY, SITE_KEY_VARS, TOKEN_COOKIES, TOKEN_HEADER,
        TOKEN_SOURCES,
    };
    use crate::request::token_sources::SiteKeys;
    use crate::testing::test;
    use std::collections::HashMap;

    /// With a valid API target, so that only the WAF's problems are reported.
    fn parse(vars: &[(&str, &str)]) -> Config {
        let mut map: HashMap<&str, &str> = vars.iter().copied().collect();
        map.extend([(PROJECT_ID, "p"), (API_KEY, "k")]);
        Config::parse(|k| map.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn without_site_keys_the_token_variables_describe_the_waf() {
        let c = parse(&[]);
        let WafRules::Listed(listed) = &c.token_rules else {
            panic!("{:?}", c.token_rules)
        };
        assert_eq!(listed.header.as_deref(), Some(DEFAULT_TOKEN_HEADER));
        assert_eq!(listed.cookies.len(), 2);
        let c = parse(&[(TOKEN_SOURCES, "cookies"), (TOKEN_COOKIES, "my-session")]);
        let WafRules::Listed(listed) = &c.token_rules else {
            panic!("{:?}", c.token_rules)
        };
        assert_eq!(listed.header, None);
        assert_eq!(
            listed.cookies,
            vec![CookiePattern::parse("my-session").unwrap()]
        );
        let c = parse(&[(TOKEN_SOURCES, "query"), (TOKEN_COOKIES, "a*b*c")]);
        let vars: Vec<_> = c.problems.iter().map(|e| e.var).collect();
        assert_eq!(vars, vec![TOKEN_COOKIES, TOKEN_SOURCES]);
        assert!(
            matches!(&c.token_rules, WafRules::Listed(l) if l.header.is_some() && l.cookies.len() == 2)
        );
    }

    #[test]
    fn a_site_key_makes_the_waf_googles_with_exactly_those_keys() {
        let c = parse(&[(SESSION_SITE_KEY, "6Lc-session"), (EXPRESS_SITE_KEY, " ")]);
        let want = SiteKeys {
            session: true,
            express: true,
            ..SiteKeys::default()
        };
        assert_eq!(c.token_rules, WafRules::Google(want));
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        let c = parse(&[(ACTION_SITE_KEY, ""), (CHALLENGE_PAGE_SITE_KEY, "k")]);
        let want = SiteKeys {
            challenge_page: true,
            ..SiteKeys::default()
        };
        assert_eq!(c.token_rules, WafRules::Google(want));
    }

    #[test]
    fn with_site_keys_the_token_variables_are_reported_as_ignored() {
        let c = parse(&[
            (ACTION_SITE_KEY, "k"),
            (TOKEN_HEADER, "X-Other"),
            (TOKEN_SOURCES, "cookies"),
            (TOKEN_COOKIES, "my-session"),
        ]);
        assert_eq!(c.token_header, GOOGLE_TOKEN_HEADER);
        let vars: Vec<_> = c.problems.iter().map(|e| e.var).collect();
        assert_eq!(vars, vec![TOKEN_HEADER, TOKEN_SOURCES, TOKEN_COOKIES]);
        assert!(c.problems[0].why.contains("ignored"));
    }

    #[test]
    fn a_site_key_that_is_not_text_leaves_the_wafs_choice_unknown() {
        let c = Config::load(Environment::vars(|name| match name {
            SESSION_SITE_KEY => Some(VarValue::Text("k".into())),
            ACTION_SITE_KEY => Some(VarValue::Other("a boolean")),
            CHALLENGE_PAGE_SITE_KEY => Some(VarValue::Number(0.0)),
            _ => None,
        }));
        assert_eq!(c.token_rules, WafRules::Unknown);
        let vars: Vec<_> = c
            .problems
            .iter()
            .filter(|p| SITE_KEY_VARS.contains(&p.var))
            .map(|e| e.var)
            .collect();
        assert_eq!(vars, vec![ACTION_SITE_KEY, CHALLENGE_PAGE_SITE_KEY]);
    }
}
