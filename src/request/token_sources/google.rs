//! Google's reCAPTCHA WAF worker for Cloudflare (`recaptcha-waf`, npm
//! `@google-cloud/recaptcha-cloudflare` 1.0.x): the token it assesses, as
//! `addTokenAndSiteKeyToEvent` in GoogleCloudPlatform/recaptcha-edge
//! (`src/createAssessment.ts`) picks it, first match wins:
//!
//! 1. the `X-Recaptcha-Token` header, if non-empty and `ACTION_SITE_KEY` is set;
//! 2. with `ENTERPRISE_SITE_KEY`, for a POST, the body's `g-recaptcha-response`
//!    (cookies are then not looked at, even when the body has none);
//! 3. the challenge cookie, if non-empty and `CHALLENGE_PAGE_SITE_KEY` is set;
//! 4. the session cookie, if non-empty and `SESSION_SITE_KEY` is set;
//! 5. no token: express with `EXPRESS_SITE_KEY`, else no assessment at all.
//!
//! Cookies are read as [`cookies::pairs`] does; of the cookies matching a
//! kind's glob the last wins, and if its value is empty, the last value of
//! the binding's own name (`recaptcha-cf-e`, `recaptcha-cf-t`) stands in.

use super::GOOGLE_TOKEN_HEADER;
use super::{token_id, Extraction, Missing, SiteKeys, Source, TokenProblem, TokenRequest};
use crate::request::cookies::{self, WafCookie};

pub(super) fn select(keys: SiteKeys, request: &TokenRequest) -> Extraction {
    let mut out = Extraction::none(Missing::NoToken);
    if let Some(token) = request.header.filter(|t| !t.is_empty()) {
        let source = || Source::Header(GOOGLE_TOKEN_HEADER.to_owned());
        if keys.action {
            return assessed(out, token, source(), false);
        }
        out.reject(source, TokenProblem::NoSiteKey);
    }
    // The WAF sees the method as fetch normalises it on the way: "post" is "POST".
    if keys.enterprise && request.method.eq_ignore_ascii_case("POST") {
        out.chosen = Err(Missing::RequestBody);
        return out;
    }
    let found = TokenCookies::read(request.cookie.unwrap_or_default());
    for (kind, has_key) in [
        (WafCookie::Challenge, keys.challenge_page),
        (WafCookie::Session, keys.session),
    ] {
        let Some((name, value)) = found.get(kind) else {
            continue;
        };
        let source = || Source::Cookie(name.to_owned());
        if has_key {
            return assessed(out, value, source(), true);
        }
        out.reject(source, TokenProblem::NoSiteKey);
    }
    if keys.express {
        out.chosen = Err(Missing::Express);
    }
    out
}

/// The WAF assessed `token`: its ID, or no ID at all.
fn assessed(mut out: Extraction, token: &str, source: Source, is_cookie: bool) -> Extraction {
    match token_id(token, is_cookie) {
        Some(id) => out.chosen = Ok((id, source)),
        None => {
            out.chosen = Err(Missing::NoId);
            out.reject(|| source, TokenProblem::NoAssessmentId);
        }
    }
    out
}

/// The challenge and session cookie the WAF would take, each with its name.
#[derive(Default)]
struct TokenCookies<'a> {
    challenge: Option<(&'a str, &'a str)>,
    session: Option<(&'a str, &'a str)>,
}

impl<'a> TokenCookies<'a> {
    fn read(header: &'a str) -> Self {
        let mut last = Self::default();
        let mut own = Self::default();
        for (name, value) in cookies::pairs(header) {
            let Some(kind) = WafCookie::of(name) else {
                continue;
            };
            *last.slot(kind) = Some((name, value));
            if name == kind.cloudflare_name() {
                *own.slot(kind) = Some((name, value));
            }
        }
        let pick = |last: Option<(&'a str, &'a str)>, own: Option<(&'a str, &'a str)>| {
            last.filter(|(_, v)| !v.is_empty())
                .or(own.filter(|(_, v)| !v.is_empty()))
        };
        Self {
            challenge: pick(last.challenge, own.challenge),
            session: pick(last.session, own.session),
        }
    }

    fn slot(&mut self, kind: WafCookie) -> &mut Option<(&'a str, &'a str)> {
        match kind {
            WafCookie::Challenge => &mut self.challenge,
            WafCookie::Session => &mut self.session,
        }
    }

