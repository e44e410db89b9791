//! What the sweep does to one previous key (§16), decided from facts read from AWS and the
//! function's clock, nothing else: no state of our own to lose, and the same facts always give
//! the same decision, so a crash anywhere converges on the next sweep.
//!
//! | previous key | condition                                          | decision        |
//! |--------------|----------------------------------------------------|-----------------|
//! | Active       | unused for `idle` since max(last use, promotion)   | deactivate      |
//! | Active       | `deadline` after the promotion, still in use       | alarm, daily (deactivate if enforced) |
//! | Active       | otherwise                                          | wait            |
//! | Active       | tagged Inactive (a person reactivated it)          | tag it reactivated now: a whole idle time again, no enforced deadline |
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
use crate::overrides::Effective;
pub use crate::overrides::INACTIVE_SINCE_TAG;
use crate::secret_value::format_date;

const DAY: Duration = Duration::from_secs(24 * 3_600);

/// The retirement settings (§11) for one secret: the configuration, with its tags over it.
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
    /// The function's configuration, with the idle time and deadline that apply to the secret.
    pub fn new(config: &Config, effective: &Effective) -> Self {
        Settings {
            idle: effective.idle,
            quarantine: config.retire_quarantine,
            deadline: effective.deadline,
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
    /// What the bookkeeping tag says of this key, if it names it.
    pub tag: Option<Tag>,
}

/// The bookkeeping tag's two forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// `<key id> <time>`: the sweep first saw the key Inactive then.
    InactiveSince(SystemTime),
    /// `<key id> reactivated <time>`: the sweep first saw the key Active again then, after a
    /// person reactivated it during its quarantine.
    ReactivatedAt(SystemTime),
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
    /// Active again during its quarantine: a person reactivated it for a consumer that showed up.
    /// Record when, so that the key gets a whole idle time from now (IAM may not show that
    /// consumer's use for hours) and is never deactivated by an enforced deadline.
    MarkReactivated,
    Delete,
}

/// `now` decides the key's fate; `alarm_clock` (the sweep's start, the same for every secret of
/// a sweep) only whether today's alarm is due.
pub fn decide(
    facts: &Facts,
    settings: &Settings,
    now: SystemTime,
    alarm_clock: SystemTime,
) -> Decision {
    let reactivated = match facts.tag {
        Some(Tag::ReactivatedAt(at)) => Some(at),
        _ => None,
    };
    let idle_since = idle_since(facts).max(reactivated.unwrap_or(UNIX_EPOCH));
    match (facts.status, facts.tag) {
        (KeyStatus::Active, Some(Tag::InactiveSince(_))) => Decision::MarkReactivated,
        (KeyStatus::Active, _) => {
            let deadline = facts.promoted + settings.deadline;
            if idle_since + settings.idle <= now {
                Decision::Deactivate(Why::Idle)
            } else if deadline <= now && settings.enforce_deadline && reactivated.is_none() {
                Decision::Deactivate(Why::Deadline)
            } else if deadline <= now && alarm_due(alarm_clock, deadline, settings.interval) {
                Decision::Alarm
            } else {
                Decision::Wait
            }
        }
        (KeyStatus::Inactive, Some(Tag::InactiveSince(since))) => {
            let floor = idle_since + settings.idle + settings.quarantine;
            if since + settings.quarantine <= now && floor <= now {
                Decision::Delete
            } else {
                Decision::Wait
            }
        }
        (KeyStatus::Inactive, _) => Decision::MarkInactive,
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

/// The bookkeeping tag's value for `key_id` in the form `tag` (whole seconds: people read it too).
pub fn tag_value(key_id: &str, tag: Tag) -> String {
    let (word, at) = match tag {
        Tag::InactiveSince(at) => ("", at),
        Tag::ReactivatedAt(at) => (" reactivated", at),
    };
    let seconds = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let at = format_date(UNIX_EPOCH + Duration::from_secs(seconds));
    format!("{key_id}{word} {at}")
}

/// What the bookkeeping tag says of `key_id`. A tag that does not parse, or names another key, is
/// none: a quarantine then starts again, which only delays a deletion.
pub fn tag_of(tags: &[(String, String)], key_id: &str) -> Option<Tag> {
    let (_, value) = tags.iter().find(|(k, _)| k == INACTIVE_SINCE_TAG)?;
    let words: Vec<&str> = value.split_whitespace().collect();
    let (named, reactivated, at) = match words.as_slice() {
        [named, at] => (*named, false, *at),
        [named, "reactivated", at] => (*named, true, *at),
        _ => return None,
    };
    let at = DateTime::from_str(at, DateTimeFormat::DateTime).ok()?;
    let at = SystemTime::try_from(at).ok()?;
    (named == key_id).then_some(if reactivated {
        Tag::ReactivatedAt(at)
    } else {
        Tag::InactiveSince(at)
    })
}
