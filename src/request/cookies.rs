//! The `Cookie` request header as Google's reCAPTCHA WAF worker reads it,
//! and the `TOKEN_COOKIES` name patterns for any other WAF.

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

/// The `name=value` pairs of a `Cookie` header, in order, read as Google's
/// WAF worker reads them: the header split at every `;`, each segment at its
/// first `=`, name and value trimmed as JavaScript's `trim` does; the value
/// kept whole (later `=`, quotes and percent-escapes included). A segment
/// without `=` names no cookie (Google's reading gives it an empty name).
pub fn pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|segment| {
        let (name, value) = segment.split_once('=')?;
        Some((js_trim(name), js_trim(value)))
    })
}

/// `String.prototype.trim`: the two ends without ECMAScript white space and
/// line terminators. Not Rust's `trim`, which keeps U+FEFF and drops U+0085.
pub fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_space)
}

fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{B}' | '\u{C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// The two kinds of token cookie Google's WAF worker knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WafCookie {
    /// `recaptcha-*-e`: a challenge-page token.
    Challenge,
    /// `recaptcha-*-t`: a session token.
    Session,
}

impl WafCookie {
    /// The kind `name` is, by the globs Google's worker matches with
    /// picomatch: `recaptcha-*-t` and `recaptcha-*-e`, where `*` is any run
    /// of characters but `/`, empty included.
    pub fn of(name: &str) -> Option<Self> {
        let middle = name.strip_prefix("recaptcha-")?;
        let (kind, middle) = if let Some(m) = middle.strip_suffix("-t") {
            (Self::Session, m)
        } else {
            (Self::Challenge, middle.strip_suffix("-e")?)
        };
        (!middle.contains('/')).then_some(kind)
    }

    /// The name Google's Cloudflare binding gives this kind: its value is
    /// used when the last cookie matching the glob is empty.
    pub fn cloudflare_name(self) -> &'static str {
        match self {
            Self::Challenge => "recaptcha-cf-e",
            Self::Session => "recaptcha-cf-t",
        }
    }
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
    fn cookie_pairs_split_at_the_first_equals_sign_and_keep_the_rest() {
        let got: Vec<_> = pairs(" a=1;b = \"two\" ;junk; c=x=y;;t=tok:U=id; e=a%3Db").collect();
        assert_eq!(
            got,
            vec![
                ("a", "1"),
                ("b", "\"two\""),
                ("c", "x=y"),
                ("t", "tok:U=id"),
                ("e", "a%3Db")
            ]
        );
    }

    #[test]
    fn trimming_is_javascripts() {
        assert_eq!(js_trim("\u{FEFF}\u{3000} a b\u{2028}\t"), "a b");
        assert_eq!(js_trim("\u{85}x\u{85}"), "\u{85}x\u{85}");
        assert_eq!(js_trim("\u{200B}x"), "\u{200B}x");
    }

    #[test]
    fn the_waf_globs_are_picomatchs() {
        // Each checked against picomatch 4's isMatch(name, "recaptcha-*-t").
        for name in [
            "recaptcha-cf-t",
            "recaptcha--t",
            "recaptcha-a-b-t",
            "recaptcha-.x-t",
            "recaptcha-\\x-t",
            "recaptcha-é-t",
            "recaptcha- -t",
            "recaptcha-a-e-t",
        ] {
            assert_eq!(WafCookie::of(name), Some(WafCookie::Session), "{name}");
        }
        for name in [
            "recaptcha-a/b-t",
            "recaptcha-/-t",
            "Recaptcha-cf-t",
            "recaptcha-cf-T",
            "recaptcha-cf-tt",
            "recaptcha-t",
            "recaptcha-",
            "./recaptcha-a-t",
        ] {
            assert_eq!(WafCookie::of(name), None, "{name}");
        }
        assert_eq!(WafCookie::of("recaptcha-a-t-e"), Some(WafCookie::Challenge));
        assert_eq!(WafCookie::of("recaptcha--e"), Some(WafCookie::Challenge));
    }
}
