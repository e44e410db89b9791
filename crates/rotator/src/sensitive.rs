//! Redaction: the one type that holds secret material, and the JSON type a message may name in
//! place of a value it must not show.
//!
//! A [`Sensitive`] prints `<redacted>` under `Debug` and has no `Display`, so no log line or error
//! message can carry a SecretString, a secret access key or a RotationToken by accident.

use std::fmt;

use serde_json::Value;

/// A string that must never be shown: a SecretString, a secret access key, a RotationToken.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(String);

impl Sensitive {
    pub fn new(value: impl Into<String>) -> Self {
        Sensitive(value.into())
    }

    /// The value itself, for the one place that must send it somewhere.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The JSON type of a value, for messages that must not show the value itself.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
