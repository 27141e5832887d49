//! What the shell reads from the isolate's environment, once, and hands to
//! [`Config::load`](super::Config::load): each variable's value as the
//! runtime holds it, what is bound as `UPSTREAM`, and the other bindings.

use super::vars::{Form, Row};
use crate::error::ConfigError;

/// The isolate's environment, as found.
pub struct Environment<V> {
    /// A variable's value by name (`None`: not set).
    pub vars: V,
    pub upstream: UpstreamBinding,
    pub bindings: Bindings,
}

impl<V: Fn(&str) -> Option<VarValue>> Environment<V> {
    /// These variables and no binding.
    pub fn vars(vars: V) -> Self {
        Environment {
            vars,
            upstream: UpstreamBinding::Absent,
            bindings: Bindings::default(),
        }
    }
}

/// What the runtime found bound as `UPSTREAM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpstreamBinding {
    Absent,
    /// An object with a `fetch` method.
    Service,
    Other,
}

/// What the runtime found in the environment beside the variables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bindings {
    /// The `ANNOTATIONS` queue producer: queue mode.
    pub annotations_queue: bool,
    /// The `ANNOTATIONS_DLQ` producer.
    pub dead_letter_queue: bool,
    /// The `ANNOTATION_METRICS` dataset.
    pub metrics: bool,
    pub version: Option<WorkerVersion>,
}

/// The deployed Worker version, from the version metadata binding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerVersion {
    pub id: String,
    pub tag: String,
    pub timestamp: String,
}

/// A variable's value as the runtime holds it (a `[vars]` entry may be a
/// TOML or JSON number, boolean, array or object).
#[derive(Clone, Debug, PartialEq)]
pub enum VarValue {
    Text(String),
    Number(f64),
    /// An array or object, as JSON text.
    Json(String),
    /// Any other type, named for the message (`"a boolean"`).
    Other(&'static str),
}

/// Largest integer a JSON number holds exactly (2^53 - 1).
const MAX_EXACT: f64 = 9_007_199_254_740_991.0;

impl VarValue {
    /// Text as it is; a whole number from 0 to 2^53 - 1 as its digits (a
    /// project number written without quotes); JSON text where the row
    /// allows it. Anything else would silently read as unset or as another
    /// number, so it is refused, naming why.
    pub(super) fn into_text(self, row: &Row) -> Result<String, ConfigError> {
        let refuse = |why: &str| {
            Err(ConfigError::new(
                row.name,
                format!("{why}; write it as a quoted string (it is ignored)"),
            ))
        };
        match self {
            VarValue::Text(s) => Ok(s),
            VarValue::Number(n) if !n.is_finite() || n.fract() != 0.0 => {
                refuse("is a number that is not a whole number")
            }
            VarValue::Number(n) if n < 0.0 => refuse("is a negative number"),
            VarValue::Number(n) if n > MAX_EXACT => {
                refuse("is a number above 2^53, which is not held exactly")
            }
            VarValue::Number(n) => Ok(format!("{n:.0}")),
            VarValue::Json(text) if row.form == Form::MayBeJson => Ok(text),
            VarValue::Json(_) => refuse("is an object or array, not a string or number"),
            VarValue::Other(kind) => refuse(&format!("is {kind}, not a string or number")),
        }
    }
}
