//! The event Secrets Manager sends (§2), parsed by hand so that every problem names its field
//! and the RotationToken, which is secret material, is kept but never shown.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::error::RotationError;
use crate::secret_value::Sensitive;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    CreateSecret,
    SetSecret,
    TestSecret,
    FinishSecret,
}

impl Step {
    pub const ALL: [Step; 4] = [
        Step::CreateSecret,
        Step::SetSecret,
        Step::TestSecret,
        Step::FinishSecret,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::CreateSecret => "createSecret",
            Step::SetSecret => "setSecret",
            Step::TestSecret => "testSecret",
            Step::FinishSecret => "finishSecret",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Step {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Step::ALL
            .into_iter()
            .find(|step| step.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "Step {s:?} is not one of createSecret, setSecret, testSecret, finishSecret"
                )
            })
    }
}

/// One invocation by Secrets Manager.
#[derive(Debug, Clone)]
pub struct RotationEvent {
    pub step: Step,
    /// The secret's ARN or name.
    pub secret_id: String,
    /// The id of the version this rotation writes: the idempotency key of every step.
    pub token: String,
    /// Passed on to PutSecretValue when present. Secret material: `Debug` redacts it.
    pub rotation_token: Option<Sensitive>,
}

const TOKEN_LENGTH: std::ops::RangeInclusive<usize> = 32..=64;

impl RotationEvent {
    pub fn parse(value: &Value) -> Result<Self, RotationError> {
        let object = value.as_object().ok_or_else(|| {
            RotationError::invalid_event(format!(
                "the event is a JSON {}, not an object",
                json_type(value)
            ))
        })?;
        let text = |field: &str| -> Result<&str, RotationError> {
            match object.get(field) {
                None | Some(Value::Null) => Err(RotationError::invalid_event(format!(
                    "the field {field} is missing"
                ))),
                Some(Value::String(s)) if s.trim().is_empty() => Err(RotationError::invalid_event(
                    format!("the field {field} is empty"),
                )),
                Some(Value::String(s)) => Ok(s),
                Some(other) => Err(RotationError::invalid_event(format!(
                    "the field {field} is a JSON {}, not a string",
                    json_type(other)
                ))),
            }
        };

        let step = text("Step")?
            .parse::<Step>()
            .map_err(RotationError::invalid_event)?;
        let secret_id = text("SecretId")?.to_owned();
        let token = text("ClientRequestToken")?.to_owned();
        if !TOKEN_LENGTH.contains(&token.len()) {
            return Err(RotationError::invalid_event(format!(
                "the field ClientRequestToken is {} characters long; a version id is 32 to 64",
                token.len()
            )));
        }
        let rotation_token = match object.get("RotationToken") {
            None | Some(Value::Null) => None,
            Some(_) => Some(Sensitive::new(text("RotationToken")?.to_owned())),
        };
        Ok(RotationEvent {
            step,
            secret_id,
            token,
            rotation_token,
        })
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
