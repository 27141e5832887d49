//! Calls to Google: one POST with a timeout, and the bearer tokens a
//! service account signs.

pub mod auth;
pub mod subrequest;
