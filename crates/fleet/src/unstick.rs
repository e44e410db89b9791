//! `unstick`: for a rotation left half-done (AWSPENDING on a version that is not AWSCURRENT),
//! take the label off and delete the keys that rotation made and nobody ever had.
//!
//! The scan is minutes old by the time a repair acts, and Secrets Manager may have retried and
//! completed the rotation since. So everything is read again right before acting (the labels,
//! every labelled value, the user's keys), and a key is deleted only on proof that it is an
//! orphan of that rotation: held by no labelled version, made within the rotation's window after
//! its pending version, never used (GetAccessKeyLastUsed), and in no other secret. Any other key
//! is reported with the command that deletes it, for a person to decide.

use std::collections::BTreeSet;

use super::aws::FleetAws;
use super::claims::KeyHolders;
use super::outcome::{Outcome, SecretOutcome};
use super::report::SecretReport;
use super::time::{epoch_seconds, from_epoch_seconds, human_age, rfc3339, DAY};
use iam_key_rotator::aws::{AccessKeyInfo, VersionRef, AWSCURRENT, AWSPENDING};
use iam_key_rotator::rotation::keys::{self, OrphanProof};
use iam_key_rotator::secret_value::SecretValue;

/// A pending version younger than this may belong to a rotation Secrets Manager is still retrying:
/// it retries within the rotation window, 24 hours at the longest. A secret whose window is known
/// gets that instead.
pub const DEFAULT_MIN_AGE_SECONDS: i64 = DAY;

/// The repair for one secret, as the scan saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    pub pending_version: String,
    /// When the pending version was made (seconds since the epoch): the rotation's start.
    pub started: i64,
    /// How long after the start the rotation's attempts could have made a key.
    pub window: i64,
}

/// The window a secret's rotation runs in: its Duration (`Nh`), else the longest, 24 hours.
pub fn window_seconds(window: Option<&str>) -> i64 {
    window
        .and_then(|w| w.strip_suffix('h'))
        .and_then(|hours| hours.parse::<i64>().ok())
        .map_or(DAY, |hours| hours * 3_600)
}

/// What to repair, or why not. `min_age_seconds` (`None`: the secret's window) protects a
/// rotation that may be running or retried now.
pub fn plan(
    secret: &SecretReport,
    now: i64,
    min_age_seconds: Option<i64>,
) -> Result<Repair, String> {
    let pending = secret
        .pending
        .as_ref()
        .ok_or("no AWSPENDING on a version other than AWSCURRENT")?;
    let window = window_seconds(secret.rotation.window.as_deref());
    let min_age = min_age_seconds.unwrap_or(window);
    match secret.pending_since {
        Some(started) if now - started >= min_age => Ok(Repair {
            pending_version: pending.version_id.clone(),
            started,
            window,
        }),
        other => Err(format!(
            "AWSPENDING is only {} old, within the rotation window, when Secrets Manager may still retry it; wait, or pass --min-age-minutes",
            other.map(|c| human_age(now - c)).unwrap_or_else(|| "of unknown age".into())
        )),
    }
}

/// Whether a key of the user (IAM's CreateDate, in seconds) may be the abandoned rotation's: held
/// by no labelled version, and made within its window. Only these are asked about their last use:
/// a candidate IAM shows was ever used is reported, never deleted (an orphan is a key nobody had).
pub fn is_candidate(key_id: &str, created: i64, held: &BTreeSet<String>, repair: &Repair) -> bool {
    !held.contains(key_id) && created > repair.started && created <= repair.started + repair.window
}

