//! Which part of the worker answers a request: the batch endpoint, a refusal
//! (under its reserved path, or carrying its token), or the proxy; and where
//! the proxy passes it on.

use percent_encoding::percent_decode_str;

use crate::config::Config;
use crate::request::admin::Admin;

#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// The batch endpoint, at exactly its path.
    Batch(&'a Admin),
    /// Near its path (another case, a trailing slash, below it), or
    /// anywhere with the admin token: 404. Such a request may carry the
    /// token, so it never reaches the origin.
    NotFound,
    /// Under the path of an endpoint whose configuration is invalid: 503.
    Disabled,
    Proxy,
}

/// `authorization` is the request's `Authorization` header. The token check
/// covers what a path check cannot: a job posting to a misspelt path, or to
/// the path it meant when `ADMIN_PATH` is invalid and the default is reserved.
pub fn route<'a>(config: &'a Config, path: &str, authorization: Option<&str>) -> Route<'a> {
    let Some(reserved) = &config.reserved else {
        return Route::Proxy;
    };
    match &config.admin {
        Some(admin) if path == admin.path => Route::Batch(admin),
        _ if !is_under(path, &reserved.path)
            && !authorization.is_some_and(|a| reserved.carried_by(a)) =>
        {
            Route::Proxy
        }
        Some(_) => Route::NotFound,
        None => Route::Disabled,
    }
}

/// `path` is `prefix` or starts with it, compared percent-decoded and in any
/// case, so no spelling of the reserved path slips through to the origin.
fn is_under(path: &str, prefix: &str) -> bool {
    let fold = |s: &str| {
        percent_decode_str(s)
            .decode_utf8_lossy()
            .to_ascii_lowercase()
    };
    fold(path).starts_with(&fold(prefix.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ADMIN_TOKEN, API_KEY, DEFAULT_ADMIN_PATH, PROJECT_ID};
    use crate::testing::test;

    fn config(token: Option<&str>) -> Config {
        Config::parse(|name| match name {
            PROJECT_ID => Some("p".into()),
            API_KEY => Some("k".into()),
            ADMIN_TOKEN => token.map(Into::into),
            _ => None,
        })
    }

    #[test]
    fn only_the_exact_admin_path_is_the_batch_endpoint_and_its_near_misses_are_404() {
        let c = config(Some("0123456789abcdef-admin"));
        assert!(matches!(
            route(&c, DEFAULT_ADMIN_PATH, None),
            Route::Batch(_)
        ));
        for near in [
            "/.well-known/recaptcha-annotations/",
            "/.well-known/recaptcha-annotations/x",
            "/.well-known/Recaptcha-Annotations",
            "/.well-known/recaptcha%2Dannotations",
            "/.well-known/recaptcha-annotationsX",
        ] {
            assert_eq!(route(&c, near, None), Route::NotFound, "{near}");
        }
        assert_eq!(route(&c, "/.well-known/other", None), Route::Proxy);
        assert_eq!(route(&c, "/login", None), Route::Proxy);
    }

    #[test]
    fn an_invalid_admin_token_disables_the_path_instead_of_proxying_it() {
        let c = config(Some("0123456789abcdef\n"));
        assert_eq!(route(&c, DEFAULT_ADMIN_PATH, None), Route::Disabled);
        assert_eq!(route(&c, "/", None), Route::Proxy);
    }

    #[test]
    fn a_request_carrying_the_admin_token_is_never_proxied_whatever_its_path() {
        let token = "0123456789abcdef-admin";
        for c in [
            config(Some(token)),
            config(Some("0123456789abcdef-admin\n")),
        ] {
            for auth in [
                format!("Bearer {token}"),
                format!("bearer  {token}\n"),
                token.to_owned(),
            ] {
                let to = route(&c, "/ops/annotations", Some(&auth));
                assert!(matches!(to, Route::NotFound | Route::Disabled), "{to:?}");
            }
            assert_eq!(
                route(&c, "/login", Some("Bearer 0123456789abcdef-admiN")),
                Route::Proxy
            );
        }
    }

    #[test]
    fn without_an_admin_token_everything_is_proxied() {
        assert_eq!(
            route(&config(None), DEFAULT_ADMIN_PATH, Some("Bearer x")),
            Route::Proxy
        );
    }
}
