//! The request's phases in the shell: the flow, the per-request context
//! and the responses the worker makes itself.

pub mod exchange;
pub mod proxy;
pub mod responses;
