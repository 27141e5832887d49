//! Where a request is passed on: a word the log line shares with the
//! request phase, in a leaf module so the log depends on nothing else.

use serde::Serialize;

/// Where the worker passed a request on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Hop {
    /// Straight to the origin (the global `fetch`).
    #[serde(rename = "origin")]
    Origin,
    /// To the Worker bound as `UPSTREAM` (which fetches the origin itself).
    #[serde(rename = "UPSTREAM")]
    Upstream,
}
