//! What a secret's value holds, as far as AWS access keys go. Pure: the caller fetches the value.
//!
//! Nothing here keeps or returns secret material: a finding names a field or an access key id
//! (which is not secret, and which the function logs too), never a secret access key.

use serde_json::Value;

use iam_key_rotator::key_text;
use iam_key_rotator::secret_value::{check_access_key_id, SecretValue};
use iam_key_rotator::sensitive::Sensitive;

/// How a secret relates to AWS access keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holding {
    /// A value the rotation function accepts (SPEC §4), in either naming. `access_key_id` is
    /// `None` for a bootstrap value (only `UserName`).
    Rotatable {
        user_name: Option<String>,
        /// The value's AccountId: the user's account, when it names one (§17).
        account_id: Option<String>,
        access_key_id: Option<String>,
        /// A credentials-file or dotenv text (issue 23): it names no user, its key's owner
        /// stands for one (unless a user-name template names it), as the function reads it.
        text: bool,
    },
    /// AWS key material the function cannot rotate as it is stored. `fix` says what to change.
    NotRotatable {
        what: String,
        access_key_id: Option<String>,
        fix: String,
    },
    /// Nothing that looks like an AWS access key.
    Unrelated,
}

const FIX_STORE_AS_JSON: &str = "store it as a JSON object {\"UserName\": ..., \"AccessKeyId\": ..., \"SecretAccessKey\": ...} (or aws_access_key_id / aws_secret_access_key)";

/// Every access key id written anywhere in a value, in any form (a JSON field of any name or
/// depth, a credentials file's profiles, a line of text), each once: what `enable`'s claim check
/// counts, where a value `classify` cannot read must still count as a holder.
pub fn key_ids_in(secret_string: &Sensitive) -> Vec<String> {
    let text = secret_string.expose();
    // JSON strings are read unescaped too: "\nAKIA..." must not hide behind its escape.
    let mut strings = vec![text.to_owned()];
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        json_strings(&value, &mut strings);
    }
    let words = strings
        .iter()
        .flat_map(|s| s.split(|c: char| !c.is_ascii_alphanumeric()));
    let mut ids: Vec<String> = words
        .filter(|w| check_access_key_id(w).is_ok())
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Every string in a JSON value, at any depth.
fn json_strings(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::String(s) => into.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| json_strings(v, into)),
        Value::Object(fields) => fields.values().for_each(|v| json_strings(v, into)),
        _ => {}
    }
}

/// Classifies a SecretString.
pub fn classify(secret_string: &Sensitive) -> Holding {
    let text = secret_string.expose();
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(fields)) => classify_object(secret_string, &fields),
        // A JSON string, number, ...: look at it as plain text.
        _ => classify_text(secret_string)
            .unwrap_or_else(|| classify_plain(text.trim().trim_matches('"'))),
    }
}

/// A credentials-file or dotenv text holding a key: rotatable as the function rotates it, or
/// what the function would say against it. `None` for any other text.
fn classify_text(raw: &Sensitive) -> Option<Holding> {
    let refused = |reason: String| Holding::NotRotatable {
        what: format!(
            "a credentials-file or dotenv text the rotation function would refuse: {reason}"
        ),
        access_key_id: key_ids_in(raw).into_iter().find(|id| is_access_key_id(id)),
        fix: "keep one profile, one key, and no session token per secret, as the reason says"
            .into(),
    };
    match key_text::detect(raw.expose()) {
        Ok(None) => None,
        Err(reason) => Some(refused(reason)),
        Ok(Some(_)) => Some(match SecretValue::parse(raw) {
            Ok(value) => Holding::Rotatable {
                user_name: None,
                account_id: None,
                access_key_id: value.access_key_id().map(str::to_owned),
                text: true,
            },
            Err(reason) => refused(reason),
        }),
    }
}

fn classify_object(raw: &Sensitive, fields: &serde_json::Map<String, Value>) -> Holding {
    let key_fields = [
        "AccessKeyId",
        "SecretAccessKey",
        "aws_access_key_id",
        "aws_secret_access_key",
    ];
    let has_key_fields = key_fields.iter().any(|f| fields.contains_key(*f));
    let bootstrap = fields.contains_key("UserName") && !has_key_fields;
    if has_key_fields || bootstrap {
        return match SecretValue::parse(raw) {
            // {"UserName", "Password"} and the like: another kind of credential, not a key.
            Ok(value) if value.other_credential_field().is_some() => Holding::Unrelated,
            Ok(value) => Holding::Rotatable {
                user_name: value.user_name().map(str::to_owned),
                account_id: value.account_id().map(str::to_owned),
                access_key_id: value.access_key_id().map(str::to_owned),
                text: false,
            },
            Err(reason) => Holding::NotRotatable {
                what: format!("the rotation function would refuse this value: {reason}"),
                access_key_id: first_key_id(fields).map(|(_, id)| id),
                fix: "correct the value as the reason says (docs/contract.md §4)".into(),
            },
        };
    }
    match first_key_id(fields) {
        Some((path, id)) => Holding::NotRotatable {
            what: format!("an access key id under the field `{path}`, a naming the function does not read"),
            access_key_id: Some(id),
            fix: format!("rename `{path}` to AccessKeyId and its secret key's field to SecretAccessKey, and add UserName"),
        },
        None => Holding::Unrelated,
    }
}

fn classify_plain(text: &str) -> Holding {
    if let Some(id) = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|t| is_access_key_id(t))
    {
        let what = if id == text {
            "a plain string holding an access key id".to_owned()
        } else {
            "a plain string containing an access key id (a credentials file?)".to_owned()
        };
        return Holding::NotRotatable {
            what,
            access_key_id: Some(id.to_owned()),
            fix: FIX_STORE_AS_JSON.into(),
        };
    }
    if looks_like_secret_access_key(text) {
        return Holding::NotRotatable {
            what: "a plain string that looks like a secret access key, with no access key id"
                .into(),
            access_key_id: None,
            fix: FIX_STORE_AS_JSON.into(),
        };
    }
    Holding::Unrelated
}

/// The first string value (depth first, in field order) that is an access key id, with its path.
fn first_key_id(fields: &serde_json::Map<String, Value>) -> Option<(String, String)> {
    fields.iter().find_map(|(name, value)| match value {
        Value::String(s) if is_access_key_id(s) => Some((name.clone(), s.clone())),
        Value::Object(inner) => {
            first_key_id(inner).map(|(path, id)| (format!("{name}.{path}"), id))
        }
        _ => None,
    })
}

/// A long-term IAM user access key id: `AKIA` and 16 upper-case letters or digits (the
/// function's shape, without the temporary `ASIA` ones).
pub fn is_access_key_id(text: &str) -> bool {
    text.starts_with("AKIA") && check_access_key_id(text).is_ok()
}

/// 40 characters of base64's alphabet, mixing upper and lower case: what IAM issues. A hex token
/// of the same length (no upper case) does not pass.
fn looks_like_secret_access_key(text: &str) -> bool {
    text.len() == 40
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
        && text.bytes().any(|b| b.is_ascii_uppercase())
        && text.bytes().any(|b| b.is_ascii_lowercase())
}
