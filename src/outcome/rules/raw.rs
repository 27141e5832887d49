//! The rules' JSON read without a tree: each value stays the text it was
//! (`serde_json`'s `RawValue`), so numbers are never converted (no float
//! code in the module) and an object member given twice is seen, where
//! `serde_json::Value` would keep the last one silently.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::redact::snippet;

/// An object's members in order, values as written.
pub type Members<'a> = Vec<(String, &'a RawValue)>;

/// What a value is, for a message (`"a number"`).
pub fn kind(v: &RawValue) -> &'static str {
    match v.get().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

pub fn array(v: &RawValue) -> Option<Vec<&RawValue>> {
    serde_json::from_str(v.get()).ok()
}

pub fn string(v: &RawValue) -> Option<String> {
    v.get()
        .starts_with('"')
        .then(|| serde_json::from_str(v.get()).ok())
        .flatten()
}

pub fn boolean(v: &RawValue) -> Option<bool> {
    match v.get() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// A JSON number as written, when it is one.
pub fn number(v: &RawValue) -> Option<&str> {
    let text = v.get();
    text.starts_with(|c: char| c == '-' || c.is_ascii_digit())
        .then_some(text)
}

/// An object's members, or why not (not an object, a member twice).
pub fn object(v: &RawValue) -> Result<Members<'_>, String> {
    if !v.get().starts_with('{') {
        return Err(format!("must be an object, not {}", kind(v)));
    }
    let mut d = serde_json::Deserializer::from_str(v.get());
    d.deserialize_map(MembersVisitor).map_err(|e| e.to_string())
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members: Members = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format_args!(
                    "member {:?} given twice",
                    snippet(&key)
                )));
            }
            members.push((key, map.next_value()?));
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    fn raw(text: &str) -> &RawValue {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_member_given_twice_is_refused() {
        let e = object(raw(r#"{"status":401,"status":200}"#)).unwrap_err();
        assert!(e.contains("\"status\" given twice"), "{e}");
    }

    #[test]
    fn values_stay_as_written() {
        let members = object(raw(r#"{"b":[1, 2.50],"a":{"x":"y\"z"},"c":true}"#)).unwrap();
        let texts: Vec<_> = members.iter().map(|(k, v)| (k.as_str(), v.get())).collect();
        assert_eq!(
            texts,
            [("b", "[1, 2.50]"), ("a", r#"{"x":"y\"z"}"#), ("c", "true")]
        );
        assert_eq!(array(members[0].1).unwrap()[1].get(), "2.50");
        assert_eq!(number(array(members[0].1).unwrap()[1]), Some("2.50"));
        assert_eq!(boolean(members[2].1), Some(true));
        assert_eq!(string(raw(r#""a\u0062""#)).as_deref(), Some("ab"));
        assert_eq!(
            (kind(members[1].1), kind(raw("null"))),
            ("an object", "null")
        );
    }
}
