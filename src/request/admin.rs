//! The late-annotation batch endpoint's access: a path and a bearer token,
//! compared in constant time.

use base64::Engine;

/// The late-annotation batch endpoint. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Admin {
    pub path: String,
    token: String,
}

impl Admin {
    /// `path` and `token` as validated by the configuration.
    pub(crate) fn new(path: String, token: String) -> Self {
        Self { path, token }
    }

    /// Checks an `Authorization` header in constant time.
    pub fn authorized(&self, authorization: Option<&str>) -> bool {
        bearer_matches(authorization, &self.token)
    }

    /// Whether an `Authorization` header holds the token in any form a
    /// client might send it: any scheme or none, quoted, as a parameter
    /// (`token="…"`), among several values, or as either half of a `Basic`
    /// credential. Such a request must never reach the origin. The header
    /// is cut at every character a token cannot hold, and the token is
    /// carried when each of its own pieces is among the header's (a valid
    /// token is one piece; one that configuration refused may be several).
    /// Each piece is compared in constant time.
    pub fn carried_by(&self, authorization: &str) -> bool {
        let mut wanted = pieces(self.token.as_bytes()).peekable();
        if wanted.peek().is_none() {
            return false;
        }
        let mut carried = true;
        for want in wanted {
            let mut found = among(authorization.as_bytes(), want);
            // A `Basic` credential is base64 of `user:password`.
            for word in authorization.split(|c: char| c.is_whitespace() || c == ',') {
                if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(word) {
                    found |= among(&decoded, want);
                }
            }
            carried &= found;
        }
        carried
    }
}

/// A character of an RFC 6750 `b64token` but its trailing `=`s: all a
/// bearer token may hold, so a piece of a header made of them is a token or
/// part of one, wherever the client put it.
pub(crate) fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

/// The runs of token characters in `text`.
fn pieces(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| !is_token_char(b))
        .filter(|piece| !piece.is_empty())
}

/// Whether `want` is one of the pieces of `text`.
fn among(text: &[u8], want: &[u8]) -> bool {
    let mut found = false;
    for piece in pieces(text) {
        found |= same(piece, want);
    }
    found
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("path", &self.path)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Compares a bearer `Authorization` header with the expected token in time
/// that does not depend on where they differ.
pub fn bearer_matches(authorization: Option<&str>, expected: &str) -> bool {
    let Some(given) = authorization.and_then(|h| {
        let (scheme, rest) = h.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
    }) else {
        return false;
    };
    same(given.as_bytes(), expected.as_bytes())
}

/// `given == expected`, walking the full length of `expected` whatever the
/// input, so the time depends on neither where they differ nor the given
/// length.
fn same(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, &x) in expected.iter().enumerate() {
        diff |= x ^ given.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    #[test]
    fn bearer_tokens_must_match_exactly() {
        let t = "s3cret-admin-token-0123456789";
        assert!(bearer_matches(Some(&format!("Bearer {t}")), t));
        assert!(bearer_matches(Some(&format!("bearer  {t} ")), t));
        assert!(!bearer_matches(Some(&format!("Bearer {t}x")), t));
        assert!(!bearer_matches(Some("Bearer s3cret"), t));
        assert!(!bearer_matches(Some(&format!("Basic {t}")), t));
        assert!(!bearer_matches(Some(t), t));
        assert!(!bearer_matches(None, t));
        assert!(!bearer_matches(Some("Bearer "), t));
    }

    #[test]
    fn the_token_is_found_in_any_form_an_authorization_header_can_carry() {
        let t = "s3cret-admin-token-0123456789";
        let admin = Admin::new("/p".into(), t.into());
        let basic = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        for carried in [
            format!("Bearer {t}"),
            format!("Bearer\t{t}"),
            t.to_owned(),
            format!("Token {t}"),
            format!("Bearer x, Bearer {t}"),
            format!("Basic {}", basic(&format!("job:{t}"))),
            format!("Basic {}", basic(&format!("{t}:"))),
            format!("Token token=\"{t}\""),
            format!("Bearer \"{t}\""),
            format!("Bearer token={t}"),
            format!("Bearer {t};"),
            format!("Bearer x;{t}"),
        ] {
            assert!(admin.carried_by(&carried), "{carried:?}");
        }
        for other in [
            "Bearer someone-else".to_owned(),
            format!("Bearer {t}x"),
            format!("Basic {}", basic("job:s3cret")),
            String::new(),
            "Basic %%%".to_owned(),
            format!("Bearer {}", &t[1..]),
            format!("Bearer {t}_"),
        ] {
            assert!(!admin.carried_by(&other), "{other:?}");
        }
    }

    #[test]
    fn padding_is_not_part_of_what_is_compared() {
        let t = "c2VjcmV0LWFkbWluLXRva2Vu==";
        let admin = Admin::new("/p".into(), t.into());
        for carried in [
            format!("Bearer {t}"),
            format!("Bearer {}", &t[..t.len() - 2]),
        ] {
            assert!(admin.carried_by(&carried), "{carried:?}");
        }
    }

    #[test]
    fn a_token_configuration_refused_is_still_found_piece_by_piece() {
        let t = "s3cret,admin token";
        let admin = Admin::new("/p".into(), t.into());
        assert!(admin.carried_by(&format!("Token {t}")));
        assert!(admin.carried_by("Bearer admin, s3cret token"));
        assert!(!admin.carried_by("Bearer s3cret"));
        // Nothing a token could be made of: never found, never everything.
        assert!(!Admin::new("/p".into(), " ,;".into()).carried_by("Bearer x"));
    }
}
