//! Which token names a request's assessment: the one the WAF in front of the
//! origin assessed, chosen by that WAF's own rules from what the worker is
//! told about it. Google's reCAPTCHA WAF worker is reproduced exactly from
//! its site keys ([`google`]); any other WAF is described by the sources it
//! reads ([`listed`]), and a request that would give it a choice names none.
//! A wrong ID would annotate someone else's assessment: where the WAF's
//! choice cannot be known, there is no ID, and [`Missing`] says why.

mod google;
mod listed;

pub use listed::TokenSources;

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use serde::Serialize;

use crate::request::assessment_id::AssessmentId;
use crate::request::cookies::CookiePattern;

/// The request header Google's WAF worker reads action tokens from.
pub const GOOGLE_TOKEN_HEADER: &str = "X-Recaptcha-Token";

/// Which site keys Google's WAF worker has: only whether each is set
/// matters, as it does to that worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SiteKeys {
    /// `ACTION_SITE_KEY`: the `X-Recaptcha-Token` header is assessed.
    pub action: bool,
    /// `ENTERPRISE_SITE_KEY`: a POST's `g-recaptcha-response` body field is.
    pub enterprise: bool,
    /// `CHALLENGE_PAGE_SITE_KEY`: the `recaptcha-*-e` cookie is.
    pub challenge_page: bool,
    /// `SESSION_SITE_KEY`: the `recaptcha-*-t` cookie is.
    pub session: bool,
    /// `EXPRESS_SITE_KEY`: a request with no token is assessed without one.
    pub express: bool,
}

impl SiteKeys {
    pub fn any(&self) -> bool {
        self.action || self.enterprise || self.challenge_page || self.session || self.express
    }
}

/// What the worker knows of the WAF that assesses its requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WafRules {
    /// Google's reCAPTCHA WAF worker (1.0.x) with these site keys.
    Google(SiteKeys),
    /// Another WAF, reading these sources (`TOKEN_SOURCES`, `TOKEN_HEADER`,
    /// `TOKEN_COOKIES`).
    Listed(Listed),
    /// A site key the worker cannot read as the WAF does (not a string):
    /// no token names an assessment.
    Unknown,
}

/// The sources another WAF reads a token from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// The token header's name; `None` when the WAF reads no header.
    pub header: Option<String>,
    /// Cookie names; empty when the WAF reads no cookie.
    pub cookies: Vec<CookiePattern>,
}

impl WafRules {
    /// Whether [`select`] needs the token header.
    pub fn reads_header(&self) -> bool {
        match self {
            Self::Google(_) => true,
            Self::Listed(listed) => listed.header.is_some(),
            Self::Unknown => false,
        }
    }

    /// Whether [`select`] needs the request's method.
    pub fn reads_method(&self) -> bool {
        matches!(self, Self::Google(keys) if keys.enterprise)
    }

    /// Whether [`select`] needs the `Cookie` header.
    pub fn reads_cookies(&self) -> bool {
        match self {
            Self::Google(keys) => keys.any(),
            Self::Listed(listed) => !listed.cookies.is_empty(),
            Self::Unknown => false,
        }
    }
}

/// The parts of a request that can hold a token.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokenRequest<'a> {
    /// As the runtime gives it (`POST` for a POST).
    pub method: &'a str,
    /// The token header's value, if sent and read.
    pub header: Option<&'a str>,
    /// The `Cookie` header's value, if sent and read.
    pub cookie: Option<&'a str>,
}

/// The assessment the WAF made for a request, as far as the worker can know.
pub fn select(rules: &WafRules, request: &TokenRequest) -> Extraction {
    match rules {
        WafRules::Google(keys) => google::select(*keys, request),
        WafRules::Listed(listed) => listed::select(listed, request),
        WafRules::Unknown => Extraction::none(Missing::UnknownRules),
    }
}

/// Which part of the request yielded (or failed to yield) an ID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Source {
    Header(String),
    Cookie(String),
}

/// Why a token present in the request named no assessment. Never carries
/// the token itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenProblem {
    /// The token the WAF assessed has no `:U=` followed by exactly 16 ASCII
    /// letters/digits at its end.
    NoAssessmentId,
    /// The WAF does not read this source: its site key is not set.
    NoSiteKey,
    /// One of several different tokens, any of which the WAF may have read.
    Ambiguous,
}

/// Why a request names no assessment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// No token the WAF reads was sent.
    NoToken,
    /// The token the WAF assessed ends in no valid ID.
    NoId,
    /// The WAF assesses a POST's `g-recaptcha-response` body field, which
    /// the worker does not read.
    RequestBody,
    /// The WAF assesses the request without a token (express).
    Express,
    /// Another WAF, offered several different tokens.
    Ambiguous,
    /// The configuration does not say what the WAF reads.
    UnknownRules,
}

