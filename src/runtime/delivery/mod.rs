//! Delivery in the shell: one annotate attempt, direct mode's waits and
//! retries, the queue's producer and consumer, and the isolate's duplicate
//! memory.

pub mod attempt;
pub mod dedup;
pub mod direct;
pub mod queue;
