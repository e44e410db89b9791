//! What a secret's value holds, as far as AWS access keys go. Pure: the caller fetches the value.
//!
//! Nothing here keeps or returns secret material: a finding names a field or an access key id
//! (which is not secret, and which the function logs too), never a secret access key.

use serde_json::Value;

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
        _ => classify_plain(text.trim().trim_matches('"')),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> Holding {
        classify(&Sensitive::new(text))
    }

    const ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    #[test]
    fn both_namings_and_bootstrap_values_are_rotatable() {
        let rotatable = |user: Option<&str>, id: Option<&str>| Holding::Rotatable {
            user_name: user.map(str::to_owned),
            account_id: None,
            access_key_id: id.map(str::to_owned),
        };
        let iam = format!(r#"{{"UserName":"ci","AccessKeyId":"{ID}","SecretAccessKey":"{KEY}"}}"#);
        assert_eq!(of(&iam), rotatable(Some("ci"), Some(ID)));
        let file = format!(r#"{{"aws_access_key_id":"{ID}","aws_secret_access_key":"{KEY}"}}"#);
        assert_eq!(of(&file), rotatable(None, Some(ID)));
        assert_eq!(of(r#"{"UserName":"ci"}"#), rotatable(Some("ci"), None));
    }

    #[test]
    fn key_material_the_function_cannot_rotate_comes_with_a_fix() {
        for (text, id) in [
            (ID.to_owned(), Some(ID)),
            (format!("\"{ID}\""), Some(ID)),
            (
                format!("[default]\naws_access_key_id = {ID}\naws_secret_access_key = {KEY}\n"),
                Some(ID),
            ),
            (KEY.to_owned(), None),
            (
                format!(r#"{{"AWS_ACCESS_KEY_ID":"{ID}","AWS_SECRET_ACCESS_KEY":"{KEY}"}}"#),
                Some(ID),
            ),
            (format!(r#"{{"deploy":{{"key":"{ID}"}}}}"#), Some(ID)),
            (
                format!(r#"{{"UserName":"ci","AccessKeyId":"{ID}"}}"#),
                Some(ID),
            ),
            // The two fields swapped by mistake (§18): the id reported is the one proven a key
            // id, and the secret key is in no finding.
            (
                format!(r#"{{"UserName":"ci","AccessKeyId":"{KEY}","SecretAccessKey":"{ID}"}}"#),
                Some(ID),
            ),
        ] {
            match of(&text) {
                Holding::NotRotatable {
                    access_key_id,
                    fix,
                    what,
                } => {
                    assert_eq!(access_key_id.as_deref(), id, "{what}");
                    assert!(!fix.is_empty());
                    assert!(
                        !what.contains(KEY) && !fix.contains(KEY),
                        "no secret key in a finding"
                    );
                }
                other => panic!("{other:?} for a value holding key material"),
            }
        }
    }

    #[test]
    fn the_nested_field_is_named_in_the_finding() {
        let Holding::NotRotatable { what, .. } = of(&format!(r#"{{"deploy":{{"key":"{ID}"}}}}"#))
        else {
            panic!("not rotatable expected")
        };
        assert!(what.contains("`deploy.key`"), "{what}");
    }

    #[test]
    fn other_secrets_are_unrelated() {
        for text in [
            r#"{"username":"app","password":"hunter2"}"#,
            "0123456789abcdef0123456789abcdef01234567", // a 40-character hex token
            "AKIA-not-a-key",
            "ASIAIOSFODNN7EXAMPLE", // temporary credentials are not IAM user keys
            "",
            "[1, 2]",
        ] {
            assert_eq!(of(text), Holding::Unrelated, "{text}");
        }
    }

    #[test]
    fn every_key_id_in_a_value_is_found_whatever_its_form() {
        let ids = |text: &str| key_ids_in(&Sensitive::new(text));
        let second = "AKIAABCDEFGHIJKLMNOP";
        assert_eq!(
            ids(&format!("{{\"profiles\": [{{\"id\": \"{ID}\"}}]}}")),
            vec![ID]
        );
        let file =
            format!("[default]\naws_access_key_id = {ID}\n[other]\naws_access_key_id={second}\n");
        assert_eq!(ids(&file), vec![second, ID], "sorted");
        let escaped = serde_json::json!({ "credentials": format!("\n{ID}") }).to_string();
        assert_eq!(ids(&escaped), vec![ID]);
        assert!(ids(&format!("X{ID}")).is_empty() && ids(KEY).is_empty());
    }
}
