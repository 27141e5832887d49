//! The account a rule names: taken from the request (a form field, a JSON
//! body's member or a header), optionally lowercased and hashed.
//!
//! Whatever goes wrong here leaves the annotation without an account,
//! never with a guessed one: a cut, repeated or undecodable value is no
//! value.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Serialize;
use sha2::Sha256;

/// How much of a request body is read for an account field; the rest
/// streams to the origin unread. A sign-in form is far smaller.
pub const BODY_PREFIX_MAX: usize = 64 * 1024;

/// Longest account value sent; a longer one is dropped (the annotation is
/// still sent, without it).
pub const MAX_ACCOUNT_LEN: usize = 1024;

/// Shortest `OUTCOME_RULES_HASH_KEY` accepted.
pub const MIN_HASH_KEY_LEN: usize = 32;

/// Where the account comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountFrom {
    /// A field of an `application/x-www-form-urlencoded` body.
    Form(String),
    /// A top-level member of a JSON object body (a string or a number).
    Json(String),
    /// A request header (its name as configured).
    Header(String),
}

impl AccountFrom {
    pub fn kind(&self) -> AccountKind {
        match self {
            AccountFrom::Form(_) => AccountKind::Form,
            AccountFrom::Json(_) => AccountKind::Json,
            AccountFrom::Header(_) => AccountKind::Header,
        }
    }

    /// The raw value in a request body's first bytes (`None`: the body
    /// could not be read; `complete`: the bytes are the whole body).
    pub fn find_in_body(
        &self,
        content_type: Option<&str>,
        prefix: Option<(&[u8], bool)>,
    ) -> Result<String, Missing> {
        content_type_fits(self, content_type)?;
        let (bytes, complete) = prefix.ok_or(Missing::Unreadable)?;
        match self {
            AccountFrom::Form(name) => form_field(bytes, complete, name),
            AccountFrom::Json(name) => json_member(bytes, complete, name),
            AccountFrom::Header(_) => Err(Missing::Unreadable),
        }
    }

    /// True when the request body must be read.
    pub fn needs_body(&self) -> bool {
        !matches!(self, AccountFrom::Header(_))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Form,
    Json,
    Header,
}

/// A rule's `account`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRule {
    pub from: AccountFrom,
    /// Send `hashedAccountId` (HMAC-SHA256 with `OUTCOME_RULES_HASH_KEY`)
    /// instead of `accountId`.
    pub hash: bool,
    /// Lowercase ASCII letters before sending or hashing (emails typed in
    /// any case; other letters are kept: their case rules vary by locale).
    pub lowercase: bool,
}

/// The account as it goes into the annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountValue {
    Plain(String),
    /// Standard padded base64 of the HMAC.
    Hashed(String),
}

/// Why a rule's annotation goes without its account.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    #[error("the request has no such field")]
    NotFound,
    #[error("the field is given more than once")]
    Repeated,
    #[error("the field is empty")]
    Empty,
    #[error("the field is not in the first {BODY_PREFIX_MAX} bytes of the body")]
    BeyondPrefix,
    #[error("the body is not {0}")]
    WrongType(&'static str),
    #[error("the value is not valid UTF-8")]
    NotUtf8,
    #[error("the value is longer than {MAX_ACCOUNT_LEN} bytes")]
    TooLong,
    #[error("the request body could not be read")]
    Unreadable,
    #[error("there is no OUTCOME_RULES_HASH_KEY to hash it with")]
    NoHashKey,
}

/// The raw value of a form field in a body's first bytes (`complete`:
/// they are the whole body). `+` is a space, `%XX` a byte, as browsers send.
pub fn form_field(body: &[u8], complete: bool, name: &str) -> Result<String, Missing> {
    let mut pairs: Vec<&[u8]> = body.split(|&b| b == b'&').collect();
    // The last pair of a cut body may itself be cut.
    let cut = (!complete).then(|| pairs.pop()).flatten();
    let mut found = None;
    for pair in pairs {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        if form_decode(key).as_deref() == Some(name.as_bytes()) && found.replace(value).is_some() {
            return Err(Missing::Repeated);
        }
    }
    let value = match (found, cut) {
        (Some(v), _) => v,
        (None, Some(_)) => return Err(Missing::BeyondPrefix),
        (None, None) => return Err(Missing::NotFound),
    };
    let decoded = form_decode(value).ok_or(Missing::NotUtf8)?;
    String::from_utf8(decoded).map_err(|_| Missing::NotUtf8)
}

