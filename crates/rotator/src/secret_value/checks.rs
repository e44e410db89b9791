//! The checks a value's fields pass, each with a reason fit for a message: it never quotes the
//! value, which may be a secret.

use std::time::SystemTime;

use aws_sdk_iam::primitives::{DateTime, DateTimeFormat};
use serde_json::{Map, Value};

use crate::sensitive::json_type;

/// An AWS account id: exactly 12 digits (written as a string, leading zeros kept).
pub fn check_account_id(account: &str) -> Result<(), String> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "is {} characters long or not all digits; an AWS account id is 12 digits",
            account.chars().count()
        ))
    }
}

/// A field that, when present, must be a non-empty string. A null is not taken for absence: a
/// value `{"UserName": "u", "AccessKeyId": null}` is not a bootstrap value but a broken one.
pub(super) fn optional_string(
    fields: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, String> {
    match fields.get(name) {
        None => Ok(None),
        Some(Value::Null) => Err(format!(
            "the field {name} is null: give it a string, or remove it"
        )),
        Some(Value::String(s)) if s.is_empty() => Err(format!("the field {name} is empty")),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "the field {name} is a JSON {}, not a string",
            json_type(other)
        )),
    }
}

/// Compared without case and without separators, so `Password`, `db_password` and `api-key`
/// all match. The key fields themselves never get here (a value with them has a key).
pub(super) fn names_other_credential(name: &str) -> bool {
    const WHOLE: &[&str] = &["pwd", "pass", "pin", "secret", "credential", "credentials"];
    const PARTS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "token",
        "privatekey",
        "apikey",
        "clientsecret",
        "connectionstring",
    ];
    let folded: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    WHOLE.contains(&folded.as_str()) || PARTS.iter().any(|part| folded.contains(part))
}

/// An RFC 3339 date, as IAM writes CreateDate.
pub fn format_date(time: SystemTime) -> String {
    DateTime::from(time)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default()
}
