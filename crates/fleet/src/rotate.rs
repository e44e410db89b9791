//! `rotate`: "rotate immediately" for the scanned secrets, a few at a time, each followed until
//! its new version is AWSCURRENT. A dry run unless applied; a secret rotated less than the minimum
//! interval ago is left alone unless forced: a second rotation minutes after the first acts on the
//! key that was AWSCURRENT minutes before (deletes it, under `keep`), which consumers may still use.

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};

use super::aws::FleetAws;
use super::outcome::{Outcome, SecretOutcome};
use super::report::SecretReport;
use super::time::human_age;
use iam_key_rotator::aws::AWSCURRENT;

#[derive(Debug, Clone, Copy)]
pub struct RotateOptions {
    /// Rotations running at once.
    pub concurrency: usize,
    /// How long to wait for one rotation to finish.
    pub timeout: Duration,
    /// How often to look at the staging labels while waiting.
    pub poll_interval: Duration,
    pub apply: bool,
    /// Leave alone a secret rotated less than this many seconds before `now`...
    pub min_interval_seconds: i64,
    /// ...unless forced.
    pub force: bool,
    /// Seconds since the epoch.
    pub now: i64,
}

/// Rotates each secret; `on_done` is called as each one ends (for a progress bar).
pub async fn rotate(
    aws: &dyn FleetAws,
    secrets: &[SecretReport],
    options: RotateOptions,
    on_done: impl Fn(&SecretOutcome),
) -> Vec<SecretOutcome> {
    let mut outcomes: Vec<SecretOutcome> = stream::iter(secrets)
        .map(|secret| async move {
            match refusal(secret, &options) {
                Some(skipped) => skipped,
                None if !options.apply => {
                    SecretOutcome::new(&secret.name, Outcome::WouldDo, "rotate now")
                }
                None => rotate_one(aws, secret, options).await,
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .inspect(|outcome| on_done(outcome))
        .collect()
        .await;
    outcomes.sort_by(|a, b| a.secret.cmp(&b.secret));
    outcomes
}

/// Why a secret is not rotated, if it is not.
fn refusal(secret: &SecretReport, options: &RotateOptions) -> Option<SecretOutcome> {
    let skip = |why: String| Some(SecretOutcome::new(&secret.name, Outcome::Skipped, why));
    if let Some(why) = secret.why_not_actionable() {
        return skip(why);
    }
    if !secret.rotation.enabled {
        return skip("rotation is off: turn it on with `iam-key-fleet enable` first".into());
    }
    if secret.pending.is_some() {
        return skip(
            "a rotation is already running or half-done (AWSPENDING): wait, or `unstick` it".into(),
        );
    }
    let quarantined = secret
        .previous_key
        .as_ref()
        .filter(|k| k.exists && !k.active);
    if let Some(previous) = quarantined.filter(|_| !options.force) {
        return skip(format!(
            "the previous key {} is Inactive: under PREVIOUS_KEY_ACTION=retire (the default) it is in its quarantine, and the function refuses to rotate (PreviousKeyInQuarantine) until the sweep deletes it; pass --force to rotate anyway (for an emergency, delete the key first)",
            previous.id
        ));
    }
    let since = secret.rotation.last_rotated.map(|at| options.now - at);
    if let Some(since) = since.filter(|s| *s < options.min_interval_seconds && !options.force) {
        return skip(format!(
            "rotated {} ago, less than --min-interval: rotating again now would act on the key that was AWSCURRENT then, which consumers may still use; pass --force to rotate anyway",
            human_age(since)
        ));
    }
    None
}

async fn rotate_one(
    aws: &dyn FleetAws,
    secret: &SecretReport,
    options: RotateOptions,
) -> SecretOutcome {
    let started = Instant::now();
    let version = match aws.rotate(&secret.arn, None, true).await {
        Ok(version) => version,
        Err(e) => return SecretOutcome::new(&secret.name, Outcome::Failed, e.to_string()),
    };
    loop {
        match aws.stages(&secret.arn).await {
            Ok(stages) => match stages.get(&version) {
                Some(labels) if labels.iter().any(|l| l == AWSCURRENT) => {
                    return SecretOutcome::new(
                        &secret.name,
                        Outcome::Done,
                        format!("version {version} is AWSCURRENT after {:.1} s", started.elapsed().as_secs_f64()),
                    )
                }
                Some(_) => {}
                None => {
                    return SecretOutcome::new(
                        &secret.name,
                        Outcome::Failed,
                        format!("version {version} is gone: the rotation was abandoned; see the function's logs"),
                    )
                }
            },
            // Looking failed (throttled, say): keep waiting, the timeout bounds it.
            Err(e) if e.is_transient() => {}
            Err(e) => return SecretOutcome::new(&secret.name, Outcome::Failed, format!("could not follow the rotation: {e}")),
        }
        if started.elapsed() >= options.timeout {
            return SecretOutcome::new(
                &secret.name,
                Outcome::Failed,
                format!(
                    "version {version} is still not AWSCURRENT after {} s: the rotation failed or is slow; see the function's logs (Secrets Manager retries it)",
                    options.timeout.as_secs()
                ),
            );
        }
        tokio::time::sleep(options.poll_interval).await;
    }
}