fn form_decode(raw: &[u8]) -> Option<Vec<u8>> {
    let plus: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    Some(percent_encoding::percent_decode(&plus).collect())
}

/// A top-level member of a JSON object body: a string, or a number as
/// written. A cut body is never parsed (it is not JSON).
pub fn json_member(body: &[u8], complete: bool, name: &str) -> Result<String, Missing> {
    if !complete {
        return Err(Missing::BeyondPrefix);
    }
    let mut d = serde_json::Deserializer::from_slice(body);
    let found = MemberSeed { name }
        .deserialize(&mut d)
        .map_err(|_| Missing::WrongType("a JSON object"))?;
    d.end().map_err(|_| Missing::WrongType("a JSON object"))?;
    found
}

struct MemberSeed<'a> {
    name: &'a str,
}

impl<'de> DeserializeSeed<'de> for MemberSeed<'_> {
    type Value = Result<String, Missing>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MemberSeed<'_> {
    type Value = Result<String, Missing>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found: Option<Result<String, Missing>> = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<str>>()? {
            if key != self.name {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            // As written: a number is never converted (no float code).
            let raw = map.next_value::<&serde_json::value::RawValue>()?;
            let value = match (super::raw::string(raw), super::raw::number(raw)) {
                (Some(s), _) => Ok(s),
                (_, Some(n)) => Ok(n.to_owned()),
                _ => Err(Missing::WrongType("a string or number member")),
            };
            if found.replace(value).is_some() {
                return Ok(Err(Missing::Repeated));
            }
        }
        Ok(found.unwrap_or(Err(Missing::NotFound)))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom("an array"))
    }
}

/// Whether a request's `Content-Type` is what the source needs.
pub fn content_type_fits(from: &AccountFrom, content_type: Option<&str>) -> Result<(), Missing> {
    let essence = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase());
    match from {
        AccountFrom::Form(_) if essence.as_deref() != Some("application/x-www-form-urlencoded") => {
            Err(Missing::WrongType("application/x-www-form-urlencoded"))
        }
        AccountFrom::Json(_)
            if !essence
                .as_deref()
                .is_some_and(|e| e == "application/json" || e.ends_with("+json")) =>
        {
            Err(Missing::WrongType("application/json"))
        }
        _ => Ok(()),
    }
}

impl AccountRule {
    /// The value to send: trimmed, lowercased if asked, hashed if asked.
    pub fn finish(&self, raw: &str, hash_key: Option<&[u8]>) -> Result<AccountValue, Missing> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Missing::Empty);
        }
        // U+FFFD is what undecodable bytes became: not the user's text.
        if trimmed.contains(char::REPLACEMENT_CHARACTER) {
            return Err(Missing::NotUtf8);
        }
        if trimmed.len() > MAX_ACCOUNT_LEN {
            return Err(Missing::TooLong);
        }
        let value = if self.lowercase {
            trimmed.to_ascii_lowercase()
        } else {
            trimmed.to_owned()
        };
        Ok(match (self.hash, hash_key) {
            (true, Some(key)) => AccountValue::Hashed(hmac_sha256_base64(key, &value)),
            // A rule that hashes is refused at configuration without a key.
            (true, None) => return Err(Missing::NoHashKey),
            (false, _) => AccountValue::Plain(value),
        })
    }
}

