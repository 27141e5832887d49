//! The isolate's memory of recently sent annotations (duplicate suppression).

use std::cell::RefCell;

use crate::delivery::dedup::{AnnotationKey, RecentlySent};
use crate::runtime::clock::now_ms;

thread_local! {
    // Workers run one thread per isolate; this lives as long as the isolate.
    static RECENT: RefCell<RecentlySent> = RefCell::new(RecentlySent::default());
}

/// True if `key` was not sent in the last 10 minutes (and records it now).
pub fn should_send(key: AnnotationKey) -> bool {
    RECENT.with(|r| r.borrow_mut().should_send(key, now_ms()))
}

/// Lets a later identical annotation through again (after a failed delivery).
pub fn forget(key: AnnotationKey) {
    RECENT.with(|r| r.borrow_mut().forget(key));
}
