//! Outcome rules: what the origin's response already says, turned into an
//! outcome without a change to the origin (`OUTCOME_RULES`).
//!
//! A rule matches the request (method, path) and the origin's response
//! (status, headers, `Location`) and yields an outcome exactly as the
//! outcome header would: the rule's outcome is header text, parsed by the
//! header's own parser when the rules are read, and parsed again with the
//! request's account added, so a rule can say nothing the header could not.
//! The first rule that matches wins; an outcome header from the origin
//! always wins over every rule, and a response served from a cache is never
//! annotated by a rule.

mod account;
mod format;
mod pattern;
mod raw;

pub use account::{
    content_type_fits, form_field, hmac_sha256_base64, json_member, AccountFrom, AccountKind,
    AccountRule, AccountValue, Missing, BODY_PREFIX_MAX, MAX_ACCOUNT_LEN, MIN_HASH_KEY_LEN,
};
pub use format::{RuleError, MAX_RULES, MAX_RULES_LEN};
pub use pattern::{location_path, PathPattern, StatusRange};

use super::Outcome;
use crate::error::OutcomeError;

/// The parsed `OUTCOME_RULES`, in order.
#[derive(Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// `OUTCOME_RULES_HASH_KEY`, when a rule hashes.
    hash_key: Option<Vec<u8>>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        // Never the hash key.
        f.debug_struct("RuleSet")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub name: String,
    /// Upper case.
    methods: Vec<String>,
    path: PathPattern,
    statuses: Vec<StatusRange>,
    headers: Vec<HeaderCondition>,
    location: Option<PathPattern>,
    outcome: Outcome,
    pub account: Option<AccountRule>,
}

/// A response header a rule requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderCondition {
    /// Lower case.
    pub name: String,
    pub test: HeaderTest,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderTest {
    Present,
    Absent,
    /// The value, compared exactly after trimming spaces.
    Equals(String),
}

/// The rules a request's method and path match (a bit per rule): the
/// response is compared only with these.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Candidates(u64);

impl Candidates {
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    fn has(self, i: usize) -> bool {
        self.0 & (1 << i) != 0
    }
}

/// What the rules see of the origin's response.
pub struct ResponseFacts<'a> {
    pub status: u16,
    /// A response header's value by (lower-case) name.
    pub header: &'a dyn Fn(&str) -> Option<String>,
    /// Served from a cache: it replays what the origin said to someone else.
    pub from_cache: bool,
}

/// What the rules decide about a response.
#[derive(Debug, PartialEq)]
pub enum Decision<'a> {
    /// No rule matches: nothing to annotate.
    None,
    /// This rule would match, but the response came from a cache.
    FromCache(&'a Rule),
    /// This rule fires.
    Fire(&'a Rule),
}

/// A fired rule's outcome, and what became of its account.
#[derive(Debug, PartialEq)]
pub struct Fired {
    pub outcome: Result<Outcome, OutcomeError>,
    /// Where the account came from, when it was sent.
    pub account: Option<AccountKind>,
    /// Why the rule's account was not sent.
    pub account_missing: Option<Missing>,
}

impl RuleSet {
    /// Parses `OUTCOME_RULES` (a JSON array) with the optional hash key.
    pub fn parse(text: &str, hash_key: Option<&str>) -> Result<Self, Vec<RuleError>> {
        format::parse(text, hash_key)
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether any rule names this method: when none does, the request's
    /// URL need not even be read.
    pub fn has_method(&self, method: &str) -> bool {
        self.rules
            .iter()
            .any(|r| r.methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
    }

    /// The rules whose method and path the request matches.
    pub fn candidates(&self, method: &str, path: &str) -> Candidates {
        let mut bits = 0u64;
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
                && rule.path.matches(path)
            {
                bits |= 1 << i;
            }
        }
        Candidates(bits)
    }

    fn candidate_rules(&self, c: Candidates) -> impl Iterator<Item = &Rule> {
        self.rules
            .iter()
            .enumerate()
            .filter(move |(i, _)| c.has(*i))
            .map(|(_, r)| r)
    }

    /// Whether one of these rules takes its account from the body: only
    /// then is the body read as it streams to the origin.
    pub fn needs_body(&self, c: Candidates) -> bool {
        self.candidate_rules(c)
            .any(|r| r.account.as_ref().is_some_and(|a| a.from.needs_body()))
    }

    /// The request headers these rules take an account from.
    pub fn account_headers(&self, c: Candidates) -> impl Iterator<Item = &str> {
        self.candidate_rules(c)
            .filter_map(|r| match &r.account.as_ref()?.from {
                AccountFrom::Header(name) => Some(name.as_str()),
                _ => None,
            })
    }

    /// The first of the candidates the response matches.
    pub fn decide(&self, c: Candidates, response: &ResponseFacts) -> Decision<'_> {
        match self
            .candidate_rules(c)
            .find(|r| r.matches_response(response))
        {
            None => Decision::None,
            Some(rule) if response.from_cache => Decision::FromCache(rule),
            Some(rule) => Decision::Fire(rule),
        }
    }

    /// The outcome a fired rule sends, given its account's raw value as
    /// found in the request (`None` when the rule names no account).
    pub fn outcome(&self, rule: &Rule, account: Option<Result<String, Missing>>) -> Fired {
        let mut annotation = rule.outcome.annotation.clone();
        let mut fired = Fired {
            outcome: Err(OutcomeError::NothingToSend),
            account: None,
            account_missing: None,
        };
        if let (Some(how), Some(raw)) = (&rule.account, account) {
            match raw.and_then(|raw| how.finish(&raw, self.hash_key.as_deref())) {
                Ok(AccountValue::Plain(v)) => annotation.account_id = Some(v),
                Ok(AccountValue::Hashed(v)) => annotation.hashed_account_id = Some(v),
                Err(why) => fired.account_missing = Some(why),
            }
            if fired.account_missing.is_none() {
                fired.account = Some(how.from.kind());
            }
        }
        // Through the header's own parser, JSON form: the same checks,
        // limits and contradictions as an origin's header.
        fired.outcome = super::parse_header(&annotation.to_json());
        fired
    }
}

impl Rule {
    fn matches_response(&self, r: &ResponseFacts) -> bool {
        self.statuses.iter().any(|s| s.contains(r.status))
            && self.headers.iter().all(|h| {
                let value = (r.header)(&h.name);
                match &h.test {
                    HeaderTest::Present => value.is_some(),
                    HeaderTest::Absent => value.is_none(),
                    HeaderTest::Equals(want) => value.is_some_and(|v| v.trim() == want),
                }
            })
            && self.location.as_ref().is_none_or(|pattern| {
                (r.header)("location")
                    .as_deref()
                    .and_then(location_path)
                    .is_some_and(|path| pattern.matches(path))
            })
    }

    /// The outcome as configured, before any account.
    pub fn configured_outcome(&self) -> &Outcome {
        &self.outcome
    }
}

#[cfg(test)]
mod tests;
