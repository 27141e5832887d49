//! Any WAF but Google's Cloudflare worker: the worker is told which sources
//! it reads (`TOKEN_SOURCES`, `TOKEN_HEADER`, `TOKEN_COOKIES`), not how it
//! chooses among them. So a request names an assessment only when every
//! token it carries in those sources is the same text: whichever the WAF
//! read, that is the one. Different tokens name none.

use super::{token_id, Extraction, Listed, Missing, Source, TokenProblem, TokenRequest};
use crate::request::cookies;

/// Which parts of a request the WAF reads a token from (`TOKEN_SOURCES`).
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
                        crate::redact::snippet(name)
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

/// One non-empty token the request carries in a listed source.
#[derive(Clone, Copy)]
struct Candidate<'a> {
    /// The header's or the cookie's name.
    name: &'a str,
    is_cookie: bool,
    value: &'a str,
}

impl Candidate<'_> {
    fn source(&self) -> Source {
        match self.is_cookie {
            true => Source::Cookie(self.name.to_owned()),
            false => Source::Header(self.name.to_owned()),
        }
    }
}

fn candidates<'a>(
    listed: &'a Listed,
    request: &TokenRequest<'a>,
) -> impl Iterator<Item = Candidate<'a>> {
    let header = listed.header.as_deref().zip(request.header);
    let header = header.map(|(name, value)| Candidate {
        name,
        is_cookie: false,
        value,
    });
    let cookies = request
        .cookie
        .filter(|_| !listed.cookies.is_empty())
        .into_iter()
        .flat_map(cookies::pairs)
        .filter(|(name, _)| listed.cookies.iter().any(|p| p.matches(name)))
        .map(|(name, value)| Candidate {
            name,
            is_cookie: true,
            value,
        });
    header
        .into_iter()
        .chain(cookies)
        .filter(|c| !c.value.is_empty())
}

pub(super) fn select(listed: &Listed, request: &TokenRequest) -> Extraction {
    let found: Vec<Candidate> = candidates(listed, request).collect();
    let Some(first) = found.first() else {
        return Extraction::none(Missing::NoToken);
    };
    let same = found.iter().all(|c| c.value == first.value);
    let id = same.then(|| token_id(first.value, first.is_cookie));
    if let Some(id) = id.flatten() {
        let mut out = Extraction::none(Missing::NoToken);
        out.chosen = Ok((id, first.source()));
        return out;
    }
    let (why, problem) = match same {
        true => (Missing::NoId, TokenProblem::NoAssessmentId),
        false => (Missing::Ambiguous, TokenProblem::Ambiguous),
    };
    let mut out = Extraction::none(why);
    for c in &found {
        out.reject(|| c.source(), problem);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::cookies::CookiePattern;
    use crate::testing::test;

    const A: &str = "aaaaaaaaaaaaaaa1";
    const B: &str = "bbbbbbbbbbbbbbb2";

    fn defaults() -> Listed {
        Listed {
            header: Some("X-Recaptcha-Token".into()),
            cookies: ["recaptcha-*-e", "recaptcha-*-t"]
                .iter()
                .map(|p| CookiePattern::parse(p).unwrap())
                .collect(),
        }
    }

    fn pick(listed: &Listed, header: Option<&str>, cookie: Option<&str>) -> Extraction {
        select(
            listed,
            &TokenRequest {
                method: "GET",
                header,
                cookie,
            },
        )
    }

    fn id(e: &Extraction) -> Option<&str> {
        e.chosen.as_ref().ok().map(|(id, _)| id.as_str())
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
    fn one_token_names_its_assessment_whichever_source_holds_it() {
        let header = format!("h:U={A}");
        assert_eq!(id(&pick(&defaults(), Some(&header), None)), Some(A));
        let cookie = format!("x=1; recaptcha-fastly-t=t%3AU%3D{A}; y=2");
        let got = pick(&defaults(), None, Some(&cookie));
        assert_eq!(id(&got), Some(A));
        assert_eq!(
            got.chosen.unwrap().1,
            Source::Cookie("recaptcha-fastly-t".into())
        );
    }

    #[test]
    fn different_tokens_name_no_assessment() {
        let cookie = format!("recaptcha-cf-t=t:U={B}");
        let got = pick(&defaults(), Some(&format!("h:U={A}")), Some(&cookie));
        assert_eq!(got.chosen, Err(Missing::Ambiguous));
        assert_eq!(got.rejected.len(), 2);
        let cookie = format!("recaptcha-cf-t=forged%3AU%3D{A}; recaptcha-cf-t=t:U={B}");
        assert_eq!(
            pick(&defaults(), None, Some(&cookie)).chosen,
            Err(Missing::Ambiguous)
        );
        // A token without an ID is still one the WAF may have read.
        let cookie = format!("recaptcha-cf-e=junk; recaptcha-cf-t=t:U={B}");
        assert_eq!(
            pick(&defaults(), None, Some(&cookie)).chosen,
            Err(Missing::Ambiguous)
        );
    }

    #[test]
    fn the_same_token_twice_is_one_token_and_empty_values_are_none() {
        let token = format!("t:U={A}");
        let cookie = format!("recaptcha-cf-t={token}; recaptcha-cf-e=; recaptcha-cf-t={token}");
        assert_eq!(id(&pick(&defaults(), Some(&token), Some(&cookie))), Some(A));
    }

    #[test]
    fn unlisted_sources_are_not_read() {
        let listed = Listed {
            header: None,
            ..defaults()
        };
        let cookie = format!("recaptcha-cf-t=t:U={B}");
        assert_eq!(
            id(&pick(&listed, Some(&format!("h:U={A}")), Some(&cookie))),
            Some(B)
        );
        assert_eq!(
            pick(&listed, Some(&format!("h:U={A}")), None).chosen,
            Err(Missing::NoToken)
        );
        let listed = Listed {
            cookies: Vec::new(),
            ..defaults()
        };
        assert_eq!(
            pick(&listed, None, Some(&cookie)).chosen,
            Err(Missing::NoToken)
        );
        let cookie = format!("session=x:U={A}; recaptcha-t=x:U={A}");
        assert_eq!(
            pick(&defaults(), None, Some(&cookie)).chosen,
            Err(Missing::NoToken)
        );
    }

    #[test]
    fn thousands_of_tokens_without_an_id_list_a_few_and_count_the_rest() {
        let cookie: Vec<String> = (0..6_000).map(|i| format!("recaptcha-a{i}-t=x")).collect();
        let got = pick(&defaults(), None, Some(&cookie.join("; ")));
        assert_eq!(got.chosen, Err(Missing::NoId));
        assert_eq!(got.rejected.len(), super::super::MAX_LISTED);
        assert_eq!(got.unlisted, 6_000 - super::super::MAX_LISTED);
    }
}
