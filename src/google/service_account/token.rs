//! Bearer tokens: how long one is used, the token endpoint's answers, what
//! a failure to get one means, and the isolate's cache with its one shared
//! fetch.

use serde::Deserialize;

use super::ServiceAccountAuth;
use crate::config::SERVICE_ACCOUNT_KEY;
use crate::delivery::retry::{disposition, Disposition};
use crate::error::ConfigError;
use crate::google::annotate_call::redact_bearer_tokens;
use crate::log::Event;
use crate::redact::snippet_n;

/// A token is replaced this long before it expires.
pub const REFRESH_MARGIN_MS: u64 = 5 * 60 * 1000;
/// A token fetch's own time limit, whatever time the annotation that
/// starts it has left: others share the fetch, and each stops waiting at
/// its own deadline.
pub const TOKEN_FETCH_TIMEOUT_MS: u64 = 10_000;
/// A fetch that has not settled this long after it started is abandoned:
/// the runtime cancelled it with the request that started it, and a
/// cancelled fetch never settles.
const FETCH_STALE_AFTER_MS: u64 = TOKEN_FETCH_TIMEOUT_MS + 5_000;
/// What WebCrypto refusing the key file's private key is called, in the
/// attempt's failure and in the `config_invalid` line alike.
const KEY_REFUSED: &str = "private_key was refused by WebCrypto as an RSA PKCS#8 signing key";

/// A bearer token and when it stops being used (ms since the epoch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub value: String,
    pub refresh_at_ms: u64,
}

impl Token {
    /// Valid for `lifetime_ms` from `now_ms`; replaced [`REFRESH_MARGIN_MS`]
    /// before it ends, or at half its life if that is shorter.
    pub fn new(value: String, now_ms: u64, lifetime_ms: u64) -> Self {
        let margin = REFRESH_MARGIN_MS.min(lifetime_ms / 2);
        Token {
            value,
            refresh_at_ms: now_ms.saturating_add(lifetime_ms - margin),
        }
    }

    pub fn is_fresh(&self, now_ms: u64) -> bool {
        now_ms < self.refresh_at_ms
    }
}

/// Reads the token endpoint's success answer. The token goes into a
/// header, so it must be a plain visible-ASCII word.
pub fn parse_token_response(body: &str, now_ms: u64) -> Result<Token, String> {
    #[derive(Deserialize)]
    struct Answer {
        access_token: String,
        expires_in: u64,
        #[serde(default)]
        token_type: Option<String>,
    }
    let a: Answer = serde_json::from_str(body)
        .map_err(|_| "the token endpoint's answer is not an access token".to_owned())?;
    if a.token_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
    {
        return Err("the token endpoint issued a token that is not a bearer token".into());
    }
    if a.access_token.is_empty()
        || a.access_token.len() > 4096
        || !a.access_token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err("the token endpoint issued a token that cannot be sent in a header".into());
    }
    if a.expires_in == 0 || a.expires_in > 86_400 {
        return Err("the token endpoint's expires_in is out of range".into());
    }
    Ok(Token::new(a.access_token, now_ms, a.expires_in * 1000))
}

/// The token endpoint's error, `{"error":…,"error_description":…}`, as one
/// short line; `None` if the body is not one.
pub fn parse_oauth_error(body: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        #[serde(default)]
        error_description: String,
    }
    let e: OAuthError = serde_json::from_str(body).ok()?;
    Some(if e.error_description.is_empty() {
        e.error
    } else {
        format!("{}: {}", e.error, e.error_description)
    })
}

/// The exchange's answer, `status` and (capped) `body`, read at `now_ms`.
pub fn read_exchange_answer(status: u16, body: &str, now_ms: u64) -> Result<Token, AuthFailure> {
    if status != 200 {
        let why = parse_oauth_error(body).unwrap_or_else(|| format!("HTTP {status}"));
        return Err(AuthFailure::transient(
            Some(status),
            format!("token endpoint answered {status}: {why}"),
        ));
    }
    parse_token_response(body, now_ms).map_err(|error| AuthFailure::transient(None, error))
}

/// Why an attempt got no bearer token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthFailure {
    /// The token endpoint's status; `None` when it gave no answer.
    pub status: Option<u16>,
    /// What went wrong, with the endpoint's OAuth error when it sent one.
    pub error: String,
    /// WebCrypto refused the private key: no retry can help.
    pub key_refused: bool,
}

impl AuthFailure {
    /// Retried or not by its status, like an annotate call.
    fn transient(status: Option<u16>, error: String) -> Self {
        AuthFailure {
            status,
            error,
            key_refused: false,
        }
    }

    pub fn key_refused() -> Self {
        AuthFailure {
            status: None,
            error: ConfigError::new(SERVICE_ACCOUNT_KEY, KEY_REFUSED).to_string(),
            key_refused: true,
        }
    }