impl Missing {
    /// The `outcome_dropped` reason.
    pub fn reason(self) -> &'static str {
        match self {
            Self::NoToken => "no assessment ID: the request has no token the WAF reads, and the outcome no assessment=",
            Self::NoId => "no assessment ID: the token the WAF assessed does not end in one, and the outcome has no assessment=",
            Self::RequestBody => "no assessment ID: with ENTERPRISE_SITE_KEY the WAF assesses a POST's g-recaptcha-response body field, which the worker does not read; use assessment=",
            Self::Express => "no assessment ID: the WAF assessed the request without a token (EXPRESS_SITE_KEY); use assessment=",
            Self::Ambiguous => "no assessment ID: the request has several different tokens and which one the WAF assessed is unknown (set the WAF's site keys to decide as it does)",
            Self::UnknownRules => "no assessment ID: a site-key variable is not a string, so which token the WAF reads is unknown",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
/// A token source passed over, and why.
pub struct RejectedToken {
    pub source: Source,
    pub problem: TokenProblem,
}

/// Most passed-over sources listed in a log line; the rest are counted.
pub const MAX_LISTED: usize = 16;

/// The ID the WAF assessed, or why there is none, and the sources passed
/// over (for the log line when an outcome cannot be sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extraction {
    pub chosen: Result<(AssessmentId, Source), Missing>,
    /// The first [`MAX_LISTED`] sources passed over.
    pub rejected: Vec<RejectedToken>,
    /// How many more were passed over: a request may carry thousands.
    pub unlisted: usize,
}

impl Extraction {
    fn none(why: Missing) -> Self {
        Self {
            chosen: Err(why),
            rejected: Vec::new(),
            unlisted: 0,
        }
    }

    pub fn id(&self) -> Option<AssessmentId> {
        self.chosen.as_ref().ok().map(|(id, _)| *id)
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

/// The ID at the end of a token. A cookie's value is read as it is and,
/// only if that names no ID, percent-decoded once as JavaScript's
/// `decodeURIComponent` does (observed session cookies arrive with
/// `%3AU%3D`; Google's WAF worker sends the value on undecoded). Decoding
/// never changes an ID the value names as it is.
fn token_id(value: &str, is_cookie: bool) -> Option<AssessmentId> {
    AssessmentId::from_token(value).or_else(|| {
        let decoded = (is_cookie && value.contains('%')).then(|| decode_uri_component(value))??;
        AssessmentId::from_token(&decoded)
    })
}

/// `decodeURIComponent`: `None` where it throws (a `%` without two hex
/// digits, or bytes that are not UTF-8).
fn decode_uri_component(s: &str) -> Option<Cow<'_, str>> {
    let bytes = s.as_bytes();
    let well_formed = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    well_formed
        .then(|| percent_decode_str(s).decode_utf8().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    const ID: &str = "aaaaaaaaaaaaaaa1";

    fn cookie_id(value: &str) -> Option<String> {
        token_id(value, true).map(|i| i.to_string())
    }

    #[test]
    fn a_cookie_token_is_decoded_once_only_when_it_names_no_id_as_it_is() {
        assert_eq!(cookie_id(&format!("tok%3AU%3D{ID}")).as_deref(), Some(ID));
        assert_eq!(cookie_id(&format!("tok%253AU%253D{ID}")), None);
        assert_eq!(cookie_id("tok%3AU%3Daaaaaaaaaaaaaa%2F1"), None);
        // As it is, the value names an ID: a bad escape elsewhere is no matter.
        assert_eq!(cookie_id(&format!("%FF%G:U={ID}")).as_deref(), Some(ID));
    }

    #[test]
    fn a_value_decodeuricomponent_refuses_names_no_id() {
        for bad in [
            format!("%FF%3AU%3D{ID}"),
            format!("%G1%3AU%3D{ID}"),
            format!("%ED%A0%80%3AU%3D{ID}"),
            format!("%3AU%3D{ID}%"),
        ] {
            assert_eq!(cookie_id(&bad), None, "{bad}");
        }
    }

    #[test]
    fn header_tokens_are_not_percent_decoded() {
        assert_eq!(token_id(&format!("tok%3AU%3D{ID}"), false), None);
    }

    #[test]
    fn an_extraction_lists_sixteen_sources_and_counts_the_rest() {
        let mut e = Extraction::none(Missing::NoId);
        for i in 0..20 {
            e.reject(
                || Source::Cookie(format!("c{i}")),
                TokenProblem::NoAssessmentId,
            );
        }
        assert_eq!((e.rejected.len(), e.unlisted), (MAX_LISTED, 4));
    }

    #[test]
    fn unknown_rules_read_nothing_and_name_no_assessment() {
        let rules = WafRules::Unknown;
        assert!(!rules.reads_header() && !rules.reads_cookies());
        let request = TokenRequest {
            method: "GET",
            header: Some("t:U=aaaaaaaaaaaaaaa1"),
            cookie: None,
        };
        assert_eq!(select(&rules, &request).chosen, Err(Missing::UnknownRules));
    }

    #[test]
    fn every_reason_says_there_is_no_assessment_id_and_looks_like_no_token() {
        use Missing::*;
        for m in [NoToken, NoId, RequestBody, Express, Ambiguous, UnknownRules] {
            assert!(m.reason().starts_with("no assessment ID: "), "{m:?}");
            assert!(!m.reason().contains(":U="), "{m:?}");
        }
    }
}
