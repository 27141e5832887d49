//! Google's side: the annotate call, and the credentials it carries (an API
//! key, or a service account's bearer token).

pub mod annotate_call;
pub mod service_account;