    /// The configuration problem a refused key is, logged once per isolate.
    pub fn key_refused_config_error() -> ConfigError {
        ConfigError::new(
            SERVICE_ACCOUNT_KEY,
            format!("{KEY_REFUSED}; annotation is disabled"),
        )
    }

    /// No answer from the token endpoint: `error` says why.
    pub fn unreachable(error: String) -> Self {
        Self::transient(None, format!("token endpoint: {error}"))
    }

    /// No token by the attempt's deadline: a transient failure, retried.
    pub fn out_of_time() -> Self {
        Self::transient(None, "no token before the attempt's deadline".into())
    }

    /// Retried like an annotate call with the same status: an outage or
    /// throttling is transient, a refused assertion is not.
    pub fn disposition(&self) -> Disposition {
        if self.key_refused {
            Disposition::Final
        } else {
            disposition(self.status)
        }
    }

    /// The `auth_failed` line of a fetch that ended this way: the error
    /// without anything shaped like a token, shortened.
    pub fn event(&self, sa: &ServiceAccountAuth) -> Event {
        Event::AuthFailed {
            status: self.status,
            error: snippet_n(&redact_bearer_tokens(&self.error), 300),
            auth_mode: sa.mode.name(),
        }
    }
}

/// An isolate's token and its one fetch in flight. The shell keeps one and
/// does what it says: `B` is the shell's token (with the headers that carry
/// it), `F` its handle on a fetch that every caller in the meantime shares,
/// so a cold isolate under load makes one exchange, not one per annotation.
pub struct TokenCache<B, F> {
    token: Option<(Token, B)>,
    in_flight: Option<InFlight<F>>,
    fetches: u64,
}

struct InFlight<F> {
    fetch: F,
    /// Which fetch this is: one abandoned as stale must not, when it ends
    /// after all, clear the fetch that replaced it.
    generation: u64,
    stale_at_ms: u64,
}

impl<B: Clone, F: Clone> TokenCache<B, F> {
    pub const fn new() -> Self {
        TokenCache {
            token: None,
            in_flight: None,
            fetches: 0,
        }
    }

    /// The token while it is fresh: a warm isolate's calls start at once.
    pub fn fresh(&self, now_ms: u64) -> Option<B> {
        (self.token.as_ref())
            .filter(|(token, _)| token.is_fresh(now_ms))
            .map(|(_, b)| b.clone())
    }

    /// The fetch to wait for: the one in flight unless it went stale, else
    /// a new one, which `start` makes from its generation (it is called
    /// while the cache is borrowed, so it must not use it).
    pub fn fetch(&mut self, now_ms: u64, start: impl FnOnce(u64) -> F) -> F {
        match &self.in_flight {
            Some(f) if now_ms < f.stale_at_ms => f.fetch.clone(),
            _ => {
                self.fetches += 1;
                let fetch = start(self.fetches);
                self.in_flight = Some(InFlight {
                    fetch: fetch.clone(),
                    generation: self.fetches,
                    stale_at_ms: now_ms.saturating_add(FETCH_STALE_AFTER_MS),
                });
                fetch
            }
        }
    }

    /// The fetch of `generation` ended, with `token` if it got one: it is
    /// no longer in flight, unless it was replaced already.
    pub fn settled(&mut self, generation: u64, token: Option<(Token, B)>) {
        if (self.in_flight.as_ref()).is_some_and(|f| f.generation == generation) {
            self.in_flight = None;
        }
        if token.is_some() {
            self.token = token;
        }
    }

    /// Drops the token `value` after Google refused it (401), unless it
    /// was replaced already.
    pub fn forget(&mut self, value: &str) {
        if (self.token.as_ref()).is_some_and(|(token, _)| token.value == value) {
            self.token = None;
        }
    }

    /// The fetch in flight and how long it is worth waiting for.
    pub fn in_flight(&self, now_ms: u64) -> Option<(F, u64)> {
        let f = self.in_flight.as_ref()?;
        let left_ms = f.stale_at_ms.saturating_sub(now_ms);
        (left_ms > 0).then(|| (f.fetch.clone(), left_ms))
    }
}

