//! One secret of the sweep, as decide-then-act: read what AWS says of its previous key
//! (`previous.rs`, then [`observe`]), decide ([`judge_keys`], `decide.rs`), check that nothing
//! moved, act ([`act`]). Every way the secret is not what a rotation by this function leaves is a
//! [`Skip`] with its reason, never an action: the sweep acts only on a previous key that
//! AWSPREVIOUS names, that belongs to the user bound to this very secret (§15), that is not the
//! current key, while the current key is the user's and Active and no rotation has made its key.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{error, info};

use super::decide::{self, Decision, Facts, Settings, Tag, Why, INACTIVE_SINCE_TAG};
use super::previous::{previous_key, rotation_made_its_key, unchanged, Found, Previous, Skip};
use crate::aws::{AccessKeyInfo, Iam, KeyStatus, SecretMetadata};
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

/// What the user's key listing says of the previous key, before IAM is asked about its use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysVerdict {
    /// The user no longer has it (deleted, or never theirs).
    Gone,
    Skip(Skip),
    /// Its status: on to its last use.
    Judge(KeyStatus),
}

/// Never retire a key while the current one does not work: it may be all the consumers have. And
/// a rotation makes the new key after the old one: a current key older than the previous one
/// means a hand edit put an old key back in AWSCURRENT, and the "previous" key may be the one the
/// consumers really use.
pub fn judge_keys(keys: &[AccessKeyInfo], previous: &str, current: Option<&str>) -> KeysVerdict {
    let find = |id: Option<&str>| keys.iter().find(|k| Some(k.id.as_str()) == id);
    let Some(previous_key) = find(Some(previous)) else {
        return KeysVerdict::Gone;
    };
    match find(current) {
        Some(current) if current.status == KeyStatus::Active => {
            if previous_key.created >= current.created {
                KeysVerdict::Skip(Skip::PreviousNewerThanCurrent)
            } else {
                KeysVerdict::Judge(previous_key.status)
            }
        }
        _ => KeysVerdict::Skip(Skip::CurrentKeyNotActive),
    }
}

pub(super) async fn visit(
    rotator: &Rotator,
    own_arn: &str,
    arn: &str,
    alarm_clock: SystemTime,
) -> Result<Outcome, Problem> {
    let metadata = rotator.secrets.describe_secret(arn).await?;
    // Bad setting tags are announced once a day, in the sweep interval after midnight UTC.
    let announce = decide::alarm_due(alarm_clock, UNIX_EPOCH, rotator.config.sweep_interval);
    let previous = match previous_key(rotator, own_arn, &metadata, announce).await? {
        Found::Key(previous) => previous,
        Found::Nothing => return untag_if_tagged(rotator, &metadata, Outcome::Settled).await,
        Found::Skip(skip) => return Ok(Outcome::Skipped(skip)),
    };
    // IAM where the user is: a member account's through its role (§17).
    let iam = rotator.iam_for(&previous.user, &metadata.arn).await?;
    let facts = match observe(rotator, &*iam, &metadata, &previous).await? {
        Ok(facts) => facts,
        Err(outcome) => return untag_unless_skipped(rotator, &metadata, outcome).await,
    };
    let settings = Settings::new(&rotator.config, &previous.settings);
    let now = rotator.clock.now();
    let decision = decide::decide(&facts, &settings, now, alarm_clock);
    if decision == Decision::Wait {
        // A tag for another key, or one not to be believed, is left from before: remove it.
        return match decide::believed(&facts, now) {
            None => untag_if_tagged(rotator, &metadata, Outcome::Waiting).await,
            Some(_) => Ok(Outcome::Waiting),
        };
    }
    // About to raise an alarm or change a key: the user must be bound to this secret (anyone who
    // may call RotateSecret can name this function on any secret).
    let iam_user = iam.get_user(&previous.user.user).await?;
    if binding::binding_of(&iam_user.tags, &metadata.arn) != Binding::Bound {
        return Ok(Outcome::Skipped(Skip::UserNotBound));
    }
    let visit = Visit {
        rotator,
        iam,
        arn: &metadata.arn,
        previous: &previous,
        facts: &facts,
        settings: &settings,
        now,
    };
    if decision == Decision::Alarm {
        return Ok(visit.alarm().await);
    }
    // The secret must still be as read: a rotation may have started, or made its key, since.
    let again = rotator.secrets.describe_secret(&metadata.arn).await?;
    let made_its_key = rotation_made_its_key(rotator, &again).await?;
    if let Err(skip) = unchanged(&again, own_arn, &previous, made_its_key) {
        return Ok(Outcome::Skipped(skip));
    }
    visit.act(decision).await
}

