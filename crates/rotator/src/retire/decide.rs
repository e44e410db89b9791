//! What the sweep does to one previous key (§16), decided from facts read from AWS and the
//! function's clock, nothing else: no state of our own to lose, and the same facts always give
//! the same decision, so a crash anywhere converges on the next sweep.
//!
//! | previous key | condition                                          | decision        |
//! |--------------|----------------------------------------------------|-----------------|
//! | Active       | unused for `idle` since max(last use, promotion)   | deactivate      |
//! | Active       | `deadline` after the promotion, still in use       | alarm, daily (deactivate if enforced) |
//! | Active       | otherwise                                          | wait            |
//! | Inactive     | no inactive-since tag naming it                    | tag it now      |
//! | Inactive     | tagged `quarantine` ago, and the floor passed      | delete          |
//! | Inactive     | otherwise                                          | wait            |
//!
//! The floor, `max(last use, promotion) + idle + quarantine`, is what a lost or forged tag cannot
//! move earlier: losing the tag only restarts the quarantine.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_iam::primitives::{DateTime, DateTimeFormat};

use crate::aws::{KeyLastUse, KeyStatus};
use crate::config::Config;
use crate::secret_value::format_date;

/// The secret tag recording since when the sweep has seen its previous key Inactive: IAM keeps no
/// deactivation date. Its value is `<AccessKeyId> <RFC 3339 time>`, so a tag left from an older
/// key never applies to a new one. The function may write this tag key and no other.
pub const INACTIVE_SINCE_TAG: &str = "iam-key-rotator:previous-key-inactive-since";

const DAY: Duration = Duration::from_secs(24 * 3_600);

/// The retirement settings (§11): from the configuration today, per secret by its tags later.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub idle: Duration,
    pub quarantine: Duration,
    pub deadline: Duration,
    pub enforce_deadline: bool,
    /// How often the sweep runs: the width of the daily alarm window.
    pub interval: Duration,
}

impl Settings {
    pub fn from_config(config: &Config) -> Self {
        Settings {
            idle: config.retire_idle,
            quarantine: config.retire_quarantine,
            deadline: config.retire_deadline,
            enforce_deadline: config.retire_enforce_deadline,
            interval: config.sweep_interval,
        }
    }
}

/// What the sweep knows of one previous key when it decides.
#[derive(Debug, Clone)]
pub struct Facts {
    pub status: KeyStatus,
    pub last_use: KeyLastUse,
    /// When the current version became AWSCURRENT, as late as AWS's dates allow (see `visit.rs`).
    pub promoted: SystemTime,
    /// The inactive-since tag's time, when the tag names this key.
    pub inactive_since: Option<SystemTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Unused for `idle`.
    Idle,
    /// Still in use at the deadline, with the deadline enforced.
    Deadline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do yet: in use, or Inactive within its quarantine.
    Wait,
    Deactivate(Why),
    /// Still in use past the deadline: say so (once a day), change nothing.
    Alarm,
    /// Inactive, and the sweep has not recorded since when: record it now.
    MarkInactive,
    Delete,
}

pub fn decide(facts: &Facts, settings: &Settings, now: SystemTime) -> Decision {
    let idle_since = idle_since(facts);
    match facts.status {
        KeyStatus::Active => {
            let deadline = facts.promoted + settings.deadline;
            if idle_since + settings.idle <= now {
                Decision::Deactivate(Why::Idle)
            } else if deadline <= now && settings.enforce_deadline {
                Decision::Deactivate(Why::Deadline)
            } else if deadline <= now && alarm_due(now, deadline, settings.interval) {
                Decision::Alarm
            } else {
                Decision::Wait
            }
        }
        KeyStatus::Inactive => match facts.inactive_since {
            None => Decision::MarkInactive,
            Some(since) => {
                let floor = idle_since + settings.idle + settings.quarantine;
                if since + settings.quarantine <= now && floor <= now {
                    Decision::Delete
                } else {
                    Decision::Wait
                }
            }
        },
    }
}

/// Since when the key counts as unused: its last use, but never before the promotion (before it,
/// the key was current and its consumers had no reason to move).
pub fn idle_since(facts: &Facts) -> SystemTime {
    facts
        .last_use
        .at
        .map_or(facts.promoted, |at| at.max(facts.promoted))
}

/// Whether `now` falls in the one sweep interval of each day, counted from the deadline, in which
/// the alarm is raised: once a day, with no record of when it was last raised.
pub fn alarm_due(now: SystemTime, deadline: SystemTime, interval: Duration) -> bool {
    let past = now.duration_since(deadline).unwrap_or_default();
    interval >= DAY || Duration::from_secs(past.as_secs() % DAY.as_secs()) < interval
}

/// The inactive-since tag's value for `key_id`, Inactive since `at`.
pub fn inactive_since_value(key_id: &str, at: SystemTime) -> String {
    // Whole seconds: the tag is read by people too.
    let seconds = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    format!(
        "{key_id} {}",
        format_date(UNIX_EPOCH + Duration::from_secs(seconds))
    )
}

/// The time of the inactive-since tag if it names `key_id`. A tag that does not parse, or names
/// another key, is none: the quarantine then starts again, which only delays a deletion.
pub fn inactive_since_of(tags: &[(String, String)], key_id: &str) -> Option<SystemTime> {
    let (_, value) = tags.iter().find(|(k, _)| k == INACTIVE_SINCE_TAG)?;
    let (named, at) = value.trim().split_once(' ')?;
    let at = DateTime::from_str(at.trim(), DateTimeFormat::DateTime).ok()?;
    (named == key_id).then(|| SystemTime::try_from(at).ok())?
}
