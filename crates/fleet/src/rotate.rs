//! `rotate`: "rotate immediately" for the scanned secrets, a few at a time, each followed until
//! its new version is AWSCURRENT. A dry run unless applied. Left alone, with the reason: a secret
//! whose previous key the function would keep (in use, or in its quarantine: §18), and, unless
//! forced, one whose value changed less than the minimum interval ago: a second rotation minutes
//! after the first acts on the key that was AWSCURRENT minutes before, which consumers may still use.

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};

use super::aws::FleetAws;
use super::outcome::{Outcome, SecretOutcome};
use super::report::SecretReport;
use super::time::{epoch_seconds, from_epoch_seconds, human_age, rfc3339};
use iam_key_rotator::aws::{KeyLastUse, KeyStatus, AWSCURRENT};
use iam_key_rotator::config::Config;
use iam_key_rotator::overrides::effective;
use iam_key_rotator::retire::decide::{keep_previous, tag_of, Facts, KeepPrevious, Settings};

#[derive(Debug, Clone, Copy)]
pub struct RotateOptions {
    /// Rotations running at once.
    pub concurrency: usize,
    /// How long to wait for one rotation to finish.
    pub timeout: Duration,
    /// How often to look at the staging labels while waiting.
    pub poll_interval: Duration,
    pub apply: bool,
    /// Leave alone a secret whose value changed less than this many seconds before `now`...
    pub min_interval_seconds: i64,
    /// ...unless forced. Nothing else is forced: the function's own rules stand (§18).
    pub force: bool,
    /// The function's RETIRE_IDLE_HOURS, in seconds: how long the previous key must be idle.
    pub retire_idle_seconds: i64,
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
            if let Some(skipped) = not_rotatable(secret) {
                return skipped;
            }
            // Read only for a secret that could be rotated: one call each.
            let current_since = match current_since(aws, secret).await {
                Ok(at) => at,
                Err(why) => return SecretOutcome::new(&secret.name, Outcome::Failed, why),
            };
            match too_soon(secret, &options, current_since) {
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

/// Why a secret is not rotated, whenever it was last changed: what the scan alone tells.
fn not_rotatable(secret: &SecretReport) -> Option<SecretOutcome> {
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
    None
}

/// Why a secret is not rotated yet: its previous key is one the function keeps, or its value
/// changed too recently. `current_since`: when its AWSCURRENT version was made
/// (ListSecretVersionIds).
fn too_soon(
    secret: &SecretReport,
    options: &RotateOptions,
    current_since: Option<i64>,
) -> Option<SecretOutcome> {
    let skip = |why: String| Some(SecretOutcome::new(&secret.name, Outcome::Skipped, why));
    // Unknown dates count as a promotion now, as the function counts them: the longest wait.
    let promoted = promotion(secret.rotation.last_rotated, current_since).unwrap_or(options.now);
    // The function's own rule (§18), whatever --force says: createSecret would refuse.
    if let Some(why) = previous_kept(secret, options, promoted) {
        return skip(why);
    }
    let since = options.now - promoted;
    if since < options.min_interval_seconds && !options.force {
        return skip(format!(
            "its value changed {} ago, less than --min-interval: rotating again now would act on the key that was AWSCURRENT then, which consumers may still use; pass --force to rotate anyway",
            human_age(since)
        ));
    }
    None
}

/// The later of the last rotation and the AWSCURRENT version's creation (a value put by hand
/// counts too): the function's `promotion`.
fn promotion(last_rotated: Option<i64>, current_since: Option<i64>) -> Option<i64> {
    last_rotated.into_iter().chain(current_since).max()
}

/// Why createSecret would keep the previous key (so refuse to rotate), by the function's own
/// decision (`retire::decide::keep_previous`) under `retire`, the default: Active and used within
/// the idle time, or Inactive within its quarantine. The function's defaults stand in for its
/// configuration, with `--retire-idle-hours` and the secret's own tags over them.
fn previous_kept(secret: &SecretReport, options: &RotateOptions, promoted: i64) -> Option<String> {
    let previous = secret.previous.as_ref()?;
    let config = Config {
        retire_idle: Duration::from_secs(options.retire_idle_seconds.max(0) as u64),
        ..Config::default()
    };
    let (effective, _) = effective(&config, &secret.entry.tags);
    let settings = Settings::new(&config, &effective);
    let used = &previous.used;
    let facts = Facts {
        status: match previous.key.active {
            true => KeyStatus::Active,
            false => KeyStatus::Inactive,
        },
        last_use: KeyLastUse::from(used),
        promoted: from_epoch_seconds(promoted),
        tag: tag_of(&secret.entry.tags, &previous.key.id),
    };
    let id = &previous.key.id;
    let now = from_epoch_seconds(options.now);
    Some(match keep_previous(&facts, &settings, now)? {
        KeepPrevious::InUse => format!(
            "the previous key {id} is still in use (IAM shows its last use {}): createSecret would refuse (PreviousKeyInUse) until it is idle for {} h; find the consumer still on it (`iam-key-fleet scan` names the service and Region)",
            used.at.map_or("never, but it was reactivated".into(), rfc3339),
            effective.idle.as_secs() / 3_600
        ),
        KeepPrevious::InQuarantine { ends } => format!(
            "the previous key {id} is Inactive, in its quarantine until about {} (the default RETIRE_QUARANTINE_DAYS): createSecret would refuse (PreviousKeyInQuarantine); the sweep deletes it then",
            rfc3339(epoch_seconds(ends))
        ),
    })
}

/// When the AWSCURRENT version was made; `None` when it is not listed.
async fn current_since(aws: &dyn FleetAws, secret: &SecretReport) -> Result<Option<i64>, String> {
    let Some(version) = secret.entry.version_with(AWSCURRENT) else {
        return Ok(None);
    };
    aws.version_created(&secret.arn, version)
        .await
        .map_err(|e| format!("could not tell when AWSCURRENT was made: {e}"))
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
