//! Outcome rules in the shell: the teed request body and the response
//! facts the core's rules match.

pub mod rules;
