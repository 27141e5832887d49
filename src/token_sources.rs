//! Where a request's assessment ID comes from: the action-token header, then
//! each token-cookie pattern in order. The first source with a valid ID wins.

use percent_encoding::percent_decode_str;
use serde::Serialize;

use crate::assessment_id::AssessmentId;
use crate::cookies::{self, CookiePattern};

/// Which parts of a request may supply the assessment ID (`TOKEN_SOURCES`).
/// Anyone can send a header naming any ID; a site can choose to trust only
/// the cookies the WAF set and validated itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenSources {
    pub header: bool,
    pub cookies: bool,
}

impl Default for TokenSources {
    fn default() -> Self {
        Self {
            header: true,
            cookies: true,
        }
    }
}

impl TokenSources {
    /// A comma-separated list of `header` and `cookies`, at least one.
    pub fn parse(v: &str) -> Result<Self, String> {
        let mut sources = Self {
            header: false,
            cookies: false,
        };
        for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name.to_ascii_lowercase().as_str() {
                "header" => sources.header = true,
                "cookies" => sources.cookies = true,
                _ => {
                    return Err(format!(
                        "{:?} is not header or cookies",
                        crate::error::snippet(name)
                    ))
                }
            }
        }
        if !sources.header && !sources.cookies {
            return Err("names no source".into());
        }
        Ok(sources)
    }
}

/// Which part of the request yielded (or failed to yield) an ID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Source {
    Header(String),
    Cookie(String),
}

/// Why a token held no usable ID. Never carries the token itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenProblem {
    /// No `:U=` followed by exactly 16 ASCII letters/digits at the end.
    NoAssessmentId,
    /// A cookie value whose percent-decoding is not UTF-8.
    BadPercentEncoding,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
/// A token source passed over, and why.
pub struct RejectedToken {
    pub source: Source,
    pub problem: TokenProblem,
}

/// Most passed-over sources listed in a log line; the rest are counted.
pub const MAX_LISTED: usize = 16;

/// The outcome of looking for an ID: the winner, and what was passed over
/// (for the log line when an outcome cannot be sent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extraction {
    pub found: Option<(AssessmentId, Source)>,
    /// The first [`MAX_LISTED`] sources passed over.
    pub rejected: Vec<RejectedToken>,
    /// How many more were passed over: a request may carry thousands.
    pub unlisted: usize,
}

impl Extraction {
    pub fn id(&self) -> Option<AssessmentId> {
        self.found.as_ref().map(|(id, _)| *id)
    }

    fn reject(&mut self, source: impl FnOnce() -> Source, problem: TokenProblem) {
        if self.rejected.len() < MAX_LISTED {
            let source = source();
            self.rejected.push(RejectedToken { source, problem });
        } else {
            self.unlisted += 1;
        }
    }
}

/// Looks for the assessment ID in the token header value and `Cookie` header.
pub fn extract(
    token_header_name: &str,
    token_header: Option<&str>,
    cookie_header: Option<&str>,
    patterns: &[CookiePattern],
) -> Extraction {
    let mut out = Extraction::default();
    if let Some(token) = token_header {
        let source = || Source::Header(token_header_name.to_owned());
        match AssessmentId::from_token(token) {
            Some(id) => {
                out.found = Some((id, source()));
                return out;
            }
            None => out.reject(source, TokenProblem::NoAssessmentId),
        }
    }
    let Some(cookie_header) = cookie_header else {
        return out;
    };
    for pattern in patterns {
        for (name, value) in cookies::pairs(cookie_header).filter(|(n, _)| pattern.matches(n)) {
            let source = || Source::Cookie(name.to_owned());
            match cookie_token_id(value) {
                Ok(id) => {
                    out.found = Some((id, source()));
                    return out;
                }
                Err(problem) => out.reject(source, problem),
            }
        }
    }
    out
}

