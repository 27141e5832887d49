//! The `Cookie` request header and the `TOKEN_COOKIES` name patterns.

/// A cookie-name pattern: a literal name, or one with a single `*` that
/// matches one run (one or more) of ASCII letters/digits, e.g. `recaptcha-*-t`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookiePattern {
    prefix: String,
    /// `None` for a literal name (no `*`).
    suffix: Option<String>,
}

impl CookiePattern {
    pub fn parse(pattern: &str) -> Result<Self, String> {
        if pattern.is_empty() {
            return Err("empty cookie name pattern".into());
        }
        if let Some(c) = pattern.chars().find(|&c| c != '*' && !is_token_char(c)) {
            return Err(format!(
                "{pattern:?} has {c:?}, which cannot appear in a cookie name"
            ));
        }
        match pattern.split_once('*') {
            None => Ok(Self {
                prefix: pattern.to_owned(),
                suffix: None,
            }),
            Some((_, rest)) if rest.contains('*') => {
                Err(format!("{pattern:?} has more than one '*'"))
            }
            Some((prefix, suffix)) => Ok(Self {
                prefix: prefix.to_owned(),
                suffix: Some(suffix.to_owned()),
            }),
        }
    }

    pub fn matches(&self, name: &str) -> bool {
        let Some(suffix) = &self.suffix else {
            return name == self.prefix;
        };
        name.strip_prefix(self.prefix.as_str())
            .and_then(|rest| rest.strip_suffix(suffix.as_str()))
            .is_some_and(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_alphanumeric()))
    }
}

impl std::fmt::Display for CookiePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.suffix {
            Some(suffix) => write!(f, "{}*{}", self.prefix, suffix),
            None => f.write_str(&self.prefix),
        }
    }
}

/// RFC 6265 cookie-name (`token`): visible ASCII except separators.
fn is_token_char(c: char) -> bool {
    c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c)
}

/// The `name=value` pairs of a `Cookie` header, in order, values unquoted.
/// Malformed pairs (no `=`) are skipped, as browsers and servers do.
pub fn pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        Some((name.trim(), value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    #[test]
    fn a_star_matches_one_run_of_letters_and_digits() {
        let p = CookiePattern::parse("recaptcha-*-t").unwrap();
        for name in [
            "recaptcha-cf-t",
            "recaptcha-ca-t",
            "recaptcha-fastly-t",
            "recaptcha-gxlb-t",
        ] {
            assert!(p.matches(name), "{name}");
        }
        for name in [
            "recaptcha--t",
            "recaptcha-cf-e",
            "recaptcha-c-f-t",
            "xrecaptcha-cf-t",
            "recaptcha-cf-tt",
        ] {
            assert!(!p.matches(name), "{name}");
        }
    }

    #[test]
    fn literal_patterns_match_exactly() {
        let p = CookiePattern::parse("session-token").unwrap();
        assert!(p.matches("session-token"));
        assert!(!p.matches("session-tokens"));
    }

    #[test]
    fn invalid_patterns_are_refused() {
        for bad in ["", "a b", "a=b", "a*b*c", "é*"] {
            assert!(CookiePattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cookie_pairs_are_split_trimmed_and_unquoted() {
        let got: Vec<_> = pairs(" a=1;b = \"two\" ;junk; c=x=y;;").collect();
        assert_eq!(got, vec![("a", "1"), ("b", "two"), ("c", "x=y")]);
    }
}
