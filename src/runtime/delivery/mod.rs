//! Delivery in the shell: direct mode's attempts and waits, the queue's
//! producer and consumer, and the isolate's duplicate memory.

pub mod dedup;
pub mod direct;
pub mod queue;
