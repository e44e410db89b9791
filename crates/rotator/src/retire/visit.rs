//! One secret of the sweep: read what AWS says of its previous key (`previous.rs`), decide
//! (`decide.rs`), check that nothing moved, act. Every way the secret is not what a rotation by this function leaves
//! is a [`Skip`] with its reason, never an action: the sweep acts only on a previous key that
//! AWSPREVIOUS names, that belongs to the user bound to this very secret (§15), that is not the
//! current key, while the current key is the user's and Active and no rotation is under way.

use std::time::SystemTime;

use tracing::{error, info};

use super::decide::{self, Decision, Facts, Settings, Tag, Why, INACTIVE_SINCE_TAG};
use super::previous::{previous_key, unchanged, Found, Skip};
use crate::aws::{KeyStatus, SecretMetadata};
use crate::binding::{self, Binding};
use crate::error::Problem;
use crate::lifecycle::{self, Subject};
use crate::messages::describe_use;
use crate::metrics;
use crate::rotation::Rotator;

/// What the visit of one secret came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No previous key to retire (none, gone, or the current key itself).
    Settled,
    Waiting,
    Deactivated,
    Deleted,
    Alarmed,
    /// An Inactive previous key whose quarantine starts now.
    Marked,
    Skipped(Skip),
}

pub(super) async fn visit(
    rotator: &Rotator,
    own_arn: &str,
    arn: &str,
    alarm_clock: SystemTime,
) -> Result<Outcome, Problem> {
    let metadata = rotator.secrets.describe_secret(arn).await?;
    let previous = match previous_key(rotator, own_arn, &metadata).await? {
        Found::Key(previous) => previous,
        Found::Nothing => return untag_if_tagged(rotator, &metadata, Outcome::Settled).await,
        Found::Skip(skip) => return Ok(Outcome::Skipped(skip)),
    };
    let (key_id, holder) = (previous.key_id.as_str(), &previous.user);
    let user = holder.user.as_str();
    // IAM where the user is: a member account's through its role (§17).
    let iam = rotator.iam_for(holder, &metadata.arn).await?;

    // The user's keys first: a key the user no longer has is gone (or never was theirs), and
    // nothing is asked about it (IAM may deny GetAccessKeyLastUsed on a key of no user).
    let keys = iam.list_access_keys(user).await?;
    let find = |id: Option<&str>| keys.iter().find(|k| Some(k.id.as_str()) == id);
    let Some(previous_key) = find(Some(key_id)) else {
        return untag_if_tagged(rotator, &metadata, Outcome::Settled).await;
    };
    // Never retire a key while the current one does not work: it may be all the consumers have.
    let Some(current_key) = find(previous.current_key.as_deref()) else {
        return Ok(Outcome::Skipped(Skip::CurrentKeyNotActive));
    };
    if current_key.status != KeyStatus::Active {
        return Ok(Outcome::Skipped(Skip::CurrentKeyNotActive));
    }
    // A rotation makes the new key after the old one. A current key older than the previous one
    // means a hand edit put an old key back in AWSCURRENT: the "previous" key may be the one the
    // consumers really use.
    if previous_key.created >= current_key.created {
        return Ok(Outcome::Skipped(Skip::PreviousNewerThanCurrent));
    }
    let status = previous_key.status;
    let last_use = match iam.access_key_last_used(key_id).await {
        Err(e) if e.is_not_found() => {
            return untag_if_tagged(rotator, &metadata, Outcome::Settled).await
        }
        other => other?,
    };
    if last_use.user.as_deref() != Some(user) {
        return Ok(Outcome::Skipped(Skip::KeyOfAnotherUser));
    }
    let Some(promoted) = promoted(rotator, &metadata, &previous.current_version).await? else {
        return Ok(Outcome::Skipped(Skip::PromotionUnknown));
    };

    let facts = Facts {
        status,
        last_use,
        promoted,
        tag: decide::tag_of(&metadata.tags, key_id),
    };
    let settings = Settings::new(&rotator.config, &previous.settings);
    let now = rotator.clock.now();
    let decision = decide::decide(&facts, &settings, now, alarm_clock);
    if decision == Decision::Wait {
        // A tag for another key, or one that does not parse, is left from before: remove it.
        return match facts.tag {
            None => untag_if_tagged(rotator, &metadata, Outcome::Waiting).await,
            Some(_) => Ok(Outcome::Waiting),
        };
    }

    // About to raise an alarm or change a key: the user must be bound to this secret (anyone who
    // may call RotateSecret can name this function on any secret), and the secret must still be
    // as read (a rotation may have started since).
    let iam_user = iam.get_user(user).await?;
    if binding::binding_of(&iam_user.tags, &metadata.arn) != Binding::Bound {
        return Ok(Outcome::Skipped(Skip::UserNotBound));
    }
    let last_use = describe_use(&facts.last_use);
    let subject = Subject {
        secret_arn: &metadata.arn,
        user: holder,
        key_id,
    };
    let used = lifecycle::last_use(&facts.last_use);
    if decision == Decision::Alarm {
        let deadline_days = settings.deadline.as_secs() / 86_400;
        error!(%key_id, user = %holder, %last_use, deadline_days,
            "the previous access key is still in use past RETIRE_DEADLINE_DAYS: find its consumer by where it was last used and move it to AWSCURRENT");
        let mut detail = used;
        detail["deadlineDays"] = deadline_days.into();
        let event = lifecycle::event(lifecycle::STILL_IN_USE, &subject, detail);
        lifecycle::publish(&*rotator.events, event).await;
        return Ok(Outcome::Alarmed);
    }
    let again = rotator.secrets.describe_secret(&metadata.arn).await?;
    if let Err(skip) = unchanged(&again, own_arn, &previous) {
        return Ok(Outcome::Skipped(skip));
    }
    let arn = metadata.arn.as_str();
    match decision {
        Decision::Deactivate(why) => {
            let (reason, why) = match why {
                Why::Idle => ("idle", "unused for RETIRE_IDLE_HOURS"),
                Why::Deadline => (
                    "deadline",
                    "still in use at RETIRE_DEADLINE_DAYS, and RETIRE_ENFORCE_DEADLINE=true",
                ),
            };
            let inactive = KeyStatus::Inactive;
            iam.update_access_key(user, key_id, inactive).await?;
            info!(%key_id, user = %holder, %last_use, why, "deactivated the previous access key");
            let idle = now
                .duration_since(decide::idle_since(&facts))
                .unwrap_or_default();
            let hours = idle.as_secs_f64() / 3_600.0;
            metrics::emit(&[("PreviousKeyIdleHours", hours, metrics::Unit::None)]);
            let mut detail = used;
            detail["reason"] = reason.into();
            let event = lifecycle::event(lifecycle::DEACTIVATED, &subject, detail);
            lifecycle::publish(&*rotator.events, event).await;
            tag(rotator, arn, key_id, Tag::InactiveSince(now)).await?;
            Ok(Outcome::Deactivated)
        }
        Decision::MarkInactive => {
            tag(rotator, arn, key_id, Tag::InactiveSince(now)).await?;
            info!(%key_id, user = %holder, "the previous access key is Inactive: its quarantine starts now");
            Ok(Outcome::Marked)
        }
        Decision::MarkReactivated => {
            tag(rotator, arn, key_id, Tag::ReactivatedAt(now)).await?;
            info!(%key_id, user = %holder, %last_use, "the previous access key was reactivated during its quarantine: it is retired again only once idle for RETIRE_IDLE_HOURS from now");
            Ok(Outcome::Waiting)
        }
        Decision::Delete => {
            // A person may have reactivated it since it was read: delete only an Inactive key.
            let keys = iam.list_access_keys(user).await?;
            if !keys
                .iter()
                .any(|k| k.id == key_id && k.status == KeyStatus::Inactive)
            {
                return Ok(Outcome::Skipped(Skip::KeyChanged));
            }
            match iam.delete_access_key(user, key_id).await {
                Err(e) if !e.is_not_found() => return Err(e.into()),
                _ => {
                    info!(%key_id, user = %holder, %last_use, "deleted the previous access key: its quarantine is over")
                }
            }
            let event = lifecycle::event(lifecycle::DELETED, &subject, used);
            lifecycle::publish(&*rotator.events, event).await;
            untag(rotator, arn).await?;
            Ok(Outcome::Deleted)
        }
        Decision::Wait | Decision::Alarm => Ok(Outcome::Waiting),
    }
}

