//! `enable`: turn rotation on, with the function and schedule given, for the scanned secrets.

use super::aws::{FleetAws, Schedule};
use super::outcome::{Outcome, SecretOutcome};
use super::scan::SecretReport;

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
            Err(skipped) => skipped,
            Ok(action) if !apply => SecretOutcome::new(&secret.name, Outcome::WouldDo, action),
            Ok(action) => match aws
                .rotate(&secret.arn, Some((function_arn, schedule)), false)
                .await
            {
                Ok(_) => SecretOutcome::new(&secret.name, Outcome::Done, action),
                Err(e) => {
                    SecretOutcome::new(&secret.name, Outcome::Failed, format!("{action}: {e}"))
                }
            },
        };
        outcomes.push(outcome);
    }
    outcomes
}

/// The change to make, or the outcome that makes no call.
fn plan(
    secret: &SecretReport,
    function_arn: &str,
    schedule: &Schedule,
) -> Result<String, SecretOutcome> {
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
    let r = &secret.rotation;
    let same = r.enabled
        && r.function_arn.as_deref() == Some(function_arn)
        && r.schedule.as_deref() == Some(schedule.expression.as_str())
        && (schedule.window.is_none() || r.window == schedule.window);
    if same {
        return Err(SecretOutcome::new(
            &secret.name,
            Outcome::Unchanged,
            "rotation already on with this function and schedule",
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
    Ok(if r.enabled {
        format!(
            "{action} (was {} with {})",
            r.schedule.as_deref().unwrap_or("?"),
            r.function_arn.as_deref().unwrap_or("?")
        )
    } else {
        action
    })
}
