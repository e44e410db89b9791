//! What a mirror should hold for a key, in its format, and which key it holds now. Pure: the
//! caller reads the target and writes what this returns.
//!
//! A text mirror keeps its other lines and a JSON mirror its other fields: people put a region or
//! a profile beside the key. A text a tool would read two ways is refused, not overwritten: a
//! person must settle it (`key_text`). Messages never quote a value.

use serde_json::{Map, Value};

use super::format::MirrorFormat;
use crate::key_text::{self, Tokens};

const JSON_ID: &str = "AccessKeyId";
const JSON_SECRET: &str = "SecretAccessKey";

/// The value the target should hold for the key `id`, `secret`, given what it holds (`None`: no
/// value yet).
pub fn render(
    format: &MirrorFormat,
    held: Option<&str>,
    id: &str,
    secret: &str,
) -> Result<String, String> {
    match format {
        MirrorFormat::AccessKeyId => Ok(id.to_owned()),
        MirrorFormat::SecretAccessKey => Ok(secret.to_owned()),
        MirrorFormat::Text(text) => {
            key_text::write(held.unwrap_or(""), text, (id, secret), Tokens::Drop).map_err(
                |reason| format!("the text it holds is refused: {reason}; settle it by hand"),
            )
        }
        MirrorFormat::Json => {
            // What is not a JSON object (a placeholder, a value written by hand) is replaced.
            let mut fields = held.and_then(object).unwrap_or_default();
            if let Some(other) = fields.keys().find(|k| other_credential_field(k)) {
                return Err(format!(
                    "it also holds the field {other}, which a consumer may read instead of AccessKeyId and SecretAccessKey; settle it by hand"
                ));
            }
            fields.insert(JSON_ID.into(), Value::String(id.to_owned()));
            fields.insert(JSON_SECRET.into(), Value::String(secret.to_owned()));
            Ok(Value::Object(fields).to_string())
        }
    }
}

/// The fields of a JSON object; `None` for any other value.
fn object(held: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str(held) {
        Ok(Value::Object(fields)) => Some(fields),
        _ => None,
    }
}

/// A field that holds a key, a secret or a token under another name than ours (any case).
fn other_credential_field(field: &str) -> bool {
    const OTHERS: [&str; 8] = [
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "aws_security_token",
        "accesskeyid",
        "secretaccesskey",
        "sessiontoken",
        "securitytoken",
    ];
    let lower = field.to_ascii_lowercase();
    field != JSON_ID && field != JSON_SECRET && OTHERS.contains(&lower.as_str())
}

/// Whether a consumer reading the target gets the key `id`, `secret`, however the target spells
/// it (another tool's spacing or field order, a stale token line): what tells a write that
/// follows a rotation from a repair of a mirror someone wrote by hand.
pub fn yields(format: &MirrorFormat, held: Option<&str>, id: &str, secret: &str) -> bool {
    let Some(held) = held else {
        return false;
    };
    match format {
        MirrorFormat::AccessKeyId => held == id,
        MirrorFormat::SecretAccessKey => held == secret,
        MirrorFormat::Text(text) => key_text::held_pair(held, text) == Some((id, secret)),
        MirrorFormat::Json => object(held).is_some_and(|fields| {
            let field = |name: &str| fields.get(name).and_then(Value::as_str);
            field(JSON_ID) == Some(id) && field(JSON_SECRET) == Some(secret)
        }),
    }
}

/// Whether the target already holds exactly what it should: then nothing is written (a retry,
/// a second sweep), so a mirror is written once per key.
pub fn holds(format: &MirrorFormat, held: Option<&str>, id: &str, secret: &str) -> bool {
    match (held, render(format, held, id, secret)) {
        (Some(held), Ok(wanted)) => held == wanted,
        _ => false,
    }
}
