//! A value as a JSON object (§4): `UserName`, `AccountId`, and the pair in either naming, every
//! other field kept.

use serde_json::{Map, Value};

use super::checks::{check_account_id, format_date, optional_string};
use crate::aws::NewAccessKey;
use crate::key_id::check_access_key_id;
use crate::sensitive::json_type;
use crate::user_name::check_user_name;

/// The two namings of the key pair that a value may use; both are kept on write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Naming {
    id: &'static str,
    secret: &'static str,
}

const IAM_NAMING: Naming = Naming {
    id: "AccessKeyId",
    secret: "SecretAccessKey",
};
const CREDENTIALS_FILE_NAMING: Naming = Naming {
    id: "aws_access_key_id",
    secret: "aws_secret_access_key",
};
const NAMINGS: [Naming; 2] = [IAM_NAMING, CREDENTIALS_FILE_NAMING];

const USER_NAME: &str = "UserName";
/// The account of the user, when it is not the secret's own (§17): 12 digits.
const ACCOUNT_ID: &str = "AccountId";
/// Fields that describe the key itself (as in a stored CreateAccessKey response): refreshed for
/// the new key when present.
const STATUS: &str = "Status";
const CREATE_DATE: &str = "CreateDate";

/// What a JSON value says: its fields, and what they name.
pub(super) struct Parsed {
    pub fields: Map<String, Value>,
    pub user_name: Option<String>,
    pub account_id: Option<String>,
    pub access_key_id: Option<String>,
}

pub(super) fn parse(text: &str) -> Result<Parsed, String> {
    // serde_json's own messages may quote the input: only its position is reported.
    let value: Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "it is not valid JSON (error at line {} column {})",
            e.line(),
            e.column()
        )
    })?;
    let Value::Object(fields) = value else {
        return Err(format!("it is a JSON {}, not an object", json_type(&value)));
    };

    let user_name = optional_string(&fields, USER_NAME)?;
    if let Some(name) = &user_name {
        check_user_name(name).map_err(|reason| format!("the field UserName {reason}"))?;
    }

    // A misspelt AccountId would silently mean "the secret's own account".
    let near_miss = |name: &&String| {
        let folded: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
        let folded = folded.to_ascii_lowercase();
        *name != ACCOUNT_ID && (folded == "accountid" || folded == "awsaccountid")
    };
    if let Some(name) = fields.keys().find(near_miss) {
        return Err(format!(
            "it has a field {name}: the user's account is spelt AccountId (12 digits); rename it, or remove it for the secret's own account"
        ));
    }
    let account_id = optional_string(&fields, ACCOUNT_ID)?;
    if let Some(account) = &account_id {
        check_account_id(account).map_err(|reason| format!("the field AccountId {reason}"))?;
    }
    let access_key_id = key_id(&fields)?;
    Ok(Parsed {
        fields,
        user_name,
        account_id,
        access_key_id,
    })
}

/// The key id the fields hold, in either naming or both (then the same key), with its secret.
fn key_id(fields: &Map<String, Value>) -> Result<Option<String>, String> {
    let mut access_key_id: Option<String> = None;
    let mut secret: Option<&str> = None;
    for naming in NAMINGS {
        let id = optional_string(fields, naming.id)?;
        let key = optional_string(fields, naming.secret)?;
        // Checked before anything else is done with it, and never quoted: a secret access
        // key put in the id's field by mistake would otherwise reach messages and logs.
        if let Some(id) = &id {
            check_access_key_id(id)
                .map_err(|reason| format!("the field {} {reason}", naming.id))?;
        }
        let (id, key) = match (id, key) {
            (None, None) => continue,
            (Some(id), Some(_)) => (id, fields[naming.secret].as_str().unwrap_or_default()),
            (Some(_), None) => {
                return Err(format!("it has {} but no {}", naming.id, naming.secret))
            }
            (None, Some(_)) => {
                return Err(format!("it has {} but no {}", naming.secret, naming.id))
            }
        };
        if access_key_id.as_ref().is_some_and(|seen| *seen != id) {
            return Err("AccessKeyId and aws_access_key_id name different keys".into());
        }
        if secret.is_some_and(|seen| seen != key) {
            return Err("SecretAccessKey and aws_secret_access_key differ".into());
        }
        access_key_id = Some(id);
        secret = Some(key);
    }
    Ok(access_key_id)
}

fn naming_in_use(fields: &Map<String, Value>) -> impl Iterator<Item = Naming> + '_ {
    NAMINGS
        .into_iter()
        .filter(|naming| fields.contains_key(naming.id))
}

/// The secret access key the fields hold.
pub(super) fn secret_access_key(fields: &Map<String, Value>) -> Option<&str> {
    naming_in_use(fields)
        .next()
        .and_then(|naming| fields.get(naming.secret)?.as_str())
}

/// The fields of the next version: these, with the new key in each naming they use
/// (AccessKeyId/SecretAccessKey for a bootstrap value), and Status/CreateDate refreshed when
/// present.
pub(super) fn with_new_key(fields: &Map<String, Value>, key: &NewAccessKey) -> Map<String, Value> {
    let mut namings: Vec<Naming> = naming_in_use(fields).collect();
    if namings.is_empty() {
        namings.push(IAM_NAMING);
    }
    let mut fields = fields.clone();
    for naming in namings {
        fields.insert(naming.id.into(), Value::String(key.id.clone()));
        fields.insert(
            naming.secret.into(),
            Value::String(key.secret.expose().to_owned()),
        );
    }
    if fields.contains_key(STATUS) {
        fields.insert(STATUS.into(), Value::String(key.status.as_str().into()));
    }
    if fields.contains_key(CREATE_DATE) {
        fields.insert(CREATE_DATE.into(), Value::String(format_date(key.created)));
    }
    fields
}
