//! What the worker is told of the WAF that assesses its requests: Google's
//! WAF worker's site keys under the names that worker reads, or, without
//! any, the sources another WAF reads (`TOKEN_SOURCES`, `TOKEN_HEADER`,
//! `TOKEN_COOKIES`).

use super::vars::*;
use crate::error::ConfigError;
use crate::request::cookies::CookiePattern;
use crate::request::token_sources::{
    Listed, SiteKeys, TokenSources, WafRules, GOOGLE_TOKEN_HEADER,
};

/// The rules, and the name of the token header they read.
pub(super) fn waf_rules(
    get: &impl Fn(&str) -> Option<String>,
    token_header: String,
    problems: &mut Vec<ConfigError>,
) -> (WafRules, String) {
    // Set means non-empty text, as a JavaScript string is truthy.
    let set = |var| get(var).is_some();
    let keys = SiteKeys {
        action: set(ACTION_SITE_KEY),
        enterprise: set(ENTERPRISE_SITE_KEY),
        challenge_page: set(CHALLENGE_PAGE_SITE_KEY),
        session: set(SESSION_SITE_KEY),
        express: set(EXPRESS_SITE_KEY),
    };
    if keys.any() {
        for var in [TOKEN_HEADER, TOKEN_SOURCES, TOKEN_COOKIES] {
            if set(var) {
                problems.push(ConfigError::new(
                    var,
                    "is ignored: a site key is set, so the WAF is Google's WAF worker, which reads X-Recaptcha-Token and the recaptcha-*-e and recaptcha-*-t cookies by its own rules",
                ));
            }
        }
        return (WafRules::Google(keys), GOOGLE_TOKEN_HEADER.to_owned());
    }
    let patterns = token_cookies(get(TOKEN_COOKIES).as_deref()).unwrap_or_else(|why| {
        problems.push(ConfigError::new(
            TOKEN_COOKIES,
            format!("{why}; using {DEFAULT_TOKEN_COOKIES}"),
        ));
        token_cookies(None).unwrap_or_default()
    });
    let sources =
        get(TOKEN_SOURCES).map_or(Ok(TokenSources::default()), |v| TokenSources::parse(&v));
    let sources = sources.unwrap_or_else(|why| {
        problems.push(ConfigError::new(
            TOKEN_SOURCES,
            format!("{why}; using {DEFAULT_TOKEN_SOURCES}"),
        ));
        TokenSources::default()
    });
    let listed = Listed {
        header: sources.header.then(|| token_header.clone()),
        cookies: if sources.cookies {
            patterns
        } else {
            Vec::new()
        },
    };
    (WafRules::Listed(listed), token_header)
}

/// Site-key variables whose value is not text: Google's worker would read a
/// number or boolean by JavaScript's truthiness, which the worker does not
/// imitate, so which token it assesses is unknown.
pub(super) fn odd_site_keys(lookup: &impl Fn(&str) -> Option<VarValue>) -> Vec<ConfigError> {
    SITE_KEY_VARS
        .iter()
        .filter(|var| matches!(lookup(var), Some(VarValue::Number(_) | VarValue::Other(_))))
        .map(|var| {
            ConfigError::new(
                var,
                "is not a string: write the site key quoted; until then no token names an assessment",
            )
        })
        .collect()
}

fn token_cookies(v: Option<&str>) -> Result<Vec<CookiePattern>, String> {
    v.unwrap_or(DEFAULT_TOKEN_COOKIES)
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(CookiePattern::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;
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
        let c = Config::from_values(|name| match name {
            SESSION_SITE_KEY => Some(VarValue::Text("k".into())),
            ACTION_SITE_KEY => Some(VarValue::Other("a boolean")),
            CHALLENGE_PAGE_SITE_KEY => Some(VarValue::Number(0.0)),
            _ => None,
        });
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
