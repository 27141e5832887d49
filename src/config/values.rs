//! The variables' values as text, read from the environment by the table,
//! and what each entry's parser makes of them. Every problem is kept,
//! naming the variable.

use std::collections::HashMap;

use super::environment::VarValue;
use super::vars::{Form, IfUnset, Kind, Row, Var, TABLE};
use crate::error::ConfigError;

pub(super) struct Values {
    /// The set values: non-empty text, or empty where the row allows it.
    text: HashMap<&'static str, String>,
    pub problems: Vec<ConfigError>,
}

impl Values {
    /// Each variable in the table that `read` selects, as text, after the
    /// `problems` already found; a value of the wrong type is reported and
    /// counts as unset.
    pub fn read(
        lookup: &impl Fn(&str) -> Option<VarValue>,
        read: impl Fn(&Row) -> bool,
        mut problems: Vec<ConfigError>,
    ) -> Self {
        let mut text = HashMap::new();
        let rows = TABLE.iter().map(|entry| entry.row());
        for row in rows.filter(|row| row.kind != Kind::Binding && read(row)) {
            match lookup(row.name).map(|value| value.into_text(row)) {
                Some(Ok(v)) if !v.is_empty() || row.form == Form::MayBeEmpty => {
                    text.insert(row.name, v);
                }
                Some(Err(e)) => problems.push(e),
                _ => {}
            }
        }
        Values { text, problems }
    }

    /// The text set, as it is.
    pub fn raw(&self, row: &Row) -> Option<&str> {
        self.text.get(row.name).map(String::as_str)
    }

    pub fn is_set(&self, row: &Row) -> bool {
        self.text.contains_key(row.name)
    }

    /// The parsed value, or the default's when unset; `None` when unset
    /// without a default value. A required variable unset is a problem.
    pub fn get<T>(&self, var: &Var<T>) -> Option<Result<T, ConfigError>> {
        let row = &var.row;
        let text = match (self.raw(row), row.if_unset) {
            (Some(text), _) => text,
            (None, IfUnset::Value(text)) => text,
            (None, IfUnset::Required { problem, .. }) => {
                return Some(Err(ConfigError::new(row.name, problem)))
            }
            (None, IfUnset::Absent | IfUnset::Described(_)) => return None,
        };
        Some((var.parse)(text).map_err(|why| ConfigError::new(row.name, why)))
    }

    /// [`Values::get`] for a variable that always has a value.
    pub fn value<T>(&self, var: &Var<T>) -> Result<T, ConfigError> {
        self.get(var)
            .unwrap_or_else(|| Err(ConfigError::new(var.row.name, "required but not set")))
    }

    /// The parsed value; when unset or invalid, the default's (an invalid
    /// value is reported, saying so).
    pub fn or_default<T: Default>(&mut self, var: &Var<T>) -> T {
        let default = var.row.if_unset.text();
        match self.raw(&var.row).map(var.parse) {
            Some(Ok(value)) => return value,
            Some(Err(why)) => self.report(var.row.name, format!("{why}; using {default}")),
            None => {}
        }
        Self::default_of(var)
    }

    /// The variable's default value. The table's tests prove each one
    /// parses; `T`'s own default only keeps this total.
    pub fn default_of<T: Default>(var: &Var<T>) -> T {
        (var.parse)(var.row.if_unset.text()).unwrap_or_default()
    }

    pub fn report(&mut self, var: &'static str, why: impl Into<String>) {
        self.problems.push(ConfigError::new(var, why));
    }
}
