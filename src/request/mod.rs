//! The request phase: where the assessment ID comes from (the WAF's token
//! in a header or cookie), whether a request is the batch endpoint's or the
//! origin's, and what the origin may and may not be told.

pub mod admin;
pub mod assessment_id;
pub mod cookies;
pub mod header_names;
pub mod hop;
pub mod loop_guard;
pub mod route;
pub mod status_line;
pub mod token_sources;
