//! `ADMIN_TOKEN` and `ADMIN_PATH`, each parsed once into the two facts they
//! give: what never reaches the origin (whenever a token is set, valid or
//! not) and the batch endpoint (when both are valid).

use super::values::Values;
use super::vars::{ADMIN_PATH, ADMIN_TOKEN};
use crate::error::ConfigError;
use crate::request::admin::{is_token_char, Admin};

/// Shortest admin token accepted: anything shorter is guessable.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

/// The batch endpoint and the reservation; both `None` without a token.
pub(super) struct AdminConfig {
    /// `None` unless the token and the path are valid.
    pub endpoint: Option<Admin>,
    /// With `ADMIN_TOKEN` set, valid or not: a request under this path (the
    /// default when `ADMIN_PATH` is invalid, never the whole site) or one
    /// that carries this token.
    pub reserved: Option<Admin>,
}

pub(super) fn admin(values: &mut Values) -> AdminConfig {
    let Some(token) = values.raw(&ADMIN_TOKEN.row).map(str::to_owned) else {
        return AdminConfig {
            endpoint: None,
            reserved: None,
        };
    };
    let path = values.value(&ADMIN_PATH);
    let reserved = Admin::new(
        path.clone()
            .unwrap_or_else(|_| Values::default_of(&ADMIN_PATH)),
        // Trimmed: a job sends the token without the newline a pasted
        // secret may end with.
        token.trim().to_owned(),
    );
    let endpoint = values
        .value(&ADMIN_TOKEN)
        .and_then(|token| Ok(Admin::new(path?, token)))
        .map_err(|e: ConfigError| {
            values.report(e.var, format!("{}; the batch endpoint is disabled", e.why))
        })
        .ok();
    AdminConfig {
        endpoint,
        reserved: Some(reserved),
    }
}

/// An RFC 6750 `b64token` of at least [`MIN_ADMIN_TOKEN_LEN`] characters
/// before its padding: what a client can send after `Bearer ` as it is, and
/// what [`Admin::carried_by`] finds whatever the header around it. The
/// token's value never appears in the message.
pub(super) fn token(token: &str) -> Result<String, String> {
    let body = token.trim_end_matches('=');
    if body.len() >= MIN_ADMIN_TOKEN_LEN && body.bytes().all(is_token_char) {
        Ok(token.to_owned())
    } else {
        Err(format!("must be at least {MIN_ADMIN_TOKEN_LEN} of the characters a bearer token can hold (A-Z a-z 0-9 - . _ ~ + /, then optionally =), as `openssl rand -hex 32` makes"))
    }
}

/// A path the endpoint can own without shadowing the site: every path starts
/// with `/`, and the endpoint reserves every path that starts with its own,
/// so `/` or `//` would take the whole site. Segments are checked as the
/// URL parser and the reservation see them: percent-decoded, `.` and `..`
/// resolved away (such a path could never be requested).
pub(super) fn path(path: &str) -> Result<String, String> {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let ok = path.starts_with('/')
        && !path.contains(['?', '#'])
        && path.bytes().all(|b| b.is_ascii_graphic())
        && decoded[1..]
            .split('/')
            .all(|segment| !matches!(segment, "" | "." | ".."));
    if ok {
        Ok(path.to_owned())
    } else {
        Err(format!("{path:?} must be a path of one or more segments, such as /ops/annotations: starting with '/', not ending with one, no empty, '.' or '..' segment (percent-decoded), no query or fragment"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{parse, GOOD};
    use crate::config::{ADMIN_PATH, ADMIN_TOKEN, DEFAULT_ADMIN_PATH};
    use crate::testing::test;

    #[test]
    fn the_batch_endpoint_needs_a_strong_admin_token() {
        assert_eq!(parse(GOOD).admin, None);
        let mut vars = GOOD.to_vec();
        vars.push((ADMIN_TOKEN, "short"));
        let c = parse(&vars);
        assert_eq!(c.admin, None);
        assert_eq!(c.problems[0].var, ADMIN_TOKEN);
        assert!(!c.problems[0].to_string().contains("short"));
        let token = "0123456789abcdef-admin";
        let mut vars = GOOD.to_vec();
        vars.extend([(ADMIN_TOKEN, token), (ADMIN_PATH, "/ops/annotations")]);
        let admin = parse(&vars).admin.unwrap();
        assert_eq!(admin.path, "/ops/annotations");
        assert!(admin.authorized(Some(&format!("Bearer {token}"))));
        assert!(!format!("{admin:?}").contains(token));
    }

    #[test]
    fn an_admin_token_holds_only_what_a_bearer_token_can() {
        let with_token = |t: &str| {
            let mut vars = GOOD.to_vec();
            vars.push((ADMIN_TOKEN, t));
            parse(&vars)
        };
        for ok in [
            "0123456789abcdef0123456789abcdef",
            "A-Za-z0.9_~+/xyzw",
            "c2VjcmV0LWFkbWluLXRva2Vu==",
        ] {
            assert!(with_token(ok).admin.is_some(), "{ok}");
        }
        for bad in [
            "0123456789abcdef,x",
            "0123456789abcdef;x",
            "\"0123456789abcdef\"",
            "0123456789abcdef\"",
            "0123456789abcdef:x",
            "0123456789=abcdef",
            "0123456789abcde=",
            "0123456789abcdef\n",
        ] {
            let c = with_token(bad);
            assert_eq!(c.admin, None, "{bad:?}");
            assert_eq!(c.problems[0].var, ADMIN_TOKEN);
            assert!(!c.problems[0].to_string().contains("0123456789"), "{bad:?}");
        }
    }

    #[test]
    fn an_admin_path_that_would_shadow_the_site_is_refused() {
        let with_path = |p: &str| {
            let mut vars = GOOD.to_vec();
            vars.extend([(ADMIN_TOKEN, "0123456789abcdef-admin"), (ADMIN_PATH, p)]);
            parse(&vars)
        };
        for ok in ["/ops", "/ops/annotations", "/.well-known/x", "/a%2Eb"] {
            assert_eq!(with_path(ok).admin.map(|a| a.path), Some(ok.to_owned()));
        }
        for bad in [
            "/", "//", "///", "/ops/", "/ops//x", "/.", "/..", "/x/..", "/x/./y", "/%2F", "/%2e",
            "ops", "/ops?x", "/ops#x", "/o ps",
        ] {
            let c = with_path(bad);
            assert_eq!(c.admin, None, "{bad:?}");
            assert_eq!(c.problems[0].var, ADMIN_PATH, "{bad:?}");
            // Reserved instead: the default path, never the whole site.
            assert_eq!(c.reserved.unwrap().path, DEFAULT_ADMIN_PATH, "{bad:?}");
        }
    }

    #[test]
    fn an_admin_token_reserves_the_admin_path_even_when_invalid() {
        assert_eq!(parse(GOOD).reserved, None);
        let c = parse(&[GOOD[0], GOOD[1], (ADMIN_TOKEN, "0123456789abcdef\n")]);
        assert_eq!(c.admin, None);
        let reserved = c.reserved.unwrap();
        assert_eq!(reserved.path, DEFAULT_ADMIN_PATH);
        assert!(reserved.authorized(Some("Bearer 0123456789abcdef")));
        let c = parse(&[
            GOOD[0],
            GOOD[1],
            (ADMIN_TOKEN, "0123456789abcdef-x"),
            (ADMIN_PATH, "/ops"),
        ]);
        assert_eq!(c.reserved.unwrap().path, "/ops");
    }
}
