//! `unstick`: for a rotation left half-done (AWSPENDING on a version that is not AWSCURRENT),
//! take the label off and delete the key that rotation made, if it made one.

use super::aws::FleetAws;
use super::outcome::{Outcome, SecretOutcome};
use super::scan::SecretReport;
use super::time::human_age;

/// The repair for one secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    pub pending_version: String,
    /// Keys the abandoned rotation made: the pending value's key, and keys IAM dates after the
    /// pending version was created that no version holds (createSecret stopped before
    /// PutSecretValue). Never a key AWSCURRENT or AWSPREVIOUS holds.
    pub orphan_keys: Vec<String>,
}

/// What to repair, or why not. `min_age_seconds` protects a rotation that may be running now.
pub fn plan(secret: &SecretReport, now: i64, min_age_seconds: i64) -> Result<Repair, String> {
    let pending = secret
        .pending
        .as_ref()
        .ok_or("no AWSPENDING on a version other than AWSCURRENT")?;
    // When the abandoned rotation started: its pending version's creation.
    let started = match secret.pending_since {
        Some(created) if now - created >= min_age_seconds => created,
        other => {
            return Err(format!(
                "AWSPENDING is only {} old: a rotation may be running now; wait, or pass --min-age-minutes 0",
                other.map(|c| human_age(now - c)).unwrap_or_else(|| "of unknown age".into())
            ))
        }
    };
    let held: Vec<&String> = secret
        .version_keys
        .iter()
        .filter(|k| pending.key_id.as_ref() != Some(*k))
        .collect();
    let orphan_keys = secret
        .user_key_list
        .iter()
        .filter(|k| !held.contains(&&k.id))
        .filter(|k| pending.key_id.as_ref() == Some(&k.id) || k.created > started)
        .map(|k| k.id.clone())
        .collect();
    Ok(Repair {
        pending_version: pending.version_id.clone(),
        orphan_keys,
    })
}

pub async fn unstick(
    aws: &FleetAws,
    secrets: &[SecretReport],
    now: i64,
    min_age_seconds: i64,
    apply: bool,
) -> Vec<SecretOutcome> {
    let mut outcomes = Vec::new();
    for secret in secrets.iter().filter(|s| s.pending.is_some()) {
        let repair = match plan(secret, now, min_age_seconds) {
            Ok(repair) => repair,
            Err(why) => {
                outcomes.push(SecretOutcome::new(&secret.name, Outcome::Skipped, why));
                continue;
            }
        };
        let keys = match repair.orphan_keys.as_slice() {
            [] => "no orphan key".to_owned(),
            keys => format!("delete orphan key {}", keys.join(", ")),
        };
        let action = format!(
            "remove AWSPENDING from version {}; {keys}",
            repair.pending_version
        );
        if !apply {
            outcomes.push(SecretOutcome::new(&secret.name, Outcome::WouldDo, action));
            continue;
        }
        outcomes.push(apply_repair(aws, secret, &repair, action).await);
    }
    outcomes
}

/// The label first: once it is off, the secret is consistent again even if a key deletion fails.
async fn apply_repair(
    aws: &FleetAws,
    secret: &SecretReport,
    repair: &Repair,
    action: String,
) -> SecretOutcome {
    if let Err(e) = aws
        .remove_pending(&secret.arn, &repair.pending_version)
        .await
    {
        return SecretOutcome::new(
            &secret.name,
            Outcome::Failed,
            format!("{action}: {e}; nothing changed"),
        );
    }
    let user = secret.user.as_deref().unwrap_or_default();
    for key in &repair.orphan_keys {
        if let Err(e) = aws.delete_key(user, key).await {
            return SecretOutcome::new(
                &secret.name,
                Outcome::Failed,
                format!("AWSPENDING removed, but deleting {key} failed: {e}; delete it by hand (aws iam delete-access-key --user-name {user} --access-key-id {key})"),
            );
        }
    }
    SecretOutcome::new(&secret.name, Outcome::Done, action)
}
