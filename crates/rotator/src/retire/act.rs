//! The sweep's action on one secret, once decided (`visit.rs`): deactivate, mark, delete or raise
//! the alarm, each with its log line, metric and lifecycle event, and the bookkeeping tag.

use std::sync::Arc;
use std::time::SystemTime;

use tracing::{error, info};

use super::decide::{self, Decision, Facts, Settings, Tag, Why, INACTIVE_SINCE_TAG};
use super::previous::{Previous, Skip};
use crate::aws::{Iam, KeyStatus, SecretMetadata};
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

/// One decided visit: everything the action needs.
pub(super) struct Visit<'a> {
    pub(super) rotator: &'a Rotator,
    pub(super) iam: Arc<dyn Iam>,
    pub(super) arn: &'a str,
    pub(super) previous: &'a Previous,
    pub(super) facts: &'a Facts,
    pub(super) settings: &'a Settings,
    pub(super) now: SystemTime,
}

impl Visit<'_> {
    fn subject(&self) -> Subject<'_> {
        Subject {
            secret_arn: self.arn,
            user: &self.previous.user,
            key_id: &self.previous.key_id,
        }
    }

    pub(super) async fn alarm(&self) -> Outcome {
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

    pub(super) async fn act(&self, decision: Decision) -> Result<Outcome, Problem> {
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
pub(super) async fn untag_if_tagged(
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
