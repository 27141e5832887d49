//! Header names as CGI-style origins read them: a client's header that
//! folds to a protected name must be removed with it.

/// What CGI-style servers read as `-` in a request header name: `_`
/// (PHP-FPM behind nginx with `underscores_in_headers on`, uWSGI, older
/// gunicorn turn `-` into `_`, so both become one name) and `.` (PHP turns
/// `.` in a variable name into `_`, so `X.Recaptcha.Outcome` is
/// `$_SERVER['HTTP_X_RECAPTCHA_OUTCOME']`). Header names cannot hold the
/// space or `[` PHP also turns into `_`. The shell's header walk (in
/// `forward`) is handed this same set, as a regular-expression class.
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
    fn every_character_read_as_a_hyphen_is_ascii_punctuation() {
        // The shell escapes each with a backslash into a regular-expression
        // class, which only punctuation survives unchanged.
        assert!(READ_AS_HYPHEN.chars().all(|c| c.is_ascii_punctuation()));
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