/// Cookie values are percent-decoded exactly once (`%3AU%3D` occurs in the wild).
fn cookie_token_id(value: &str) -> Result<AssessmentId, TokenProblem> {
    let decoded = percent_decode_str(value)
        .decode_utf8()
        .map_err(|_| TokenProblem::BadPercentEncoding)?;
    AssessmentId::from_token(&decoded).ok_or(TokenProblem::NoAssessmentId)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    const ID_A: &str = "aaaaaaaaaaaaaaa1";
    const ID_B: &str = "bbbbbbbbbbbbbbb2";
    const ID_C: &str = "ccccccccccccccc3";

    fn default_patterns() -> Vec<CookiePattern> {
        ["recaptcha-*-e", "recaptcha-*-t"]
            .iter()
            .map(|p| CookiePattern::parse(p).unwrap())
            .collect()
    }

    fn id(token_header: Option<&str>, cookie: Option<&str>) -> Option<String> {
        extract(
            "X-Recaptcha-Token",
            token_header,
            cookie,
            &default_patterns(),
        )
        .id()
        .map(|i| i.to_string())
    }

    #[test]
    fn thousands_of_bad_cookies_list_a_few_and_count_the_rest() {
        let cookie: Vec<String> = (0..6_000).map(|i| format!("recaptcha-a{i}-t=x")).collect();
        let got = extract(
            "X-Recaptcha-Token",
            None,
            Some(&cookie.join("; ")),
            &default_patterns(),
        );
        assert_eq!(got.rejected.len(), MAX_LISTED);
        assert_eq!(got.unlisted, 6_000 - MAX_LISTED);
        assert_eq!(got.id(), None);
    }

    #[test]
    fn token_sources_name_header_cookies_or_both() {
        let only = |v| TokenSources::parse(v);
        assert_eq!(
            only("cookies"),
            Ok(TokenSources {
                header: false,
                cookies: true
            })
        );
        assert_eq!(only(" Header , cookies "), Ok(TokenSources::default()));
        assert!(only("").is_err());
        assert!(only("header,query").unwrap_err().contains("query"));
    }

    #[test]
    fn the_action_token_header_comes_first() {
        let cookie = format!("recaptcha-cf-e=tok:U={ID_B}");
        assert_eq!(
            id(Some(&format!("tok:U={ID_A}")), Some(&cookie)).as_deref(),
            Some(ID_A)
        );
    }

    #[test]
    fn challenge_cookies_beat_session_cookies_whatever_their_order() {
        let cookie = format!("recaptcha-cf-t=t:U={ID_B}; recaptcha-ca-e=e:U={ID_C}");
        assert_eq!(id(None, Some(&cookie)).as_deref(), Some(ID_C));
    }

    #[test]
    fn a_bad_source_falls_through_to_the_next() {
        let cookie = format!("recaptcha-cf-e=broken; recaptcha-fastly-t=t:U={ID_B}");
        let got = extract(
            "X-Recaptcha-Token",
            Some("no-id"),
            Some(&cookie),
            &default_patterns(),
        );
        assert_eq!(got.id().unwrap().as_str(), ID_B);
        assert_eq!(
            got.found.unwrap().1,
            Source::Cookie("recaptcha-fastly-t".into())
        );
        assert_eq!(got.rejected.len(), 2);
    }

    #[test]
    fn cookie_values_are_percent_decoded_exactly_once() {
        assert_eq!(
            id(None, Some(&format!("recaptcha-cf-t=tok%3AU%3D{ID_A}"))).as_deref(),
            Some(ID_A)
        );
        assert_eq!(
            id(None, Some(&format!("recaptcha-cf-t=tok%253AU%253D{ID_A}"))),
            None
        );
        assert_eq!(
            id(None, Some("recaptcha-cf-t=tok%3AU%3Daaaaaaaaaaaaaa%2F1")),
            None
        );
    }

    #[test]
    fn header_tokens_are_not_percent_decoded() {
        assert_eq!(id(Some(&format!("tok%3AU%3D{ID_A}")), None), None);
    }

    #[test]
    fn invalid_utf8_after_decoding_is_reported() {
        let got = extract(
            "t",
            None,
            Some("recaptcha-cf-t=%FF:U=aaaaaaaaaaaaaaa1"),
            &default_patterns(),
        );
        assert_eq!(got.id(), None);
        assert_eq!(got.rejected[0].problem, TokenProblem::BadPercentEncoding);
    }

    #[test]
    fn unrelated_cookies_are_ignored() {
        assert_eq!(
            id(
                None,
                Some(&format!("session=x:U={ID_A}; recaptcha-t=x:U={ID_A}"))
            ),
            None
        );
    }
}
