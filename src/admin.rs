//! The late-annotation batch endpoint's access: a path and a bearer token,
//! compared in constant time.

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
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    // Walk the full length of the expected token whatever the input, so the
    // time depends on neither where they differ nor the given length.
    let mut diff = u8::from(a.len() != b.len());
    for (i, &x) in b.iter().enumerate() {
        diff |= x ^ a.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
