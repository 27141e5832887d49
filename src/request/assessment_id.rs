//! The assessment ID: the only request-derived value that ever reaches the API path.

use std::fmt;

/// Length Google gives for an assessment ID: "16 characters after `:U=`".
pub const LEN: usize = 16;

/// Marker that precedes the assessment ID at the end of a WAF token.
const MARKER: &str = ":U=";

/// A reCAPTCHA assessment ID: exactly 16 ASCII letters or digits.
///
/// The constructor is the only way to get one, so a value of this type is
/// always safe to interpolate into a URL path without escaping.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AssessmentId([u8; LEN]);

impl AssessmentId {
    /// Accepts exactly 16 ASCII alphanumerics, nothing else (no trimming).
    pub fn parse(s: &str) -> Option<Self> {
        let bytes = s.as_bytes();
        if bytes.len() != LEN || !bytes.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        let mut id = [0u8; LEN];
        id.copy_from_slice(bytes);
        Some(Self(id))
    }

    /// The ID of a WAF token: the text after its last `:U=`, which must end
    /// the token and be a valid ID. Anything else yields `None`.
    pub fn from_token(token: &str) -> Option<Self> {
        let (_, tail) = token.rsplit_once(MARKER)?;
        Self::parse(tail)
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII alphanumerics are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for AssessmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for AssessmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AssessmentId({})", self.as_str())
    }
}

impl serde::Serialize for AssessmentId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for AssessmentId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| {
            serde::de::Error::custom("assessment must be exactly 16 ASCII letters or digits")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    #[test]
    fn googles_documented_example_token_yields_its_id() {
        let id = AssessmentId::from_token("................:U=6ZZZZe73fZZZZZZ0").unwrap();
        assert_eq!(id.as_str(), "6ZZZZe73fZZZZZZ0");
    }

    #[test]
    fn the_last_marker_wins() {
        let id = AssessmentId::from_token("a:U=0000000000000000:U=bc304e08a0000000").unwrap();
        assert_eq!(id.as_str(), "bc304e08a0000000");
    }

    #[test]
    fn anything_but_sixteen_alphanumerics_at_the_end_is_no_id() {
        for token in [
            "abc:U=bc304e08a000000",      // 15
            "abc:U=bc304e08a00000000",    // 17
            "abc:U=bc304e08a0000000 ",    // trailing space
            "abc:U= bc304e08a0000000",    // leading space
            "abc:U=../../../../../../..", // traversal
            "abc:U=bc304e08a000000?",
            "abc:U=bc304e08a000000#",
            "abc:U=bc304e08a%2F00000",
            "abc:U=bc304e08a00000é0",
            "abc:U=bc304e08a0000000:U=",
            "abc:u=bc304e08a0000000",
            "bc304e08a0000000",
            "",
        ] {
            assert_eq!(AssessmentId::from_token(token), None, "{token:?}");
        }
    }
}
