//! `OUTCOME_RULES` as written: a JSON array of rule objects, each checked
//! whole, every problem named by the rule's index, its name and the field.

use serde_json::value::RawValue;

use super::pattern::{PathPattern, StatusRange};
use super::raw::{self, kind};
use super::MIN_HASH_KEY_LEN;
use super::{AccountFrom, AccountRule, HeaderCondition, HeaderTest, Rule, RuleSet};
use crate::outcome::parse_header;
use crate::redact::snippet;

/// Longest `OUTCOME_RULES` accepted.
pub const MAX_RULES_LEN: usize = 64 * 1024;
/// Most rules in a set (one bit each in [`super::Candidates`]).
pub const MAX_RULES: usize = 64;
const MAX_NAME_LEN: usize = 64;
const FIELDS: &[&str] = &[
    "name", "method", "path", "status", "headers", "location", "outcome", "account",
];

/// A problem in `OUTCOME_RULES`: where, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}{why}", place(*.index, .name.as_deref()), .field.map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct RuleError {
    /// The rule's position in the array, from 0.
    pub index: Option<usize>,
    pub name: Option<String>,
    pub field: Option<&'static str>,
    pub why: String,
}

fn place(index: Option<usize>, name: Option<&str>) -> String {
    match (index, name) {
        (Some(i), Some(n)) => format!("rule {i} ({n:?}): "),
        (Some(i), None) => format!("rule {i}: "),
        _ => String::new(),
    }
}

fn whole(why: impl Into<String>) -> Vec<RuleError> {
    vec![RuleError {
        index: None,
        name: None,
        field: None,
        why: why.into(),
    }]
}

