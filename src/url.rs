//! URLs the worker reads: validating a configured base URL, and taking a
//! request URL apart for routing and for the origin fetch.

/// Whether a validated base URL's authority (`host[:port]/...`) is this
/// machine: `localhost`, `127.0.0.0/8` or `[::1]`.
pub fn is_loopback(rest: &str) -> bool {
    let authority = rest.split('/').next().unwrap_or("");
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next() == Some("::1");
    }
    let host = authority.split(':').next().unwrap_or("");
    host.eq_ignore_ascii_case("localhost")
        || host.strip_prefix("127.").is_some_and(|r| {
            r.split('.').count() == 3 && r.split('.').all(|o| o.parse::<u8>().is_ok())
        })
}

/// A validated base URL that credentials travel to (the API base, the
/// token endpoint): https, or plain http only to this machine, where a local
/// stand-in runs; anyone on the path of plain http reads the credential.
pub fn https_unless_loopback(url: String) -> Result<String, String> {
    if url.starts_with("http://") && !is_loopback(&url["http://".len()..]) {
        return Err(
            "must use https (http only for a loopback stand-in): credentials travel with it".into(),
        );
    }
    Ok(url)
}

/// `http(s)://host[:port][/path]` with no user info, query or fragment,
/// returned without a trailing slash. A path is allowed only when `allow_path`.
pub fn base_url(v: &str, allow_path: bool) -> Result<String, String> {
    let bad = |why: &str| Err(format!("{:?} {why}", redacted(v)));
    let Some((scheme, rest)) = v.split_once("://") else {
        return bad("is not an absolute http(s) URL");
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return bad("must use http or https");
    }
    if rest.contains(['?', '#', '@', '\\'])
        || !rest.is_ascii()
        || rest.contains(char::is_whitespace)
    {
        return bad("must not have a query, fragment, user info, spaces or non-ASCII");
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, "")) => (h, None),
            Some((h, p)) => match p.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => return bad("has an invalid host"),
            },
            None => return bad("has an invalid host"),
        },
        None => match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    let host_ok = if authority.starts_with('[') {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
    } else {
        // DNS labels: letters, digits and inner hyphens, separated by dots.
        host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    };
    if !host_ok {
        return bad("has an invalid host");
    }
    if let Some(p) = port {
        let digits = !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits || p.parse::<u16>().map_or(true, |n| n == 0) {
            return bad("has an invalid port");
        }
    }
    let path = path.trim_end_matches('/');
    if !path.is_empty() && !allow_path {
        return bad("must be scheme://host[:port] only (the request's path and query are kept)");
    }
    Ok(format!(
        "{}://{authority}{path}",
        scheme.to_ascii_lowercase()
    ))
}

/// A URL as it may be logged: a password or key pasted into its user info
/// or query never is. Both are replaced whole, the fragment with the query.
pub fn redacted(v: &str) -> String {
    let (head, query) = match v.find(['?', '#']) {
        Some(i) => (&v[..i], "?[redacted]"),
        None => (v, ""),
    };
    let start = head.find("://").map_or(0, |i| i + 3);
    let end = head[start..].find('/').map_or(head.len(), |i| start + i);
    let authority = &head[start..end];
    match authority.rfind('@') {
        Some(at) => format!(
            "{}[redacted]@{}{}{query}",
            &head[..start],
            &authority[at + 1..],
            &head[end..]
        ),
        None => format!("{head}{query}"),
    }
}

/// The URL to fetch from the origin: the fixed origin plus the request's
/// path and query, or the request URL unchanged.
pub fn origin_request_url(origin: &str, request_url: &str) -> String {
    format!("{origin}{}", path_and_query(request_url))
}

/// The path of an absolute request URL, without query or fragment: what the
/// batch endpoint's `ADMIN_PATH` is compared with. workerd hands the worker a
/// parsed and re-serialised URL, so dot segments are already resolved.
pub fn request_path(request_url: &str) -> &str {
    let p = path_and_query(request_url);
    &p[..p.find(['?', '#']).unwrap_or(p.len())]
}

/// Everything from the path on (`/login?next=%2F#x`), `/` when there is none.
fn path_and_query(request_url: &str) -> &str {
    let after_scheme = request_url.find("://").map_or(0, |i| i + 3);
    request_url[after_scheme..]
        .find('/')
        .map_or("/", |i| &request_url[after_scheme + i..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    #[test]
    fn base_urls_are_validated() {
        for ok in [
            "http://127.0.0.1:8080",
            "https://example.com/",
            "http://[::1]:8080",
            "http://localhost",
        ] {
            assert!(base_url(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "127.0.0.1:8080",
            "http://",
            "http://a b",
            "http://user@host",
            "http://host?x",
            "http://host:0",
            "http://host:99999",
            "http://host/path",
            "javascript://x",
            "http://host:+80",
            "http://.",
            "http://-",
            "http://a..b",
            "http://host:",
        ] {
            assert!(base_url(bad, false).is_err(), "{bad}");
        }
        assert_eq!(base_url("HTTP://h:1/p/", true).unwrap(), "http://h:1/p");
    }

    #[test]
    fn urls_in_messages_never_show_user_info_or_query() {
        assert_eq!(
            redacted("https://u:pass@host:1/p?key=AIza#f"),
            "https://[redacted]@host:1/p?[redacted]"
        );
        assert_eq!(redacted("u:p@a@host"), "[redacted]@host");
        assert_eq!(redacted("https://host/p#x"), "https://host/p?[redacted]");
        assert_eq!(redacted("https://host/a@b"), "https://host/a@b");
        for v in ["https://u:pass@host", "https://host/v1?key=AIzaSecret"] {
            let why = base_url(v, true).unwrap_err();
            assert!(!why.contains("pass") && !why.contains("AIza"), "{why}");
        }
    }

    #[test]
    fn the_request_path_drops_query_and_fragment() {
        assert_eq!(request_path("https://shop.example/a/b?x=/c#/d"), "/a/b");
        assert_eq!(request_path("https://shop.example/a%2Fb#x"), "/a%2Fb");
        assert_eq!(request_path("https://shop.example"), "/");
        assert_eq!(request_path("https://shop.example?x"), "/");
    }

    #[test]
    fn the_origin_url_keeps_path_and_query() {
        assert_eq!(
            origin_request_url(
                "http://127.0.0.1:8080",
                "https://shop.example/login?next=%2F#x"
            ),
            "http://127.0.0.1:8080/login?next=%2F#x"
        );
        assert_eq!(
            origin_request_url("http://o", "https://shop.example"),
            "http://o/"
        );
    }
}