pub async fn unstick(
    aws: &dyn FleetAws,
    secrets: &[SecretReport],
    now: i64,
    min_age_seconds: Option<i64>,
    apply: bool,
    concurrency: usize,
) -> Vec<SecretOutcome> {
    let mut outcomes = Vec::new();
    // Every secret's keys, read once for the run, the first time an orphan is about to go.
    let mut holders: Option<Result<KeyHolders, String>> = None;
    for secret in secrets.iter().filter(|s| s.pending.is_some()) {
        let outcome = match plan(secret, now, min_age_seconds) {
            Err(why) => SecretOutcome::new(&secret.name, Outcome::Skipped, why),
            Ok(repair) => {
                match repair_one(
                    aws,
                    secret,
                    &repair,
                    (now, apply),
                    concurrency,
                    &mut holders,
                )
                .await
                {
                    Ok((outcome, detail)) => SecretOutcome::new(&secret.name, outcome, detail),
                    Err(detail) => SecretOutcome::new(&secret.name, Outcome::Failed, detail),
                }
            }
        };
        outcomes.push(outcome);
    }
    outcomes
}

/// Reads everything again, then (with `apply`) removes the label first, so that the secret is
/// consistent even if a key deletion fails, then deletes the proven orphans.
async fn repair_one(
    aws: &dyn FleetAws,
    secret: &SecretReport,
    repair: &Repair,
    (now, apply): (i64, bool),
    concurrency: usize,
    holders: &mut Option<Result<KeyHolders, String>>,
) -> Result<(Outcome, String), String> {
    let held = match labelled_keys(aws, secret, repair).await? {
        Ok(held) => held,
        Err(why) => return Ok((Outcome::Skipped, why)),
    };
    let user = secret.user.as_deref().unwrap_or_default();
    let mut delete = Vec::new();
    let mut report = Vec::new();
    for id in candidates(aws, user, &held, repair).await? {
        match proof(aws, user, &id, &held, repair, now).await? {
            Proof::Orphan => delete.push(id),
            Proof::Left(why) => report.push(why),
            // Removing the label now would strand the key: unstick finds a secret by AWSPENDING.
            Proof::Wait(why) => {
                return Ok((
                    Outcome::Skipped,
                    format!(
                    "{why}; AWSPENDING stays until then, so that unstick finds the secret again"
                ),
                ))
            }
        }
    }
    if !delete.is_empty() {
        if holders.is_none() {
            let read = KeyHolders::of_account(aws, concurrency).await;
            *holders = Some(read.map_err(|e| e.to_string()));
        }
        let holders = match holders.as_ref().expect("read just above") {
            Ok(holders) => holders,
            Err(e) => {
                return Err(format!(
                    "could not read every secret to rule out another holder: {e}; nothing changed"
                ))
            }
        };
        let elsewhere = |k: &String| {
            !holders
                .others(std::slice::from_ref(k), &secret.arn)
                .is_empty()
        };
        for key in delete.iter().filter(|k| elsewhere(k)) {
            report.push(format!("left {key}: another secret holds it"));
        }
        delete.retain(|k| !elsewhere(k));
    }
    let mut action = format!("remove AWSPENDING from version {}", repair.pending_version);
    match delete.as_slice() {
        [] => action.push_str("; no orphan key"),
        keys => action.push_str(&format!("; delete orphan key {}", keys.join(", "))),
    }
    for line in &report {
        action.push_str("; ");
        action.push_str(line);
    }
    if !apply {
        return Ok((Outcome::WouldDo, action));
    }
    aws.remove_pending(&secret.arn, &repair.pending_version)
        .await
        .map_err(|e| format!("{action}: {e}; nothing changed"))?;
    for key in &delete {
        // Read again just before each delete: the key may have been used, or stored, since.
        if let Proof::Left(why) | Proof::Wait(why) =
            proof(aws, user, key, &held, repair, now).await?
        {
            action.push_str(&format!("; then {why}"));
            continue;
        }
        aws.delete_key(user, key).await.map_err(|e| {
            format!("AWSPENDING removed, but deleting {key} failed: {e}; delete it by hand (aws iam delete-access-key --user-name {user} --access-key-id {key})")
        })?;
    }
    Ok((Outcome::Done, action))
}

