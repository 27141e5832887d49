//! What may pass from the origin back to the client.

/// Statuses a Workers `Response` can carry: 200-599, and 101 (workerd's
/// fetch only returns 101 for a WebSocket upgrade, with its socket). Anything
/// else (HTTP allows any three digits) would make the runtime throw, so the
/// client gets a 502 instead.
pub fn is_relayable_status(status: u16) -> bool {
    (200..=599).contains(&status) || status == 101
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_statuses_a_response_can_carry_are_relayed() {
        for s in [101, 200, 204, 301, 304, 404, 500, 599] {
            assert!(is_relayable_status(s), "{s}");
        }
        for s in [0, 99, 100, 103, 199, 600, 999] {
            assert!(!is_relayable_status(s), "{s}");
        }
    }
}