impl<B: Clone, F: Clone> Default for TokenCache<B, F> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    #[test]
    fn a_token_is_replaced_five_minutes_early_or_at_half_life() {
        let hour = Token::new("t".into(), 0, 3_600_000);
        assert!(hour.is_fresh(3_299_999) && !hour.is_fresh(3_300_000));
        let short = Token::new("t".into(), 1_000, 10_000);
        assert_eq!(short.refresh_at_ms, 6_000);
    }

    #[test]
    fn token_answers_are_checked_before_use() {
        let ok = parse_token_response(
            r#"{"access_token":"ya29.abc","expires_in":3599,"token_type":"Bearer"}"#,
            0,
        )
        .unwrap();
        assert_eq!(ok.value, "ya29.abc");
        for bad in [
            r#"{"access_token":"a b","expires_in":60}"#,
            r#"{"access_token":"x\r\nInjected: 1","expires_in":60}"#,
            r#"{"access_token":"","expires_in":60}"#,
            r#"{"access_token":"x","expires_in":0}"#,
            r#"{"access_token":"x","expires_in":60,"token_type":"MAC"}"#,
            r#"{"expires_in":60}"#,
        ] {
            assert!(parse_token_response(bad, 0).is_err(), "{bad}");
        }
        assert_eq!(
            parse_oauth_error(
                r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#
            )
            .as_deref(),
            Some("invalid_grant: Invalid JWT Signature.")
        );
        assert_eq!(parse_oauth_error("<html>"), None);
    }

    #[test]
    fn a_refused_exchange_names_the_status_and_the_oauth_error() {
        let refused = read_exchange_answer(
            400,
            r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
            0,
        )
        .unwrap_err();
        assert_eq!(refused.status, Some(400));
        assert_eq!(
            refused.error,
            "token endpoint answered 400: invalid_grant: Invalid JWT Signature."
        );
        let outage = read_exchange_answer(503, "<html>", 0).unwrap_err();
        assert_eq!(outage.error, "token endpoint answered 503: HTTP 503");
        let garbled = read_exchange_answer(200, "{}", 0).unwrap_err();
        assert_eq!(garbled.status, None);
        let ok = read_exchange_answer(200, r#"{"access_token":"t","expires_in":60}"#, 5);
        assert_eq!(ok, Ok(Token::new("t".into(), 5, 60_000)));
    }

    #[test]
    fn a_failed_exchange_is_retried_only_when_transient() {
        let failure = |status| AuthFailure {
            status,
            error: "x".into(),
            key_refused: false,
        };
        assert_eq!(failure(Some(503)).disposition(), Disposition::Retryable);
        assert_eq!(failure(None).disposition(), Disposition::Retryable);
        assert_eq!(failure(Some(400)).disposition(), Disposition::Final);
        assert_eq!(AuthFailure::key_refused().disposition(), Disposition::Final);
        assert_eq!(
            AuthFailure::out_of_time().disposition(),
            Disposition::Retryable
        );
    }

    #[test]
    fn a_refused_key_is_named_in_one_wording_for_the_attempt_and_the_config_line() {
        let attempt = AuthFailure::key_refused().error;
        let config = AuthFailure::key_refused_config_error().to_string();
        assert_eq!(
            attempt,
            "GOOGLE_SERVICE_ACCOUNT_KEY: private_key was refused by WebCrypto as an RSA PKCS#8 signing key"
        );
        assert_eq!(config, format!("{attempt}; annotation is disabled"));
    }

    type Cache = TokenCache<&'static str, u64>;

    #[test]
    fn callers_share_the_fetch_in_flight_until_it_goes_stale() {
        let mut cache = Cache::new();
        assert_eq!(cache.fresh(0), None);
        assert_eq!(cache.fetch(0, |generation| generation * 10), 10);
        assert_eq!(cache.fetch(14_999, |_| panic!("a second fetch")), 10);
        assert_eq!(cache.in_flight(14_000), Some((10, 1_000)));
        // A fetch cancelled with its request never settles: abandoned.
        assert_eq!(cache.in_flight(15_000), None);
        assert_eq!(cache.fetch(15_000, |generation| generation * 10), 20);
    }

    #[test]
    fn a_settled_fetch_caches_its_token_and_an_abandoned_one_clears_nothing() {
        let mut cache = Cache::new();
        cache.fetch(0, |g| g);
        cache.fetch(20_000, |g| g);
        cache.settled(1, None);
        assert_eq!(cache.in_flight(20_000), Some((2, 15_000)));
        cache.settled(
            2,
            Some((Token::new("t".into(), 20_000, 60_000), "bearer t")),
        );
        assert_eq!(cache.in_flight(20_000), None);
        assert_eq!(cache.fresh(20_000), Some("bearer t"));
        assert_eq!(cache.fresh(50_000), None, "replaced at half life");
    }

    #[test]
    fn a_refused_token_is_forgotten_unless_replaced_already() {
        let mut cache = Cache::new();
        let token = |value: &str| Some((Token::new(value.into(), 0, 3_600_000), "b"));
        cache.settled(1, token("old"));
        cache.forget("older");
        assert_eq!(cache.fresh(0), Some("b"));
        cache.forget("old");
        assert_eq!(cache.fresh(0), None);
    }
}
