//! The secret value (§4): a JSON object naming an IAM user and holding its key pair, or (issue
//! 23) a credentials-file or dotenv text holding the pair, as a consumer writes it to disk.
//!
//! Parsing reports what is wrong by field name, line and JSON type only: a message never quotes
//! the value, since the value is the secret. Everything that holds secret material is
//! [`Sensitive`], whose `Debug` prints `<redacted>` and which has no `Display`.

mod checks;
mod json;

use std::fmt;

use serde_json::{Map, Value};

pub use crate::key_id::check_access_key_id;
pub use checks::{check_account_id, format_date};

use crate::aws::NewAccessKey;
use crate::key_text::{self, TextFormat};
use crate::sensitive::Sensitive;

/// How the value is written; a new version is written the same way.
#[derive(Clone)]
enum Body {
    /// Every field, so a new version carries the others unchanged.
    Json(Map<String, Value>),
    /// The whole text, so a new version keeps every other line as it was.
    Text { text: String, format: TextFormat },
}

/// A parsed secret value.
#[derive(Clone)]
pub struct SecretValue {
    body: Body,
    user_name: Option<String>,
    account_id: Option<String>,
    access_key_id: Option<String>,
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("SecretValue");
        s.field("user_name", &self.user_name)
            .field("account_id", &self.account_id)
            .field("access_key_id", &self.access_key_id);
        match &self.body {
            Body::Json(fields) => s.field("fields", &fields.keys().collect::<Vec<_>>()),
            Body::Text { format, .. } => s.field("text", &format.kind()),
        };
        s.finish_non_exhaustive()
    }
}

impl SecretValue {
    /// Parses a SecretString. The error is a reason fit for a message: it never quotes the value.
    /// A value that is not a JSON object may be a credentials-file or dotenv text holding a key.
    pub fn parse(raw: &Sensitive) -> Result<Self, String> {
        let text = raw.expose();
        if !text.trim_start().starts_with('{') {
            if let Some(value) = Self::parse_text(text)? {
                return Ok(value);
            }
        }
        let parsed = json::parse(text).map_err(|reason| {
            if text.trim_start().starts_with('{') {
                reason
            } else {
                format!("{reason}, nor a credentials file or dotenv text holding an access key")
            }
        })?;
        Ok(SecretValue {
            body: Body::Json(parsed.fields),
            user_name: parsed.user_name,
            account_id: parsed.account_id,
            access_key_id: parsed.access_key_id,
        })
    }

    /// A credentials-file or dotenv text holding a key id; `None` for any other text.
    fn parse_text(text: &str) -> Result<Option<Self>, String> {
        let Some(format) = key_text::detect(text)? else {
            return Ok(None);
        };
        let pair = key_text::find(text, &format)?;
        if pair.secret.is_none() {
            let [id, secret] = format.names();
            return Err(format!("it has {id} but no {secret}"));
        }
        Ok(Some(SecretValue {
            access_key_id: key_text::key_id(text, &pair).map(str::to_owned),
            body: Body::Text {
                text: text.to_owned(),
                format,
            },
            user_name: None,
            account_id: None,
        }))
    }

    /// The user the value names; a text names none (see [`Self::with_key_owner`]).
    pub fn user_name(&self) -> Option<&str> {
        self.user_name.as_deref()
    }

    /// The account the user is in, when the value names one (§17). A text never does.
    pub fn account_id(&self) -> Option<&str> {
        self.account_id.as_deref()
    }

    pub fn access_key_id(&self) -> Option<&str> {
        self.access_key_id.as_deref()
    }

    /// The text a value is written as, when it is not JSON.
    pub fn text_format(&self) -> Option<&TextFormat> {
        match &self.body {
            Body::Json(_) => None,
            Body::Text { format, .. } => Some(format),
        }
    }

    /// A text names no user: the owner of its key, as IAM reports it, stands for one. Only a text
    /// takes it (a JSON value's UserName is its own), and only as the user to resolve: the text
    /// written is unchanged.
    pub fn with_key_owner(mut self, owner: Option<String>) -> SecretValue {
        if matches!(self.body, Body::Text { .. }) && self.user_name.is_none() {
            self.user_name = owner;
        }
        self
    }

    /// For a value without an access key: a field that marks it as another kind of credential
    /// (`{"UserName", "Password"}` is a console password, not a bootstrap value). Such a value
    /// is not a key secret at all: the function refuses it, the fleet command skips it.
    pub fn other_credential_field(&self) -> Option<&str> {
        match &self.body {
            Body::Json(fields) if self.access_key_id.is_none() => fields
                .keys()
                .find(|name| checks::names_other_credential(name))
                .map(String::as_str),
            _ => None,
        }
    }

    /// The secret access key that goes with [`Self::access_key_id`].
    pub fn secret_access_key(&self) -> Option<Sensitive> {
        match &self.body {
            Body::Json(fields) => json::secret_access_key(fields).map(Sensitive::new),
            Body::Text { text, format } => {
                let pair = key_text::find(text, format).ok()?;
                key_text::secret(text, &pair).map(Sensitive::new)
            }
        }
    }

    /// The value of the next version: this one, written the same way, holding the new key. The
    /// error (a text a tool would read two ways) is a reason fit for a message.
    pub fn with_new_key(&self, key: &NewAccessKey) -> Result<SecretValue, String> {
        let body = match &self.body {
            Body::Json(fields) => Body::Json(json::with_new_key(fields, key)),
            Body::Text { text, format } => Body::Text {
                text: key_text::write(
                    text,
                    format,
                    (&key.id, key.secret.expose()),
                    key_text::Tokens::Refuse,
                )?,
                format: format.clone(),
            },
        };
        Ok(SecretValue {
            body,
            user_name: self.user_name.clone(),
            account_id: self.account_id.clone(),
            access_key_id: Some(key.id.clone()),
        })
    }

    /// The SecretString to write.
    pub fn to_secret_string(&self) -> Sensitive {
        match &self.body {
            Body::Json(fields) => Sensitive::new(Value::Object(fields.clone()).to_string()),
            Body::Text { text, .. } => Sensitive::new(text.clone()),
        }
    }
}
