//! Writing the metrics' data points.

pub mod metrics;