/// The user's keys that may be the abandoned rotation's, as IAM lists them now.
async fn candidates(
    aws: &dyn FleetAws,
    user: &str,
    held: &BTreeSet<String>,
    repair: &Repair,
) -> Result<Vec<String>, String> {
    let keys = aws.user_keys(user).await.map_err(|e| e.to_string())?;
    let keys = keys.unwrap_or_default().into_iter();
    let made = |k: &AccessKeyInfo| is_candidate(&k.id, epoch_seconds(k.created), held, repair);
    Ok(keys.filter(made).map(|k| k.id).collect())
}

/// What IAM says now of a key the abandoned rotation may have made.
enum Proof {
    /// Still the user's, still a candidate, proven never used: deleted.
    Orphan,
    /// Not an orphan (used, or no longer a candidate): left, and why.
    Left(String),
    /// Younger than IAM's reporting lag (`keys::orphan_proof`): nothing is proven yet.
    Wait(String),
}

async fn proof(
    aws: &dyn FleetAws,
    user: &str,
    id: &str,
    held: &BTreeSet<String>,
    repair: &Repair,
    now: i64,
) -> Result<Proof, String> {
    let keys = aws.user_keys(user).await.map_err(|e| e.to_string())?;
    let listed = keys.unwrap_or_default().into_iter().find(|k| k.id == id);
    let Some(key) = listed.filter(|k| is_candidate(id, epoch_seconds(k.created), held, repair))
    else {
        return Ok(Proof::Left(format!(
            "left {id}: it is no longer a key the abandoned rotation made"
        )));
    };
    let used = aws.last_used(id).await.map_err(|e| e.to_string())?;
    let used = used.and_then(|u| u.at);
    let delete = format!("aws iam delete-access-key --user-name {user} --access-key-id {id}");
    let (used_at, now) = (used.map(from_epoch_seconds), from_epoch_seconds(now));
    Ok(match keys::orphan_proof(key.created, used_at, now) {
        OrphanProof::NeverUsed => Proof::Orphan,
        OrphanProof::Used => Proof::Left(format!(
            "left {id}: IAM shows it used ({}), so someone had it; if nobody needs it: {delete}",
            used.map(rfc3339).unwrap_or_default()
        )),
        OrphanProof::TooRecent { provable_at } => Proof::Wait(format!(
            "left {id}: IAM reports a key's use up to 4 hours late, so that nobody used it cannot be proven before {}; run unstick again then",
            rfc3339(epoch_seconds(provable_at))
        )),
    })
}

/// The labels now: `Ok(Err(why))` when the repair no longer applies (the rotation completed, or
/// another started), else every key a labelled version other than the pending one holds. A
/// pending value naming the same key as AWSCURRENT (staged by hand) leaves that key held.
async fn labelled_keys(
    aws: &dyn FleetAws,
    secret: &SecretReport,
    repair: &Repair,
) -> Result<Result<BTreeSet<String>, String>, String> {
    let stages = aws.stages(&secret.arn).await.map_err(|e| e.to_string())?;
    let pending_labels = stages
        .get(&repair.pending_version)
        .cloned()
        .unwrap_or_default();
    if pending_labels.iter().any(|s| s == AWSCURRENT) {
        return Ok(Err(
            "the rotation completed since the scan: nothing to repair".into(),
        ));
    }
    if !pending_labels.iter().any(|s| s == AWSPENDING) {
        return Ok(Err(
            "AWSPENDING left that version since the scan: nothing to repair".into(),
        ));
    }
    let mut held = BTreeSet::new();
    for (version, labels) in &stages {
        if labels.is_empty() || *version == repair.pending_version {
            continue;
        }
        let raw = aws
            .value(&secret.arn, VersionRef::Id(version))
            .await
            .map_err(|e| format!("could not read version {version}: {e}; nothing changed"))?;
        let parsed = raw.as_ref().map(SecretValue::parse);
        match parsed {
            Some(Ok(value)) => held.extend(value.access_key_id().map(str::to_owned)),
            Some(Err(reason)) => {
                return Ok(Err(format!(
                    "version {version} ({}) is not a usable value ({reason}): which keys it holds is unknown, so nothing is deleted",
                    labels.join(", ")
                )))
            }
            None => {}
        }
    }
    Ok(Ok(held))
}
