//! The isolate's memory of recently sent annotations (duplicate suppression).

use std::cell::RefCell;

use crate::delivery::dedup::{AnnotationKey, RecentlySent};

thread_local! {
    // Workers run one thread per isolate; this lives as long as the isolate.
    static RECENT: RefCell<RecentlySent> = RefCell::new(RecentlySent::default());
}

/// `plan` with the isolate's memory, which it may read and record in.
pub fn with<T>(plan: impl FnOnce(&mut RecentlySent) -> T) -> T {
    RECENT.with(|r| plan(&mut r.borrow_mut()))
}

/// Lets a later identical annotation through again (after a failed delivery).
pub fn forget(key: AnnotationKey) {
    RECENT.with(|r| r.borrow_mut().forget(key));
}