pub fn parse(text: &str, hash_key: Option<&str>) -> Result<RuleSet, Vec<RuleError>> {
    if text.len() > MAX_RULES_LEN {
        return Err(whole(format!("is longer than {MAX_RULES_LEN} bytes")));
    }
    let items = match serde_json::from_str::<&RawValue>(text) {
        // serde_json's message names line and column, never the text.
        Err(e) => return Err(whole(format!("is not JSON: {e}"))),
        Ok(v) => match raw::array(v) {
            Some(items) => items,
            None => {
                let why = format!("must be a JSON array of rules, not {}", kind(v));
                return Err(whole(why));
            }
        },
    };
    if items.len() > MAX_RULES {
        return Err(whole(format!(
            "has {} rules, more than {MAX_RULES}",
            items.len()
        )));
    }
    let hash_key = hash_key.filter(|k| !k.is_empty());
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match rule(item, hash_key.is_some()) {
            Ok(r) if rules.iter().any(|o: &Rule| o.name == r.name) => errors.push(RuleError {
                index: Some(index),
                name: Some(r.name),
                field: Some("name"),
                why: "is the name of an earlier rule".into(),
            }),
            Ok(r) => rules.push(r),
            Err((name, field, why)) => errors.push(RuleError {
                index: Some(index),
                name,
                field,
                why,
            }),
        }
    }
    if let Some(key) = hash_key {
        if key.len() < MIN_HASH_KEY_LEN {
            errors.push(RuleError {
                index: None,
                name: None,
                field: None,
                // Never the key itself.
                why: format!("OUTCOME_RULES_HASH_KEY must be at least {MIN_HASH_KEY_LEN} bytes"),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(RuleSet {
        rules,
        hash_key: hash_key.map(|k| k.as_bytes().to_vec()),
    })
}

type Problem = (Option<String>, Option<&'static str>, String);

fn rule(item: &RawValue, can_hash: bool) -> Result<Rule, Problem> {
    let members = raw::object(item).map_err(|why| (None, None, why))?;
    let get = |field: &str| members.iter().find(|(k, _)| k == field).map(|(_, v)| *v);
    let name = match get("name").map(raw::string) {
        Some(Some(n)) if name_ok(&n) => n,
        Some(_) => {
            let why = format!("must be 1 to {MAX_NAME_LEN} letters, digits, '.', '_' or '-'");
            return Err((None, Some("name"), why));
        }
        None => return Err((None, Some("name"), "is required".into())),
    };
    let fail = |field: &'static str, why: String| (Some(name.clone()), Some(field), why);
    if let Some((unknown, _)) = members.iter().find(|(k, _)| !FIELDS.contains(&k.as_str())) {
        let why = format!(
            "unknown field {:?} (expected {})",
            snippet(unknown),
            FIELDS.join(", ")
        );
        return Err((Some(name.clone()), None, why));
    }
    let required =
        |field: &'static str| get(field).ok_or_else(|| fail(field, "is required".into()));
    let methods = one_or_many(required("method")?)
        .and_then(|items| items.into_iter().map(method).collect())
        .map_err(|why| fail("method", why))?;
    let path = pattern(required("path")?).map_err(|why| fail("path", why))?;
    let statuses = one_or_many(required("status")?)
        .and_then(|items| items.into_iter().map(status).collect())
        .map_err(|why| fail("status", why))?;
    let headers = get("headers")
        .map_or(Ok(Vec::new()), headers)
        .map_err(|why| fail("headers", why))?;
    let location = get("location")
        .map(pattern)
        .transpose()
        .map_err(|why| fail("location", why))?;
    let outcome = outcome(required("outcome")?).map_err(|why| fail("outcome", why))?;
    let account = get("account")
        .map(|v| account(v, can_hash))
        .transpose()
        .map_err(|why| fail("account", why))?;
    Ok(Rule {
        name,
        methods,
        path,
        statuses,
        headers,
        location,
        outcome,
        account,
    })
}

fn name_ok(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn text(v: &RawValue) -> Result<String, String> {
    raw::string(v).ok_or_else(|| format!("must be a string, not {}", kind(v)))
}

fn pattern(v: &RawValue) -> Result<PathPattern, String> {
    PathPattern::parse(&text(v)?)
}

fn one_or_many(v: &RawValue) -> Result<Vec<&RawValue>, String> {
    match raw::array(v) {
        Some(items) if items.is_empty() => Err("must not be empty".into()),
        Some(items) => Ok(items),
        None => Ok(vec![v]),
    }
}

fn method(v: &RawValue) -> Result<String, String> {
    let m = text(v)?;
    if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!("{:?} is not a method (POST, PUT, …)", snippet(&m)));
    }
    Ok(m.to_ascii_uppercase())
}

fn status(v: &RawValue) -> Result<StatusRange, String> {
    match (raw::number(v), raw::string(v)) {
        (Some(n), _) => StatusRange::parse_text(n),
        (_, Some(s)) => StatusRange::parse_text(&s),
        _ => Err(format!("must be a number or a string, not {}", kind(v))),
    }
}

fn headers(v: &RawValue) -> Result<Vec<HeaderCondition>, String> {
    let members = raw::object(v).map_err(|why| format!("{why} (name: true, false or a value)"))?;
    members
        .into_iter()
        .map(|(name, test)| {
            if !crate::config::is_header_name(&name) {
                return Err(format!("{:?} is not a header name", snippet(&name)));
            }
            let test = match (raw::boolean(test), raw::string(test)) {
                (Some(true), _) => HeaderTest::Present,
                (Some(false), _) => HeaderTest::Absent,
                (_, Some(s)) if s.trim() == s && !s.is_empty() => HeaderTest::Equals(s),
                _ => {
                    return Err(format!(
                        "{name}: must be true (present), false (absent) or a value without surrounding spaces"
                    ))
                }
            };
            Ok(HeaderCondition {
                name: name.to_ascii_lowercase(),
                test,
            })
        })
        .collect()
}

fn outcome(v: &RawValue) -> Result<crate::outcome::Outcome, String> {
    // The JSON form as written: its numbers keep their digits.
    let header = match (raw::string(v), kind(v)) {
        (Some(s), _) => s,
        (None, "an object") => v.get().to_owned(),
        (None, other) => {
            return Err(format!(
                "must be the outcome header's short form (a string) or JSON form (an object), not {other}"
            ))
        }
    };
    let outcome = parse_header(&header).map_err(|e| e.to_string())?;
    if outcome.assessment.is_some() {
        return Err("must not name an assessment: a rule annotates the request's own".into());
    }
    let a = &outcome.annotation;
    if a.account_id.is_some() || a.hashed_account_id.is_some() {
        return Err("must not hold an account: name where it comes from with \"account\"".into());
    }
    Ok(outcome)
}

fn account(v: &RawValue, can_hash: bool) -> Result<AccountRule, String> {
    let members = raw::object(v)?;
    let mut from = None;
    let (mut hash, mut lowercase) = (false, false);
    for (key, value) in members {
        let source = match key.as_str() {
            "form" => AccountFrom::Form,
            "json" => AccountFrom::Json,
            "header" => AccountFrom::Header,
            "hash" | "lowercase" => {
                let b =
                    raw::boolean(value).ok_or_else(|| format!("{key}: must be true or false"))?;
                *(if key == "hash" {
                    &mut hash
                } else {
                    &mut lowercase
                }) = b;
                continue;
            }
            other => {
                return Err(format!(
                    "unknown field {:?} (expected form, json or header, hash, lowercase)",
                    snippet(other)
                ))
            }
        };
        let field = text(value).map_err(|why| format!("{key}: {why}"))?;
        if field.is_empty() || field.len() > 256 {
            return Err(format!("{key}: must be 1 to 256 bytes"));
        }
        if key == "header" && !crate::config::is_header_name(&field) {
            return Err(format!(
                "header: {:?} is not a header name",
                snippet(&field)
            ));
        }
        if from.replace(source(field)).is_some() {
            return Err("must name one source: form, json or header".into());
        }
    }
    let from = from.ok_or("must name a source: form, json or header")?;
    if hash && !can_hash {
        return Err("hash: needs the OUTCOME_RULES_HASH_KEY secret".into());
    }
    Ok(AccountRule {
        from,
        hash,
        lowercase,
    })
}