/// The previous key's facts from IAM and the secret's dates, or the outcome that ends the visit
/// before a decision.
async fn observe(
    rotator: &Rotator,
    iam: &dyn Iam,
    metadata: &SecretMetadata,
    previous: &Previous,
) -> Result<Result<Facts, Outcome>, Problem> {
    let (key_id, user) = (previous.key_id.as_str(), previous.user.user.as_str());
    // The user's keys first: a key the user no longer has is gone (or never was theirs), and
    // nothing is asked about it (IAM may deny GetAccessKeyLastUsed on a key of no user).
    let keys = iam.list_access_keys(user).await?;
    let status = match judge_keys(&keys, key_id, previous.current_key.as_deref()) {
        KeysVerdict::Gone => return Ok(Err(Outcome::Settled)),
        KeysVerdict::Skip(skip) => return Ok(Err(Outcome::Skipped(skip))),
        KeysVerdict::Judge(status) => status,
    };
    let last_use = match iam.access_key_last_used(key_id).await {
        Err(e) if e.is_not_found() => return Ok(Err(Outcome::Settled)),
        other => other?,
    };
    if last_use.user.as_deref() != Some(user) {
        return Ok(Err(Outcome::Skipped(Skip::KeyOfAnotherUser)));
    }
    let created = rotator.secrets.versions_created(&metadata.arn).await?;
    let Some(current_created) = created.get(&previous.current_version).copied() else {
        return Ok(Err(Outcome::Skipped(Skip::PromotionUnknown)));
    };
    Ok(Ok(Facts {
        status,
        last_use,
        promoted: decide::promotion(metadata.last_rotated, current_created),
        tag: decide::tag_of(&metadata.tags, key_id),
    }))
}

/// One decided visit: everything the action needs.
struct Visit<'a> {
    rotator: &'a Rotator,
    iam: Arc<dyn Iam>,
    arn: &'a str,
    previous: &'a Previous,
    facts: &'a Facts,
    settings: &'a Settings,
    now: SystemTime,
}

