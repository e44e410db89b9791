//! `enable`: turn rotation on, with the function and schedule given, for the scanned secrets,
//! binding each user to its secret (§15) where the secret proves it already holds the user's key.

use super::aws::{FleetAws, Schedule};
use super::outcome::{Outcome, SecretOutcome};
use super::scan::SecretReport;
use crate::aws::{VersionRef, AWSCURRENT};
use crate::binding::{tag_user_command, Binding};
use crate::secret_value::SecretValue;

/// What enable changes for one secret: the binding, the rotation settings, or both.
struct Change {
    bind: bool,
    /// The rotation settings to set; `None` when they are already as asked.
    rotation: Option<String>,
}

impl Change {
    fn describe(&self) -> String {
        match (self.bind, &self.rotation) {
            (true, Some(rotation)) => format!("bind the user to the secret, then {rotation}"),
            (true, None) => {
                "bind the user to the secret (rotation already on with this function and schedule)"
                    .into()
            }
            (false, rotation) => rotation.clone().unwrap_or_default(),
        }
    }
}

/// Plans (dry run) or applies. RotateSecret is called with RotateImmediately=false: the schedule
/// is set and Secrets Manager runs the function's testSecret once; rotating now is `rotate`.
pub async fn enable(
    aws: &FleetAws,
    secrets: &[SecretReport],
    function_arn: &str,
    schedule: &Schedule,
    apply: bool,
) -> Vec<SecretOutcome> {
    let mut outcomes = Vec::new();
    for secret in secrets {
        let outcome = match plan(secret, function_arn, schedule) {
            Err(left_alone) => left_alone,
            Ok(change) if !apply => {
                SecretOutcome::new(&secret.name, Outcome::WouldDo, change.describe())
            }
            Ok(change) => match apply_change(aws, secret, &change, function_arn, schedule).await {
                Ok(()) => SecretOutcome::new(&secret.name, Outcome::Done, change.describe()),
                Err(e) => SecretOutcome::new(
                    &secret.name,
                    Outcome::Failed,
                    format!("{}: {e}", change.describe()),
                ),
            },
        };
        outcomes.push(outcome);
    }
    outcomes
}

async fn apply_change(
    aws: &FleetAws,
    secret: &SecretReport,
    change: &Change,
    function_arn: &str,
    schedule: &Schedule,
) -> Result<(), String> {
    if change.bind {
        prove_and_bind(aws, secret).await?;
    }
    if change.rotation.is_some() {
        aws.rotate(&secret.arn, Some((function_arn, schedule)), false)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Whether the user must be bound first (`Ok(true)`), or why the secret is left alone. A user
/// bound to another secret stays so: one secret per user, and moving it is an administrator's
/// decision. A bootstrap value is never bound here: anyone who can write the secret can name
/// any user in it.
fn must_bind(secret: &SecretReport) -> Result<bool, SecretOutcome> {
    let user = secret.user.as_deref().unwrap_or_default();
    let skip = |why: String| Err(SecretOutcome::new(&secret.name, Outcome::Skipped, why));
    match (&secret.binding, &secret.key) {
        (Some(Binding::Bound), _) => Ok(false),
        (Some(Binding::Unbound), Some(_)) => Ok(true),
        (Some(Binding::BoundElsewhere(other)), _) => skip(format!(
            "IAM user {user} is bound to another secret, {other}: refused (one secret per user)"
        )),
        (Some(Binding::Unbound), None) => skip(format!(
            "a bootstrap value naming IAM user {user}, which is not bound to it: it proves nothing, so an IAM administrator binds it by hand (`{}`)",
            tag_user_command(user, &secret.arn)
        )),
        (None, _) => skip(format!("IAM user {user} does not exist")),
    }
}

/// Binds the secret's user to it, but only once the key the secret holds now authenticates as
/// that user (sts:GetCallerIdentity signed with it): then whoever can read or write the secret
/// already holds the user's key, and the binding gives nobody a key they did not have. A key id
/// alone proves nothing (ids are not secret; anyone can copy one into a value).
async fn prove_and_bind(aws: &FleetAws, secret: &SecretReport) -> Result<(), String> {
    let user = secret.user.as_deref().unwrap_or_default();
    let refused = |why: String| format!("not bound: {why}");
    let raw = aws
        .value(&secret.arn, VersionRef::Stage(AWSCURRENT))
        .await
        .map_err(|e| refused(e.to_string()))?
        .ok_or_else(|| refused("AWSCURRENT holds no value".into()))?;
    let value =
        SecretValue::parse(&raw).map_err(|reason| refused(format!("the value {reason}")))?;
    let (Some(key_id), Some(key_secret)) = (value.access_key_id(), value.secret_access_key())
    else {
        return Err(refused("AWSCURRENT holds no key pair".into()));
    };
    if value.user_name().is_some_and(|name| name != user) {
        return Err(refused(
            "the value names another user since the scan".into(),
        ));
    }
    let identity = aws.identity_of(key_id, &key_secret).await.map_err(|e| {
        refused(format!(
            "the stored key {key_id} does not authenticate: {e}"
        ))
    })?;
    if Some(&identity.arn) != secret.user_arn.as_ref() {
        return Err(refused(format!(
            "the stored key {key_id} authenticates as {}, not as IAM user {user}",
            identity.arn
        )));
    }
    aws.bind(user, &secret.arn).await.map_err(|e| e.to_string())
}

/// The change to make, or the outcome that makes no call.
fn plan(
    secret: &SecretReport,
    function_arn: &str,
    schedule: &Schedule,
) -> Result<Change, SecretOutcome> {
    let skip = |why: String| Err(SecretOutcome::new(&secret.name, Outcome::Skipped, why));
    if let Some(why) = secret.why_not_actionable() {
        return skip(why);
    }
    if secret.pending.is_some() {
        return skip(
            "a rotation is running or half-done (AWSPENDING): `unstick` or wait, then enable"
                .into(),
        );
    }
    let bind = must_bind(secret)?;
    let r = &secret.rotation;
    let same = r.enabled
        && r.function_arn.as_deref() == Some(function_arn)
        && r.schedule.as_deref() == Some(schedule.expression.as_str())
        && (schedule.window.is_none() || r.window == schedule.window);
    if same && !bind {
        return Err(SecretOutcome::new(
            &secret.name,
            Outcome::Unchanged,
            "rotation already on with this function and schedule; the user is bound",
        ));
    }
    let window = schedule
        .window
        .as_deref()
        .map(|w| format!(", window {w}"))
        .unwrap_or_default();
    let action = format!(
        "rotation on: {}{window}, function {function_arn}",
        schedule.expression
    );
    let rotation = match (same, r.enabled) {
        (true, _) => None,
        (false, true) => Some(format!(
            "{action} (was {} with {})",
            r.schedule.as_deref().unwrap_or("?"),
            r.function_arn.as_deref().unwrap_or("?")
        )),
        (false, false) => Some(action),
    };
    Ok(Change { bind, rotation })
}
