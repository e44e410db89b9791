//! What the sweep does to one previous key (§16, §18), decided from facts read from AWS and the
//! function's clock, nothing else: no state of our own to lose, and the same facts always give
//! the same decision, so a crash anywhere converges on the next sweep.
//!
//! | previous key | condition                                          | decision        |
//! |--------------|----------------------------------------------------|-----------------|
//! | Active       | unused for `idle` since max(last use, promotion, reactivation) | deactivate |
//! | Active       | `deadline` after max(promotion, reactivation), still in use | alarm, daily (deactivate if enforced) |
//! | Active       | otherwise                                          | wait            |
//! | Active       | tagged Inactive (a person reactivated it)          | tag it reactivated now: a whole idle time again |
//! | Inactive     | no inactive-since tag naming it                    | tag it now      |
//! | Inactive     | its quarantine is over (see [`quarantine_end`])    | delete          |
//! | Inactive     | otherwise                                          | wait            |
//!
//! The bookkeeping tag is written by the function, but anyone who may tag the secret can write
//! it too. So its date is believed only between the promotion and now (plus a minute's skew):
//! a date from the future would switch the deadline off, one from before the promotion would
//! shorten the quarantine. And the floor, `max(last use, promotion, reactivation) + idle +
//! quarantine`, is what no tag can move earlier: losing the tag only restarts the quarantine.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_iam::primitives::{DateTime, DateTimeFormat};

use crate::aws::{KeyLastUse, KeyStatus};
use crate::config::Config;
pub use crate::overrides::INACTIVE_SINCE_TAG;
use crate::overrides::{Effective, MAX_DEADLINE_DAYS};
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

/// How far ahead of the function's clock a bookkeeping date may be and still be believed: the
/// clocks of Lambda and of whoever wrote it need not agree to the second.
pub const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// `now` decides the key's fate; `alarm_clock` (the sweep's start, the same for every secret of
/// a sweep) only whether today's alarm is due.
pub fn decide(
    facts: &Facts,
    settings: &Settings,
    now: SystemTime,
    alarm_clock: SystemTime,
) -> Decision {
    let tag = believed(facts, now);
    match (facts.status, tag) {
        (KeyStatus::Active, Some(Tag::InactiveSince(_))) => Decision::MarkReactivated,
        (KeyStatus::Active, _) => {
            let deadline = deadline(facts, settings, now);
            if idle_since(facts, now) + settings.idle <= now {
                Decision::Deactivate(Why::Idle)
            } else if deadline <= now && settings.enforce_deadline {
                Decision::Deactivate(Why::Deadline)
            } else if deadline <= now && alarm_due(alarm_clock, deadline, settings.interval) {
                Decision::Alarm
            } else {
                Decision::Wait
            }
        }
        (KeyStatus::Inactive, Some(Tag::InactiveSince(_))) => {
            if quarantine_end(facts, settings, now) <= now {
                Decision::Delete
            } else {
                Decision::Wait
            }
        }
        (KeyStatus::Inactive, _) => Decision::MarkInactive,
    }
}

/// The bookkeeping tag, if its date lies between the promotion and now (plus [`CLOCK_SKEW`]);
/// any other date was not written by the sweep of this key, and counts as no tag.
pub fn believed(facts: &Facts, now: SystemTime) -> Option<Tag> {
    let at = match facts.tag? {
        Tag::InactiveSince(at) | Tag::ReactivatedAt(at) => at,
    };
    (facts.promoted <= at && at <= now + CLOCK_SKEW).then_some(facts.tag?)
}

/// The reactivation the sweep recorded, while it may still move the rules: up to
/// [`MAX_DEADLINE_DAYS`] after the promotion. Whoever may tag the secret can write a believable
/// reactivation every day; past that horizon it postpones nothing (§18).
fn reactivated(facts: &Facts, now: SystemTime) -> Option<SystemTime> {
    match believed(facts, now) {
        Some(Tag::ReactivatedAt(at)) if now < horizon(facts) => Some(at),
        _ => None,
    }
}

fn horizon(facts: &Facts) -> SystemTime {
    facts.promoted + Duration::from_secs(MAX_DEADLINE_DAYS * DAY.as_secs())
}

/// Since when the key counts as unused: its last use, but never before the promotion (before it,
/// the key was current and its consumers had no reason to move) nor before a reactivation (a
/// consumer that showed up may not be in IAM's record yet).
pub fn idle_since(facts: &Facts, now: SystemTime) -> SystemTime {
    let used = facts.last_use.at.unwrap_or(UNIX_EPOCH);
    let reactivated = reactivated(facts, now).unwrap_or(UNIX_EPOCH);
    used.max(facts.promoted).max(reactivated)
}

/// When a key still in use raises the alarm (or, enforced, is deactivated): `deadline` after the
/// promotion, or after a reactivation, whichever is later.
pub fn deadline(facts: &Facts, settings: &Settings, now: SystemTime) -> SystemTime {
    let from = reactivated(facts, now).unwrap_or(UNIX_EPOCH);
    let own = facts.promoted + settings.deadline;
    (facts.promoted.max(from) + settings.deadline).min(own.max(horizon(facts)))
}

/// When an Inactive previous key may be deleted: `quarantine` after the sweep first saw it
/// Inactive (`now` when it has not yet), and never before the floor, idle + quarantine after it
/// went idle. The sweep deletes it then, and createSecret refuses to delete it before (§18).
pub fn quarantine_end(facts: &Facts, settings: &Settings, now: SystemTime) -> SystemTime {
    let since = match believed(facts, now) {
        Some(Tag::InactiveSince(since)) => since,
        _ => now,
    };
    let floor = idle_since(facts, now) + settings.idle + settings.quarantine;
    (since + settings.quarantine).max(floor)
}

/// When the current version became AWSCURRENT, never earlier than it did: the later of the last
/// rotation's completion (a hand-put value leaves it alone) and the version's CreatedDate (a
/// rotation writes its version at its start, before the promotion).
pub fn promotion(last_rotated: Option<SystemTime>, current_created: SystemTime) -> SystemTime {
    last_rotated.map_or(current_created, |at| at.max(current_created))
}

/// Under `retire`, why createSecret may not delete the previous key to make room (§16, §18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepPrevious {
    /// Used, as IAM reports it, within `idle` (or reactivated within it): a consumer may not have
    /// moved to AWSCURRENT yet.
    InUse,
    /// Inactive, and its quarantine is not over: kept until then, as the sweep keeps it.
    InQuarantine { ends: SystemTime },
}

/// Whether createSecret may delete the previous key now: `None` when it may.
pub fn keep_previous(facts: &Facts, settings: &Settings, now: SystemTime) -> Option<KeepPrevious> {
    match facts.status {
        // Active under the sweep's record of its quarantine: a person reactivated it for a
        // consumer that showed up, and the sweep records that at its next visit.
        KeyStatus::Active
            if matches!(believed(facts, now), Some(Tag::InactiveSince(_)))
                && now < horizon(facts) =>
        {
            Some(KeepPrevious::InUse)
        }
        KeyStatus::Active => {
            let used = facts.last_use.at.unwrap_or(UNIX_EPOCH);
            let quiet_since = used.max(reactivated(facts, now).unwrap_or(UNIX_EPOCH));
            (quiet_since + settings.idle > now).then_some(KeepPrevious::InUse)
        }
        KeyStatus::Inactive => {
            let ends = quarantine_end(facts, settings, now);
            (ends > now).then_some(KeepPrevious::InQuarantine { ends })
        }
    }
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
