//! What of the origin's status line a Workers `Response` can carry: the
//! status (else the client gets a 502) and the status text (else none).

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
}
