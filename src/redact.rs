//! Untrusted text as it may be logged: short, on one line, and never a
//! reCAPTCHA token. Every message that quotes input (an origin's header,
//! a configuration value, Google's answer) goes through [`snippet`].

use percent_encoding::percent_decode_str;

/// At most 40 characters of untrusted input, with control characters
/// replaced, so a log line stays short and single-line.
pub fn snippet(s: &str) -> String {
    snippet_n(s, 40)
}

/// [`snippet`] with a chosen length.
pub fn snippet_n(s: &str, max: usize) -> String {
    if looks_like_token(s) {
        return String::from("[redacted: contains a reCAPTCHA token]");
    }
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// True for text carrying a WAF token's `:U=` marker, in any case, raw or
/// percent-encoded once or more, wholly or in part (`:U%3D`, `%253AU%253D`):
/// an origin that puts a token where it does not belong must not get it logged.
pub fn looks_like_token(s: &str) -> bool {
    let mut text = s.to_ascii_uppercase();
    for _ in 0..4 {
        if text.contains(":U=") {
            return true;
        }
        let decoded = percent_decode_str(&text)
            .decode_utf8_lossy()
            .to_ascii_uppercase();
        if decoded == text {
            return false;
        }
        text = decoded;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    #[test]
    fn snippets_never_carry_a_token() {
        assert_eq!(
            snippet("03AF:U=bc304e08a0000000"),
            "[redacted: contains a reCAPTCHA token]"
        );
        for encoded in [
            "x%3au%3dbc304e08a0000000",
            "x:U%3Dbc304e08a0000000",
            "x%3AU=bc304e08a0000000",
            "x%253AU%253Dbc304e08a0000000",
            "x%25253aU%25253dbc304e08a0000000",
        ] {
            assert_eq!(snippet(encoded), "[redacted: contains a reCAPTCHA token]");
        }
        assert_eq!(snippet("100%25 :U"), "100%25 :U");
    }

    #[test]
    fn snippets_are_short_and_single_line() {
        assert_eq!(snippet("a\nb"), "a\u{FFFD}b");
        let long = "x".repeat(100);
        assert_eq!(snippet(&long).chars().count(), 41);
    }
}
