//! The secret value (§4): a JSON object naming an IAM user and holding its key pair.
//!
//! Parsing reports what is wrong by field name and JSON type only: a message never quotes the
//! value, since the value is the secret. Everything that holds secret material is [`Sensitive`],
//! whose `Debug` prints `<redacted>` and which has no `Display`.

use std::fmt;
use std::time::SystemTime;

use aws_sdk_iam::primitives::{DateTime, DateTimeFormat};
use serde_json::{Map, Value};

use crate::aws::NewAccessKey;
use crate::sensitive::{json_type, Sensitive};
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

/// A parsed secret value. Keeps every field, so a new version can carry the others unchanged.
#[derive(Clone)]
pub struct SecretValue {
    fields: Map<String, Value>,
    user_name: Option<String>,
    account_id: Option<String>,
    access_key_id: Option<String>,
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretValue")
            .field("user_name", &self.user_name)
            .field("account_id", &self.account_id)
            .field("access_key_id", &self.access_key_id)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl SecretValue {
    /// Parses a SecretString. The error is a reason fit for a message: it never quotes the value.
    pub fn parse(raw: &Sensitive) -> Result<Self, String> {
        // serde_json's own messages may quote the input: only its position is reported.
        let value: Value = serde_json::from_str(raw.expose()).map_err(|e| {
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

        let mut access_key_id: Option<String> = None;
        let mut secret: Option<&str> = None;
        for naming in NAMINGS {
            let id = optional_string(&fields, naming.id)?;
            let key = optional_string(&fields, naming.secret)?;
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

        Ok(SecretValue {
            fields,
            user_name,
            account_id,
            access_key_id,
        })
    }

    /// A bootstrap value: only the user, no key yet.
    pub fn user_name(&self) -> Option<&str> {
        self.user_name.as_deref()
    }

    /// The account the user is in, when the value names one (§17).
    pub fn account_id(&self) -> Option<&str> {
        self.account_id.as_deref()
    }

    pub fn access_key_id(&self) -> Option<&str> {
        self.access_key_id.as_deref()
    }

    /// For a value without an access key: a field that marks it as another kind of credential
    /// (`{"UserName", "Password"}` is a console password, not a bootstrap value). Such a value
    /// is not a key secret at all: the function refuses it, the fleet command skips it.
    pub fn other_credential_field(&self) -> Option<&str> {
        if self.access_key_id.is_some() {
            return None;
        }
        self.fields
            .keys()
            .find(|name| names_other_credential(name))
            .map(String::as_str)
    }

    /// The secret access key that goes with [`Self::access_key_id`].
    pub fn secret_access_key(&self) -> Option<Sensitive> {
        self.naming_in_use()
            .next()
            .and_then(|naming| self.fields.get(naming.secret)?.as_str())
            .map(Sensitive::new)
    }

    fn naming_in_use(&self) -> impl Iterator<Item = Naming> + '_ {
        NAMINGS
            .into_iter()
            .filter(|naming| self.fields.contains_key(naming.id))
    }

    /// The value of the next version: this one's fields, with the new key in each naming this
    /// value uses (AccessKeyId/SecretAccessKey for a bootstrap value), and Status/CreateDate
    /// refreshed when present.
    pub fn with_new_key(&self, key: &NewAccessKey) -> SecretValue {
        let mut namings: Vec<Naming> = self.naming_in_use().collect();
        if namings.is_empty() {
            namings.push(IAM_NAMING);
        }
        let mut fields = self.fields.clone();
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
        SecretValue {
            fields,
            user_name: self.user_name.clone(),
            account_id: self.account_id.clone(),
            access_key_id: Some(key.id.clone()),
        }
    }

    /// The SecretString to write.
    pub fn to_secret_string(&self) -> Sensitive {
        Sensitive::new(Value::Object(self.fields.clone()).to_string())
    }
}

/// An access key id's shape (§18): `AKIA` (a long-term key) or `ASIA` (a temporary one), then 16
/// upper-case letters or digits. The reason never quotes the value: it may be a secret.
pub fn check_access_key_id(id: &str) -> Result<(), String> {
    let shaped = id.len() == 20
        && (id.starts_with("AKIA") || id.starts_with("ASIA"))
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if shaped {
        return Ok(());
    }
    Err(format!(
        "does not look like an access key id ({} characters; one is AKIA or ASIA and 16 upper-case letters or digits). Are the key id and the secret access key swapped?",
        id.chars().count()
    ))
}

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
fn optional_string(fields: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
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
fn names_other_credential(name: &str) -> bool {
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
