//! The events the function serves: the one Secrets Manager sends (§2), parsed by hand so that
//! every problem names its field and the RotationToken, which is secret material, is kept but
//! never shown; and EventBridge's standard Scheduled Event, which starts a sweep (§16).

use serde_json::Value;

use crate::error::RotationError;
use crate::sensitive::{json_type, Sensitive};
pub use crate::step::Step;

/// What an invocation asks for.
#[derive(Debug, Clone)]
pub enum Invocation {
    /// One step of one rotation, from Secrets Manager.
    Rotation(RotationEvent),
    /// The schedule's sweep of the previous keys (§16). The event carries nothing the sweep
    /// uses: every decision comes from AWS and the function's clock, so whoever may invoke the
    /// function can only make a sweep happen sooner, never change what it decides.
    Sweep,
}

impl Invocation {
    /// An EventBridge Scheduled Event (source `aws.events`, detail-type `Scheduled Event`) is a
    /// sweep; anything else must be a rotation event, and its errors are the rotation event's.
    pub fn parse(value: &Value) -> Result<Self, RotationError> {
        let field = |name: &str| value.get(name).and_then(Value::as_str);
        if field("source") == Some("aws.events") && field("detail-type") == Some("Scheduled Event")
        {
            return Ok(Invocation::Sweep);
        }
        RotationEvent::parse(value).map(Invocation::Rotation)
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
