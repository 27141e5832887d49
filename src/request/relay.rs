//! What may pass between the client and the origin.

/// Statuses a Workers `Response` can carry: 200-599, and 101 (workerd's
/// fetch only returns 101 for a WebSocket upgrade, with its socket). Anything
/// else (HTTP allows any three digits) would make the runtime throw, so the
/// client gets a 502 instead.
pub fn is_relayable_status(status: u16) -> bool {
    (200..=599).contains(&status) || status == 101
}

/// The origin's status text if a `Response` can carry it (RFC 9110
/// `reason-phrase`: tab, space, visible ASCII, `obs-text`), else none: a
/// control byte the runtime refuses must not turn the origin's answer into
/// an error of the worker's. Clients ignore the text.
pub fn relayable_status_text(text: &str) -> &str {
    let allowed =
        |c: char| c == '\t' || (' '..='~').contains(&c) || ('\u{80}'..='\u{ff}').contains(&c);
    if text.chars().all(allowed) {
        text
    } else {
        ""
    }
}

/// What CGI-style servers read as `-` in a request header name: `_`
/// (PHP-FPM behind nginx with `underscores_in_headers on`, uWSGI, older
/// gunicorn turn `-` into `_`, so both become one name) and `.` (PHP turns
/// `.` in a variable name into `_`, so `X.Recaptcha.Outcome` is
/// `$_SERVER['HTTP_X_RECAPTCHA_OUTCOME']`). Header names cannot hold the
/// space or `[` PHP also turns into `_`. The shell's header walk
/// (`headerAliases`) is handed this same set.
pub const READ_AS_HYPHEN: &str = "_.";

/// A header name as CGI-style servers read it: case and the characters of
/// [`READ_AS_HYPHEN`] do not count, so `X_Recaptcha.Outcome` is
/// `x-recaptcha-outcome`.
pub fn fold_header_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            c if READ_AS_HYPHEN.contains(c) => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::test;

    #[test]
    fn a_status_text_a_response_cannot_carry_becomes_empty() {
        for ok in ["OK", "Not Found", "", "A\tB", "caf\u{e9}", "~!"] {
            assert_eq!(relayable_status_text(ok), ok);
        }
        for bad in [
            "O\u{1}K",
            "No\u{7f}pe",
            "a\nb",
            "\u{0}",
            "\u{100}",
            "\u{fffd}",
        ] {
            assert_eq!(relayable_status_text(bad), "", "{bad:?}");
        }
    }

    #[test]
    fn underscore_and_dot_spellings_fold_to_the_protected_name() {
        let folded = [
            "X_Recaptcha_Assessment_Id",
            "x-recaptcha_assessment-id",
            "X-RECAPTCHA-ASSESSMENT-ID",
            "X.Recaptcha.Assessment.Id",
            "x.recaptcha_assessment-id",
        ]
        .map(fold_header_name);
        assert_eq!(folded, ["x-recaptcha-assessment-id"; 5]);
        assert_ne!(
            fold_header_name("XRecaptchaAssessmentId"),
            "x-recaptcha-assessment-id"
        );
    }
}
