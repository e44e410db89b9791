//! createSecret (§6): make room, make a new key, store it at once in AWSPENDING.

use std::time::SystemTime;

use tracing::{info, warn};

use super::context::{Rotation, VersionDates};
use super::keep_previous;
use super::keys::{self, DeleteReason, Evidence, OrphanProof};
use crate::aws::{Iam, KeyStatus, Pending, VersionRef, AWSCURRENT, AWSPREVIOUS};
use crate::config::PreviousKeyAction;
use crate::error::Problem;
use crate::holder::Holder;
use crate::retire::decide;
use crate::secret_value::{format_date, SecretValue};

pub(super) async fn create_secret(r: &Rotation<'_>) -> Result<(), Problem> {
    let secrets = &r.rotator.secrets;

    // 1. A retry of a createSecret that got as far as storing its key.
    if secrets
        .get_secret_value(r.secret_id(), r.pending())
        .await?
        .is_some()
    {
        info!("AWSPENDING already holds a value: createSecret already ran for this version");
        return Ok(());
    }

    // A value written by hand since the rotation started would be replaced by one made from the
    // old one: refuse before any key exists (finishSecret checks again).
    let dates = r.refuse_a_hand_edit().await?;

    // 2-3. The current value, its user (bound to this secret), and the user's keys must agree.
    let (current, user) = r
        .current_value_and_user(
            "A rotatable secret needs an AWSCURRENT value, at least {\"UserName\": \"<IAM user>\"}",
        )
        .await?;
    if let Some(field) = current.other_credential_field() {
        return Err(Problem::NotAKeySecret {
            version: AWSCURRENT.into(),
            field: field.to_owned(),
        });
    }
    // §15: no key is touched for a user an administrator did not bind to this secret.
    r.require_binding(&user).await?;
    let iam = r.iam(&user).await?;
    let user_keys = iam.list_access_keys(&user.user).await?;
    let current_key = current.access_key_id();
    if let Some(id) = current_key {
        match user_keys.iter().find(|k| k.id == id) {
            None => {
                return Err(Problem::KeyNotOwnedByUser {
                    key_id: id.to_owned(),
                    user: user.to_string(),
                })
            }
            Some(key) if key.status == KeyStatus::Inactive => {
                return Err(Problem::CurrentKeyInactive {
                    key_id: id.to_owned(),
                    user: user.to_string(),
                })
            }
            Some(_) => {}
        }
    }

    // 4. Make room, touching only keys we can attribute.
    make_room(r, &*iam, (&current, &user), &user_keys, dates).await?;

    // 5. The new key, stored at once. It must be dated after the rotation's start, or a retry
    // could not tell it from a key someone made just before (see keys::wait_before_creating).
    tokio::time::sleep(keys::wait_before_creating(SystemTime::now())).await;
    let new_key = iam.create_access_key(&user.user).await?;
    info!(key_id = %new_key.id, "created access key");
    // A text's new version is the old one with the two values replaced; it parsed, so this
    // cannot fail, and if it did the key is taken back as when storing fails.
    let stored = match current.with_new_key(&new_key) {
        Ok(pending_value) => {
            let pending = Pending {
                version_id: &r.event.token,
                value: &pending_value.to_secret_string(),
                rotation_token: r.event.rotation_token.as_ref(),
            };
            secrets
                .put_pending_value(r.secret_id(), pending)
                .await
                .map_err(Problem::from)
        }
        Err(reason) => Err(Problem::InvalidSecretValue {
            version: AWSCURRENT.into(),
            reason,
        }),
    };
    match stored {
        Ok(()) => {
            info!(key_id = %new_key.id, "stored the new access key in AWSPENDING");
            Ok(())
        }
        Err(put_error) => roll_back(r, &user, &new_key.id, put_error).await,
    }
}

/// §6 rule 4: sorts the user's keys other than the current one, decides everything before
/// deleting anything (no slot free: nothing is deleted), keeps a previous key under `retire` that
/// the sweep would keep, then deletes what is ours, each Inactive one read again first.
async fn make_room(
    r: &Rotation<'_>,
    iam: &dyn Iam,
    (current, user): (&SecretValue, &Holder),
    user_keys: &[crate::aws::AccessKeyInfo],
    dates: Option<VersionDates>,
) -> Result<(), Problem> {
    let current_key = current.access_key_id();
    let evidence = if keys::needs_evidence(user_keys, current_key) {
        let started = dates.map(|d| d.started);
        gather_evidence(r, iam, current, user_keys, started).await?
    } else {
        Evidence::default()
    };
    let plan = keys::plan_room(user_keys, current_key, &evidence).map_err(|foreign| {
        Problem::NoFreeKeySlot {
            user: user.to_string(),
            foreign,
        }
    })?;
    for key_id in &plan.foreign {
        info!(%key_id, "left access key alone: not ours (in no labelled version, created before this rotation)");
    }
    if r.settings.action == PreviousKeyAction::Retire {
        keep_previous::refuse_to_delete_a_kept_previous_key(r, iam, user, &plan, user_keys, dates)
            .await?;
    }
    // §19: a previous key is deleted only once every mirror held the current key before.
    if plan
        .delete
        .iter()
        .any(|(_, why)| *why == DeleteReason::Previous)
    {
        r.mirrors_held_current(current, user).await?;
    }
    for (key_id, reason) in &plan.delete {
        refuse_a_changed_key(r, iam, user, (key_id, *reason), user_keys).await?;
        r.delete_key(user, key_id, reason.as_str()).await?;
    }
    Ok(())
}