impl Visit<'_> {
    fn subject(&self) -> Subject<'_> {
        Subject {
            secret_arn: self.arn,
            user: &self.previous.user,
            key_id: &self.previous.key_id,
        }
    }

    async fn alarm(&self) -> Outcome {
        let (key_id, user) = (&self.previous.key_id, &self.previous.user);
        let last_use = describe_use(&self.facts.last_use);
        let deadline_days = self.settings.deadline.as_secs() / 86_400;
        error!(%key_id, %user, %last_use, deadline_days,
            "the previous access key is still in use past RETIRE_DEADLINE_DAYS: find its consumer by where it was last used and move it to AWSCURRENT");
        let mut detail = lifecycle::last_use(&self.facts.last_use);
        detail["deadlineDays"] = deadline_days.into();
        let event = lifecycle::event(lifecycle::STILL_IN_USE, &self.subject(), detail);
        lifecycle::publish(&*self.rotator.events, event).await;
        Outcome::Alarmed
    }

    async fn act(&self, decision: Decision) -> Result<Outcome, Problem> {
        let (key_id, now) = (self.previous.key_id.as_str(), self.now);
        match decision {
            Decision::Deactivate(why) => self.deactivate(why).await,
            Decision::MarkInactive => {
                tag(self.rotator, self.arn, key_id, Tag::InactiveSince(now)).await?;
                info!(%key_id, user = %self.previous.user, "the previous access key is Inactive: its quarantine starts now");
                Ok(Outcome::Marked)
            }
            Decision::MarkReactivated => {
                tag(self.rotator, self.arn, key_id, Tag::ReactivatedAt(now)).await?;
                info!(%key_id, user = %self.previous.user, "the previous access key was reactivated during its quarantine: it is retired again only once idle for RETIRE_IDLE_HOURS from now");
                Ok(Outcome::Waiting)
            }
            Decision::Delete => self.delete().await,
            Decision::Wait | Decision::Alarm => Ok(Outcome::Waiting),
        }
    }

    async fn deactivate(&self, why: Why) -> Result<Outcome, Problem> {
        let (key_id, user) = (self.previous.key_id.as_str(), &self.previous.user);
        let (reason, why) = match why {
            Why::Idle => ("idle", "unused for RETIRE_IDLE_HOURS"),
            Why::Deadline => (
                "deadline",
                "still in use at RETIRE_DEADLINE_DAYS, and RETIRE_ENFORCE_DEADLINE=true",
            ),
        };
        let inactive = KeyStatus::Inactive;
        self.iam
            .update_access_key(&user.user, key_id, inactive)
            .await?;
        let last_use = describe_use(&self.facts.last_use);
        info!(%key_id, %user, %last_use, why, "deactivated the previous access key");
        let idle_since = decide::idle_since(self.facts, self.now);
        let idle = self.now.duration_since(idle_since).unwrap_or_default();
        let hours = idle.as_secs_f64() / 3_600.0;
        metrics::emit(&[("PreviousKeyIdleHours", hours, metrics::Unit::None)]);
        let mut detail = lifecycle::last_use(&self.facts.last_use);
        detail["reason"] = reason.into();
        let event = lifecycle::event(lifecycle::DEACTIVATED, &self.subject(), detail);
        lifecycle::publish(&*self.rotator.events, event).await;
        tag(self.rotator, self.arn, key_id, Tag::InactiveSince(self.now)).await?;
        Ok(Outcome::Deactivated)
    }

    async fn delete(&self) -> Result<Outcome, Problem> {
        let (key_id, user) = (self.previous.key_id.as_str(), &self.previous.user);
        // A person may have reactivated it since it was read: delete only an Inactive key.
        let keys = self.iam.list_access_keys(&user.user).await?;
        if !keys
            .iter()
            .any(|k| k.id == key_id && k.status == KeyStatus::Inactive)
        {
            return Ok(Outcome::Skipped(Skip::KeyChanged));
        }
        match self.iam.delete_access_key(&user.user, key_id).await {
            Err(e) if !e.is_not_found() => return Err(e.into()),
            _ => {
                let last_use = describe_use(&self.facts.last_use);
                info!(%key_id, %user, %last_use, "deleted the previous access key: its quarantine is over")
            }
        }
        let used = lifecycle::last_use(&self.facts.last_use);
        let event = lifecycle::event(lifecycle::DELETED, &self.subject(), used);
        lifecycle::publish(&*self.rotator.events, event).await;
        untag(self.rotator, self.arn).await?;
        Ok(Outcome::Deleted)
    }
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

/// A visit that ended before a decision: a key found gone leaves no tag behind; a skip changes
/// nothing.
async fn untag_unless_skipped(
    rotator: &Rotator,
    metadata: &SecretMetadata,
    outcome: Outcome,
) -> Result<Outcome, Problem> {
    match outcome {
        Outcome::Skipped(_) => Ok(outcome),
        _ => untag_if_tagged(rotator, metadata, outcome).await,
    }
}
