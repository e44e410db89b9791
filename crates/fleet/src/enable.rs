//! `enable`: turn rotation on, with the function and schedule given, for the scanned secrets,
//! and bind each user an administrator names (`--bind`) to its secret (§15) where the secret
//! proves it already holds the user's key and no other secret of the run does.

use super::aws::{FleetAws, Schedule};
use super::bind::{evidence, must_bind, prove_and_bind, sole_holder, Bind};
use super::claims::{Claims, Scope};
use super::outcome::{Outcome, SecretOutcome};
use super::report::SecretReport;
use super::split;

/// What `enable` is asked to do.
pub struct EnableOptions<'a> {
    /// The rotation function's ARN.
    pub function_arn: &'a str,
    pub schedule: &'a Schedule,
    /// The pairs an administrator named: the only users bound (checked by `check_binds`).
    pub binds: &'a [Bind],
    pub apply: bool,
}

/// Whether the user is bound first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    /// Already bound: nothing to do.
    Bound,
    /// Unbound, and named by `--bind`: bound once the checks pass.
    Named,
    /// Unbound, and named by nobody: left alone, with the evidence.
    NotNamed,
}

/// What enable changes for one secret: the binding, the rotation settings, or both.
struct Change {
    binding: Binding,
    /// The rotation settings to set; `None` when they are already as asked.
    rotation: Option<String>,
}

impl Change {
    fn describe(&self) -> String {
        match (self.binding == Binding::Named, &self.rotation) {
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
/// `scope` is read (every secret of every enabled Region of its accounts) only when a selected
/// user is unbound.
pub async fn enable(
    aws: &dyn FleetAws,
    secrets: &[SecretReport],
    options: &EnableOptions<'_>,
    scope: &Scope<'_>,
) -> Vec<SecretOutcome> {
    let plans: Vec<Result<Change, SecretOutcome>> =
        secrets.iter().map(|secret| plan(secret, options)).collect();
    let unbound = |p: &Result<Change, _>| p.as_ref().is_ok_and(|c| c.binding != Binding::Bound);
    let layouts = secrets.iter().any(|s| split::named(s, options.binds));
    let claims = match layouts || plans.iter().any(unbound) {
        true => Claims::of_scope(scope).await,
        false => Claims::default(),
    };
    let mut outcomes = Vec::new();
    for (secret, planned) in secrets.iter().zip(plans) {
        if split::named(secret, options.binds) {
            let rotation = (options.function_arn, options.schedule);
            let layout = split::enable(aws, secret, (rotation, options.apply), &claims);
            outcomes.push(layout.await);
            continue;
        }
        if let Some(left_alone) = split::unnamed(secret, options.binds) {
            outcomes.push(left_alone);
            continue;
        }
        let planned = planned.and_then(|change| match change.binding {
            Binding::NotNamed => Err(evidence(secret, &claims)),
            Binding::Named => sole_holder(secret, &claims).map(|()| change),
            Binding::Bound => Ok(change),
        });
        let outcome = match planned {
            Err(left_alone) => left_alone,
            Ok(change) if !options.apply => {
                SecretOutcome::new(&secret.name, Outcome::WouldDo, change.describe())
            }
            Ok(change) => match apply_change(aws, secret, &change, options).await {
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
    options: &EnableOptions<'_>,
) -> Result<(), String> {
    let bind = change.binding == Binding::Named;
    if bind {
        prove_and_bind(aws, secret).await?;
    }
    if change.rotation.is_some() {
        let configure = Some((options.function_arn, options.schedule));
        aws.rotate(&secret.arn, configure, false)
            .await
            .map_err(|e| match bind {
                true => format!("the user IS now bound, but turning rotation on failed: {e}"),
                false => e.to_string(),
            })?;
    }
    Ok(())
}

/// The change to make, or the outcome that makes no call.
fn plan(secret: &SecretReport, options: &EnableOptions<'_>) -> Result<Change, SecretOutcome> {
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
    let named = options.binds.iter().any(|b| b.secret_arn == secret.arn);
    let binding = match must_bind(secret)? {
        false => Binding::Bound,
        true if named => Binding::Named,
        true => Binding::NotNamed,
    };
    let (function_arn, schedule) = (options.function_arn, options.schedule);
    let r = &secret.rotation;
    let same = r.enabled
        && r.function_arn.as_deref() == Some(function_arn)
        && r.schedule.as_deref() == Some(schedule.expression.as_str())
        && (schedule.window.is_none() || r.window == schedule.window);
    if same && binding == Binding::Bound {
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
    Ok(Change { binding, rotation })
}
