//! What an operator reads: the status check's report and the metrics'
//! data points.

pub mod metrics;
pub mod status;