    fn get(&self, kind: WafCookie) -> Option<(&'a str, &'a str)> {
        match kind {
            WafCookie::Challenge => self.challenge,
            WafCookie::Session => self.session,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::assessment_id::AssessmentId;
    use crate::testing::test;

    const A: &str = "aaaaaaaaaaaaaaa1";
    const B: &str = "bbbbbbbbbbbbbbb2";
    const C: &str = "ccccccccccccccc3";

    const ALL: SiteKeys = SiteKeys {
        action: true,
        enterprise: false,
        challenge_page: true,
        session: true,
        express: false,
    };

    fn pick(keys: SiteKeys, method: &str, header: Option<&str>, cookie: &str) -> Extraction {
        select(
            keys,
            &TokenRequest {
                method,
                header,
                cookie: Some(cookie),
            },
        )
    }

    fn id(e: &Extraction) -> Option<&str> {
        e.chosen.as_ref().ok().map(|(id, _)| id.as_str())
    }

    #[test]
    fn the_header_is_read_only_with_an_action_key() {
        let header = format!("h:U={A}");
        let cookie = format!("recaptcha-cf-t=t:U={B}");
        assert_eq!(id(&pick(ALL, "GET", Some(&header), &cookie)), Some(A));
        let no_action = SiteKeys {
            action: false,
            ..ALL
        };
        let got = pick(no_action, "GET", Some(&header), &cookie);
        assert_eq!(id(&got), Some(B));
        assert_eq!(
            got.rejected[0].source,
            Source::Header(GOOGLE_TOKEN_HEADER.into())
        );
        assert_eq!(got.rejected[0].problem, TokenProblem::NoSiteKey);
        let alone = pick(no_action, "GET", Some(&header), "");
        assert_eq!(alone.chosen, Err(Missing::NoToken));
    }

    #[test]
    fn an_empty_header_is_no_token() {
        let cookie = format!("recaptcha-cf-t=t:U={B}");
        assert_eq!(id(&pick(ALL, "GET", Some(""), &cookie)), Some(B));
    }

    #[test]
    fn the_challenge_cookie_comes_before_the_session_cookie_only_with_its_key() {
        let cookie = format!("recaptcha-cf-t=t:U={B}; recaptcha-cf-e=e:U={C}");
        assert_eq!(id(&pick(ALL, "GET", None, &cookie)), Some(C));
        let session_only = SiteKeys {
            session: true,
            ..SiteKeys::default()
        };
        let got = pick(session_only, "GET", None, &cookie);
        assert_eq!(id(&got), Some(B));
        assert_eq!(
            got.rejected[0].source,
            Source::Cookie("recaptcha-cf-e".into())
        );
    }

    #[test]
    fn of_repeated_cookies_the_last_wins_whole_and_undecoded() {
        let cookie = format!("recaptcha-cf-t=forged%3AU%3D{A}; recaptcha-cf-t=real:U={B}");
        assert_eq!(id(&pick(ALL, "GET", None, &cookie)), Some(B));
        // Any name the glob matches counts, other WAFs' included.
        let cookie =
            format!("recaptcha-cf-t=t:U={A}; recaptcha-x/y-t=n:U={C}; recaptcha-a.b-t=t:U={B}");
        assert_eq!(id(&pick(ALL, "GET", None, &cookie)), Some(B));
        // The last one names no ID: none, not an earlier one's.
        let cookie = format!("recaptcha-cf-t=t:U={A}; recaptcha-cf-t=garbage");
        let got = pick(ALL, "GET", None, &cookie);
        assert_eq!(got.chosen, Err(Missing::NoId));
        assert_eq!(got.rejected[0].problem, TokenProblem::NoAssessmentId);
    }

    #[test]
    fn an_empty_last_cookie_gives_way_to_the_last_recaptcha_cf_one() {
        let cookie = format!("recaptcha-cf-t=t:U={A}; recaptcha-zz-t=");
        assert_eq!(id(&pick(ALL, "GET", None, &cookie)), Some(A));
        let cookie = format!("recaptcha-zz-t=t:U={A}; recaptcha-cf-t=");
        assert_eq!(
            pick(ALL, "GET", None, &cookie).chosen,
            Err(Missing::NoToken)
        );
        // An empty session cookie and no other: the challenge key's turn is over, express next.
        let express = SiteKeys {
            express: true,
            ..ALL
        };
        let got = pick(express, "GET", None, "recaptcha-cf-t= ");
        assert_eq!(got.chosen, Err(Missing::Express));
    }

    #[test]
    fn a_value_keeps_every_equals_sign_after_the_first() {
        let cookie = format!("recaptcha-cf-t=03AF=x=:U={A}");
        assert_eq!(id(&pick(ALL, "GET", None, &cookie)), Some(A));
    }

    #[test]
    fn with_an_enterprise_key_a_post_is_assessed_by_its_body() {
        let keys = SiteKeys {
            enterprise: true,
            ..ALL
        };
        let cookie = format!("recaptcha-cf-t=t:U={B}");
        assert_eq!(
            pick(keys, "POST", None, &cookie).chosen,
            Err(Missing::RequestBody)
        );
        assert_eq!(id(&pick(keys, "GET", None, &cookie)), Some(B));
        assert_eq!(id(&pick(keys, "PUT", None, &cookie)), Some(B));
        assert_eq!(
            pick(keys, "post", None, &cookie).chosen,
            Err(Missing::RequestBody)
        );
        // The header still comes first.
        assert_eq!(
            id(&pick(keys, "POST", Some(&format!("h:U={A}")), &cookie)),
            Some(A)
        );
    }

    #[test]
    fn no_key_for_any_token_present_means_no_assessment() {
        let express = SiteKeys {
            express: true,
            ..SiteKeys::default()
        };
        let cookie = format!("recaptcha-cf-t=t:U={B}");
        let got = pick(express, "GET", Some(&format!("h:U={A}")), &cookie);
        assert_eq!(got.chosen, Err(Missing::Express));
        assert_eq!(got.rejected.len(), 2);
        assert!(got
            .rejected
            .iter()
            .all(|r| r.problem == TokenProblem::NoSiteKey));
        let got = pick(SiteKeys::default(), "GET", None, &cookie);
        assert_eq!(got.chosen, Err(Missing::NoToken));
    }

    #[test]
    fn cookie_names_and_values_are_trimmed_as_javascript_trims() {
        let cookie = format!("\u{FEFF}recaptcha-cf-t = t:U={A}\u{3000}");
        assert_eq!(id(&pick(ALL, "GET", None, &cookie)), Some(A));
        // U+0085 is not JavaScript white space: the token ends with it, no ID.
        let cookie = format!("recaptcha-cf-t=t:U={A}\u{85}");
        assert_eq!(pick(ALL, "GET", None, &cookie).chosen, Err(Missing::NoId));
        assert!(AssessmentId::parse(A).is_some());
    }
}
