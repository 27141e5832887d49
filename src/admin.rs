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
    /// client might send it: any scheme or none, several values joined with
    /// `,`, or as either half of a `Basic` credential. Such a request must
    /// never reach the origin. Each piece is compared in constant time.
    pub fn carried_by(&self, authorization: &str) -> bool {
        let token = self.token.as_bytes();
        let mut carried = false;
        for piece in authorization.split(|c: char| c.is_whitespace() || c == ',') {
            carried |= same(piece.as_bytes(), token);
            // A `Basic` credential is base64 of `user:password`.
            if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(piece) {
                for half in decoded.splitn(2, |&b| b == b':') {
                    carried |= same(half, token);
                }
            }
        }
        carried
    }
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
        ] {
            assert!(admin.carried_by(&carried), "{carried:?}");
        }
        for other in [
            "Bearer someone-else".to_owned(),
            format!("Bearer {t}x"),
            format!("Basic {}", basic("job:s3cret")),
            String::new(),
            "Basic %%%".to_owned(),
        ] {
            assert!(!admin.carried_by(&other), "{other:?}");
        }
    }
}