/// The previous key, and any key that was Inactive when createSecret decided, is read again just
/// before its delete, with its bookkeeping tag: a person may have reactivated it since, for a
/// consumer that needs it, and the sweep may have recorded that meanwhile (§18).
async fn refuse_a_changed_key(
    r: &Rotation<'_>,
    iam: &dyn Iam,
    user: &Holder,
    (key_id, reason): (&str, DeleteReason),
    decided_on: &[crate::aws::AccessKeyInfo],
) -> Result<(), Problem> {
    let was_inactive = decided_on
        .iter()
        .any(|k| k.id == key_id && k.status == KeyStatus::Inactive);
    if !was_inactive && reason != DeleteReason::Previous {
        return Ok(());
    }
    let keys = iam.list_access_keys(&user.user).await?;
    let active = keys
        .iter()
        .any(|k| k.id == key_id && k.status == KeyStatus::Active);
    let again = r.rotator.secrets.describe_secret(r.secret_id()).await?;
    let retagged = decide::tag_of(&again.tags, key_id) != decide::tag_of(&r.metadata.tags, key_id);
    if (was_inactive && active) || retagged {
        return Err(Problem::PreviousKeyChanged {
            key_id: key_id.to_owned(),
            user: user.to_string(),
        });
    }
    Ok(())
}

/// PutSecretValue failed. Its effect may still have happened (the response lost): only delete the
/// new key when AWSPENDING shows it was not stored; when in doubt leave it, since §6 rule 4
/// removes it as an orphan on the next attempt.
async fn roll_back(
    r: &Rotation<'_>,
    user: &Holder,
    new_key_id: &str,
    put_error: Problem,
) -> Result<(), Problem> {
    match r.read_value(r.pending()).await {
        Ok(Some(stored)) if stored.access_key_id() == Some(new_key_id) => {
            info!(key_id = %new_key_id, "PutSecretValue failed but AWSPENDING holds the new key: stored");
            Ok(())
        }
        Ok(_) => {
            if let Err(e) = r
                .delete_key(user, new_key_id, "rollback: PutSecretValue failed")
                .await
            {
                warn!(key_id = %new_key_id, error = %e, "could not delete the new key; the next attempt deletes it as an orphan");
            }
            Err(put_error)
        }
        Err(e) => {
            warn!(key_id = %new_key_id, error = %e, "cannot tell whether PutSecretValue took effect: new key left for the next attempt");
            Err(put_error)
        }
    }
}

/// Which keys the secret's labelled versions name, the AWSPREVIOUS one among them, and when this
/// rotation started (`rotation_started`, the pending version's CreatedDate): what §6 rule 4 needs
/// to attribute a key.
async fn gather_evidence(
    r: &Rotation<'_>,
    iam: &dyn Iam,
    current: &SecretValue,
    user_keys: &[crate::aws::AccessKeyInfo],
    rotation_started: Option<SystemTime>,
) -> Result<Evidence, Problem> {
    let mut evidence = Evidence::default();
    // A labelled version whose keys cannot be known (unusable value) might hold any key.
    let mut holdings_unknown = false;
    if let Some(id) = current.access_key_id() {
        evidence.referenced.insert(id.to_owned());
    }
    for (version_id, stages) in &r.metadata.versions {
        let is_current = stages.iter().any(|s| s == AWSCURRENT);
        if stages.is_empty() || is_current || *version_id == r.event.token {
            continue;
        }
        let value = match r.read_value(VersionRef::Id(version_id)).await {
            Ok(Some(value)) => value,
            Ok(None) => continue,
            Err(Problem::InvalidSecretValue { reason, .. }) => {
                warn!(version = %version_id, %reason, "labelled version is not a usable value: which key it holds is unknown, so no key counts as an orphan");
                holdings_unknown = true;
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(id) = value.access_key_id() {
            evidence.referenced.insert(id.to_owned());
            if stages.iter().any(|s| s == AWSPREVIOUS) {
                evidence.previous_key = Some(id.to_owned());
            }
        }
    }

    let unexplained = user_keys.iter().any(|k| {
        Some(k.id.as_str()) != current.access_key_id()
            && Some(&k.id) != evidence.previous_key.as_ref()
    });
    if unexplained && !holdings_unknown {
        evidence.rotation_started = rotation_started;
        if evidence.rotation_started.is_none() {
            warn!("the pending version's CreatedDate is unknown: no key counts as an orphan");
        }
    }
    let now = r.rotator.clock.now();
    for key_id in keys::orphan_candidates(user_keys, current.access_key_id(), &evidence) {
        let used = iam.access_key_last_used(&key_id).await?;
        let created = user_keys.iter().find(|k| k.id == key_id).map(|k| k.created);
        match keys::orphan_proof(created.unwrap_or(now), used.at, now) {
            OrphanProof::NeverUsed => {
                evidence.never_used.insert(key_id);
            }
            OrphanProof::Used => {
                info!(%key_id, service = used.service.as_deref(), region = used.region.as_deref(),
                    "not an orphan though made after this rotation started: IAM shows it was used");
            }
            OrphanProof::TooRecent { provable_at } => {
                return Err(Problem::OrphanTooRecent {
                    key_id,
                    provable_at: format_date(provable_at),
                })
            }
        }
    }
    Ok(evidence)
}