/// HMAC-SHA256 of `value` under `key`, standard padded base64.
pub fn hmac_sha256_base64(key: &[u8], value: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(value.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    #[test]
    fn a_form_field_is_decoded_as_browsers_encode_it() {
        let body = b"password=x&username=Ann+Lee%40shop.example&remember=1";
        assert_eq!(
            form_field(body, true, "username").as_deref(),
            Ok("Ann Lee@shop.example")
        );
        assert_eq!(form_field(body, true, "email"), Err(Missing::NotFound));
        assert_eq!(
            form_field(b"user%6eame=a", true, "username").as_deref(),
            Ok("a")
        );
        assert_eq!(form_field(b"username", true, "username").as_deref(), Ok(""));
    }

    #[test]
    fn a_form_field_given_twice_names_no_account() {
        assert_eq!(form_field(b"u=a&u=b", true, "u"), Err(Missing::Repeated));
    }

    #[test]
    fn a_form_field_cut_at_the_prefix_is_not_taken() {
        assert_eq!(
            form_field(b"a=1&u=ali", false, "u"),
            Err(Missing::BeyondPrefix)
        );
        assert_eq!(
            form_field(b"u=alice&a=12", false, "u").as_deref(),
            Ok("alice")
        );
        assert_eq!(form_field(b"a=1&b=2", true, "u"), Err(Missing::NotFound));
    }

    #[test]
    fn form_bytes_that_are_not_utf8_name_no_account() {
        assert_eq!(form_field(b"u=%FF", true, "u"), Err(Missing::NotUtf8));
    }

    #[test]
    fn a_json_member_is_a_string_or_a_number_at_the_top_level() {
        let body = br#"{"password":"x","email":"ann@shop.example","n":{"email":"no"}}"#;
        assert_eq!(
            json_member(body, true, "email").as_deref(),
            Ok("ann@shop.example")
        );
        assert_eq!(
            json_member(br#"{"id":42}"#, true, "id").as_deref(),
            Ok("42")
        );
        assert_eq!(
            json_member(br#"{"id":null}"#, true, "id"),
            Err(Missing::WrongType("a string or number member"))
        );
        assert_eq!(
            json_member(br#"{"a":1}"#, true, "id"),
            Err(Missing::NotFound)
        );
        assert_eq!(
            json_member(br#"{"id":"a","id":"b"}"#, true, "id"),
            Err(Missing::Repeated)
        );
        assert_eq!(
            json_member(br#"["id"]"#, true, "id"),
            Err(Missing::WrongType("a JSON object"))
        );
        assert_eq!(
            json_member(br#"{"id":"a"} x"#, true, "id"),
            Err(Missing::WrongType("a JSON object"))
        );
        assert_eq!(
            json_member(br#"{"id":"a"}"#, false, "id"),
            Err(Missing::BeyondPrefix)
        );
    }

    #[test]
    fn the_content_type_must_fit_the_source() {
        let form = AccountFrom::Form("u".into());
        let json = AccountFrom::Json("u".into());
        assert_eq!(
            content_type_fits(
                &form,
                Some("application/x-www-form-urlencoded; charset=UTF-8")
            ),
            Ok(())
        );
        assert!(content_type_fits(&form, Some("multipart/form-data; boundary=x")).is_err());
        assert!(content_type_fits(&form, None).is_err());
        assert_eq!(content_type_fits(&json, Some("Application/JSON")), Ok(()));
        assert_eq!(
            content_type_fits(&json, Some("application/vnd.api+json")),
            Ok(())
        );
        assert!(content_type_fits(&json, Some("text/plain")).is_err());
    }

    #[test]
    fn values_are_trimmed_lowercased_and_hashed_as_asked() {
        let rule = |hash, lowercase| AccountRule {
            from: AccountFrom::Header("x".into()),
            hash,
            lowercase,
        };
        assert_eq!(
            rule(false, false).finish(" Ann ", None),
            Ok(AccountValue::Plain("Ann".into()))
        );
        assert_eq!(
            rule(false, true).finish("ÄNN", None),
            Ok(AccountValue::Plain("Änn".into()))
        );
        assert_eq!(rule(false, false).finish("  ", None), Err(Missing::Empty));
        let long = "a".repeat(MAX_ACCOUNT_LEN + 1);
        assert_eq!(
            rule(false, false).finish(&long, None),
            Err(Missing::TooLong)
        );
        assert_eq!(
            rule(false, false).finish("a\u{FFFD}", None),
            Err(Missing::NotUtf8)
        );
        let key = [7u8; 32];
        let hashed = rule(true, true).finish("ANN", Some(&key));
        assert_eq!(
            hashed,
            Ok(AccountValue::Hashed(hmac_sha256_base64(&key, "ann")))
        );
    }

    #[test]
    fn the_hash_is_hmac_sha256() {
        // RFC 4231, test case 2.
        let mac = hmac_sha256_base64(b"Jefe", "what do ya want for nothing?");
        let hex: String = base64::engine::general_purpose::STANDARD
            .decode(mac)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
