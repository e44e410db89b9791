//! `enable`: turn rotation on, with the function and schedule given, for the scanned secrets,
//! binding each user to its secret (§15) where the secret proves it already holds the user's key.

use super::aws::{FleetAws, Schedule};
use super::bind::{must_bind, prove_and_bind, sole_holder};
use super::claims::KeyHolders;
use super::outcome::{Outcome, SecretOutcome};
use super::report::SecretReport;

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
    aws: &dyn FleetAws,
    secrets: &[SecretReport],
    function_arn: &str,
    schedule: &Schedule,
    apply: bool,
    concurrency: usize,
) -> Vec<SecretOutcome> {
    let plans: Vec<Result<Change, SecretOutcome>> = secrets
        .iter()
        .map(|secret| plan(secret, function_arn, schedule))
        .collect();
    // Binding needs to know every secret of the account that holds a key: read only if needed.
    let holders = match plans.iter().any(|p| p.as_ref().is_ok_and(|c| c.bind)) {
        true => Some(
            KeyHolders::of_account(aws, concurrency)
                .await
                .map_err(|e| e.to_string()),
        ),
        false => None,
    };
    let mut outcomes = Vec::new();
    for (secret, planned) in secrets.iter().zip(plans) {
        let planned = planned.and_then(|change| match (change.bind, &holders) {
            (true, Some(holders)) => sole_holder(secret, holders.as_ref()).map(|()| change),
            _ => Ok(change),
        });
        let outcome = match planned {
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
    aws: &dyn FleetAws,
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
            .map_err(|e| match change.bind {
                true => format!("the user IS now bound, but turning rotation on failed: {e}"),
                false => e.to_string(),
            })?;
    }
    Ok(())
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