/// When the current version became AWSCURRENT, never earlier than it did: the later of the last
/// rotation's completion (a hand-put value leaves it alone) and the version's CreatedDate (a
/// rotation writes its version at its start, before the promotion).
async fn promoted(
    rotator: &Rotator,
    metadata: &SecretMetadata,
    current_version: &str,
) -> Result<Option<SystemTime>, Problem> {
    let created = rotator.secrets.versions_created(&metadata.arn).await?;
    let created = created.get(current_version).copied();
    Ok(created.map(|created| metadata.last_rotated.map_or(created, |l| l.max(created))))
}

async fn tag(rotator: &Rotator, arn: &str, key_id: &str, tag: Tag) -> Result<(), Problem> {
    let value = decide::tag_value(key_id, tag);
    Ok(rotator
        .secrets
        .tag_secret(arn, INACTIVE_SINCE_TAG, &value)
        .await?)
}

/// Removes the bookkeeping tag (a secret without it is no error).
async fn untag(rotator: &Rotator, arn: &str) -> Result<(), Problem> {
    Ok(rotator
        .secrets
        .untag_secret(arn, INACTIVE_SINCE_TAG)
        .await?)
}

/// Removes a leftover bookkeeping tag (its key is gone, or it names another key), then answers
/// `outcome`.
async fn untag_if_tagged(
    rotator: &Rotator,
    metadata: &SecretMetadata,
    outcome: Outcome,
) -> Result<Outcome, Problem> {
    if metadata.tags.iter().any(|(k, _)| k == INACTIVE_SINCE_TAG) {
        untag(rotator, &metadata.arn).await?;
        info!("removed the bookkeeping tag: its key is gone, or it named another key");
    }
    Ok(outcome)
}
