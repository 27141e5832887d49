//! What a rule compares: path patterns and status ranges.

/// A path pattern: segments compared one by one, case-sensitive, as the
/// request sent them; `*` in a segment matches any run of characters but
/// `/`; a last segment `**` matches any rest of the path (`/api/**`
/// matches `/api/` and `/api/a/b`, not `/api`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPattern {
    text: String,
}

/// Longest pattern accepted: real paths are short, and matching costs
/// the pattern's length times the path's.
pub const MAX_PATTERN_LEN: usize = 512;

impl PathPattern {
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.starts_with('/') {
            return Err("must start with '/'".into());
        }
        if text.len() > MAX_PATTERN_LEN {
            return Err(format!("is longer than {MAX_PATTERN_LEN} bytes"));
        }
        if text.contains(['?', '#']) || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "must be visible ASCII without '?' or '#' (the query is not compared)".into(),
            );
        }
        let segments: Vec<&str> = text.split('/').collect();
        for (i, segment) in segments.iter().enumerate() {
            if segment.contains("**") && (*segment != "**" || i + 1 != segments.len()) {
                return Err("'**' must be a whole last segment ('/api/**')".into());
            }
        }
        Ok(Self {
            text: text.to_owned(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, path: &str) -> bool {
        let mut pattern = self.text.split('/');
        let mut actual = path.split('/');
        loop {
            match (pattern.next(), actual.next()) {
                (None, None) => return true,
                (Some("**"), Some(_)) => return true,
                (Some(p), Some(a)) if glob(p.as_bytes(), a.as_bytes()) => {}
                _ => return false,
            }
        }
    }
}

/// `*` matches any run of bytes; everything else itself. The classic
/// two-pointer walk: time bounded by the lengths' product, no recursion.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

/// Statuses a rule applies to, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusRange {
    pub low: u16,
    pub high: u16,
}

impl StatusRange {
    /// `401`, `"4xx"` or `"300-399"`, within 100–599.
    pub fn parse_text(text: &str) -> Result<Self, String> {
        let code = |s: &str| {
            s.trim()
                .parse::<u16>()
                .ok()
                .filter(|n| (100..=599).contains(n))
        };
        let bad = || {
            format!("{text:?} is not a status (401), a class (\"4xx\") or a range (\"300-399\") within 100-599")
        };
        let range = if let Some(class) = text.strip_suffix("xx").or(text.strip_suffix("XX")) {
            let digit = code(&format!("{class}00")).ok_or_else(bad)?;
            (digit, digit + 99)
        } else if let Some((low, high)) = text.split_once('-') {
            (code(low).ok_or_else(bad)?, code(high).ok_or_else(bad)?)
        } else {
            let n = code(text).ok_or_else(bad)?;
            (n, n)
        };
        if range.0 > range.1 {
            return Err(format!("{text:?} is an empty range"));
        }
        Ok(Self {
            low: range.0,
            high: range.1,
        })
    }

    pub fn contains(self, status: u16) -> bool {
        (self.low..=self.high).contains(&status)
    }
}

/// The path of a `Location` value: an absolute URL's path, or the value
/// itself when it starts with `/` (not `//`); `None` for anything else (a
/// relative reference is not compared: what it resolves to depends on the
/// request). Query and fragment are cut.
pub fn location_path(location: &str) -> Option<&str> {
    let location = location.trim();
    let rest = if location.starts_with("//") {
        return None;
    } else if location.starts_with('/') {
        location
    } else {
        let (scheme, rest) = location.split_once("://")?;
        if scheme.is_empty()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return None;
        }
        &rest[rest.find('/')?..]
    };
    Some(&rest[..rest.find(['?', '#']).unwrap_or(rest.len())])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    fn matches(pattern: &str, path: &str) -> bool {
        PathPattern::parse(pattern).unwrap().matches(path)
    }

    #[test]
    fn a_path_pattern_without_stars_matches_only_that_path() {
        assert!(matches("/login", "/login"));
        for other in ["/login/", "/Login", "/login/x", "/", "/logi", "//login"] {
            assert!(!matches("/login", other), "{other}");
        }
    }

    #[test]
    fn a_star_stays_within_one_segment() {
        assert!(matches("/shop/*/login", "/shop/de/login"));
        assert!(matches("/shop/*/login", "/shop//login"));
        assert!(!matches("/shop/*/login", "/shop/de/fr/login"));
        assert!(matches("/api/v*/session", "/api/v2/session"));
        assert!(matches("/*", "/anything"));
        assert!(!matches("/*", "/a/b"));
    }

    #[test]
    fn a_last_double_star_matches_any_rest() {
        assert!(matches("/api/**", "/api/"));
        assert!(matches("/api/**", "/api/a/b/c"));
        assert!(!matches("/api/**", "/api"));
        assert!(!matches("/api/**", "/apix/a"));
    }

    #[test]
    fn patterns_that_cannot_match_as_meant_are_refused() {
        for bad in ["login", "/a?b=1", "/a#x", "/a b", "/**/x", "/a**", "/é"] {
            assert!(PathPattern::parse(bad).is_err(), "{bad}");
        }
        assert!(PathPattern::parse(&format!("/{}", "a".repeat(600))).is_err());
    }

    #[test]
    fn stars_everywhere_stay_cheap() {
        let pattern = PathPattern::parse(&format!("/{}b", "*a".repeat(200))).unwrap();
        assert!(!pattern.matches(&format!("/{}", "a".repeat(4000))));
    }

    #[test]
    fn statuses_are_codes_classes_or_ranges() {
        let r = |s: &str| StatusRange::parse_text(s);
        assert_eq!(
            r("401"),
            Ok(StatusRange {
                low: 401,
                high: 401
            })
        );
        assert_eq!(
            r("4xx"),
            Ok(StatusRange {
                low: 400,
                high: 499
            })
        );
        assert_eq!(
            r("300-399"),
            Ok(StatusRange {
                low: 300,
                high: 399
            })
        );
        for bad in ["6xx", "0", "600", "399-300", "abc", "4x", "", "1xx0"] {
            assert!(r(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_location_is_compared_by_its_path() {
        assert_eq!(location_path("/account?welcome=1"), Some("/account"));
        assert_eq!(
            location_path("https://shop.example/account#x"),
            Some("/account")
        );
        assert_eq!(location_path("https://shop.example"), None);
        assert_eq!(location_path("//evil.example/account"), None);
        assert_eq!(location_path("account"), None);
    }
}
