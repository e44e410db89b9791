//! The properties (contract §18). Each `always` property is a bit that the call breaking it sets,
//! judged with what was true at that moment (the ground truth of uses, promotions, bindings), not
//! with what the function believed. The liveness ones ("eventually ...") are bounded: the sweep
//! that runs past a deadline must act on it, so a visit that decides in such a state carries an
//! obligation ([`Judge`]) checked when it ends.

use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::overrides;
use iam_key_rotator::Config;

use crate::calls::{Invocation, Judge, Why};
use crate::view;
use crate::world::{Owner, State, TagDate, Value, CURRENT, DAY, LAG, PREVIOUS};

/// The function or the fleet deleted or deactivated the key AWSCURRENT holds.
pub const CURRENT_TAKEN: u32 = 1 << 0;
/// The function promoted a version whose key is not an Active key of the bound user.
pub const PROMOTED_BROKEN: u32 = 1 << 1;
/// CreateAccessKey met the two-key limit.
pub const LIMIT_EXCEEDED: u32 = 1 << 2;
/// A key changed for a user not bound to the secret (when decided).
pub const UNBOUND_CHANGED: u32 = 1 << 3;
/// A key used within the idle time (before now − the lag), or reactivated within it under the
/// sweep's record of its quarantine, was deactivated or deleted.
pub const USED_KEY_RETIRED: u32 = 1 << 4;
/// An Inactive previous key deleted before its quarantine (and floor) ended.
pub const QUARANTINE_CUT: u32 = 1 << 5;
/// An orphan deleted although a consumer used it (outside the one exception: a use in the last
/// hours of a key older than the lag).
pub const ORPHAN_USED: u32 = 1 << 6;
/// An enforced deadline applied before the deadline.
pub const DEADLINE_EARLY: u32 = 1 << 7;
/// A sweep past an enforced deadline left the previous key Active.
pub const ENFORCEMENT_MISSED: u32 = 1 << 8;
/// A sweep in the day's alarm window past the deadline raised no alarm.
pub const ALARM_MISSED: u32 = 1 << 9;
/// The function wrote a mirror a key that never was AWSCURRENT (§19).
pub const MIRROR_NOT_CURRENT: u32 = 1 << 10;
/// The function retired a key (but by an enforced deadline) that the mirror held (§19): its
/// consumers lose their key.
pub const MIRROR_KEY_RETIRED: u32 = 1 << 11;

/// The `always` properties: name and bit.
pub const ALWAYS: [(&str, u32); 12] = [
    ("the current key is never taken", CURRENT_TAKEN),
    (
        "a promoted key is the bound user's and Active",
        PROMOTED_BROKEN,
    ),
    ("a user never has more than two keys", LIMIT_EXCEEDED),
    (
        "no key changes for a user not bound to the secret",
        UNBOUND_CHANGED,
    ),
    (
        "a key used within the idle time is never retired",
        USED_KEY_RETIRED,
    ),
    (
        "an Inactive key is kept through its quarantine",
        QUARANTINE_CUT,
    ),
    (
        "the orphan rule never deletes a key a consumer used",
        ORPHAN_USED,
    ),
    ("an enforced deadline never applies early", DEADLINE_EARLY),
    (
        "past an enforced deadline the sweep deactivates the key",
        ENFORCEMENT_MISSED,
    ),
    (
        "past the deadline the sweep raises the daily alarm",
        ALARM_MISSED,
    ),
    (
        "a mirror is only ever written a key that was AWSCURRENT",
        MIRROR_NOT_CURRENT,
    ),
    (
        "no key is retired while the mirror holds it (but by an enforced deadline)",
        MIRROR_KEY_RETIRED,
    ),
];

pub const SEEN_ROTATION: u32 = 1 << 0;
pub const SEEN_ALARM: u32 = 1 << 1;
pub const SEEN_SWEEP_DELETE: u32 = 1 << 2;
pub const SEEN_ENFORCED: u32 = 1 << 3;
pub const SEEN_MIRROR: u32 = 1 << 4;
pub const SEEN_IDLE_RETIRED: u32 = 1 << 5;

/// The `sometimes` properties: what each world must be able to reach, so that none of the above
/// holds only because nothing ever happens.
pub const SOMETIMES: [(&str, u32); 6] = [
    ("a rotation completes", SEEN_ROTATION),
    ("the alarm fires", SEEN_ALARM),
    ("the sweep deletes a key", SEEN_SWEEP_DELETE),
    ("an enforced deadline deactivates a key", SEEN_ENFORCED),
    ("the function writes the mirror", SEEN_MIRROR),
    ("the sweep deactivates an idle key", SEEN_IDLE_RETIRED),
];

/// A key's bit in [`crate::world::Truth::ever_current`].
pub fn bit(key: u8) -> u64 {
    1 << (key % 64)
}

/// The obligations of a sweep's visit deciding in `s`. Only for a secret as rotations left it (a
/// person's edits to its values, labels or keys give the sweep its reasons to stay away).
pub fn obligations(s: &State, config: &Config) -> Judge {
    let Some((previous, deadline)) = as_rotated(s, config) else {
        return Judge::default();
    };
    let past = s.now >= deadline;
    let (settings, _) = overrides::effective(config, &view::secret_tags(s));
    let idle = secs(settings.idle);
    let quiet_since = previous.reported.unwrap_or(0).max(s.truth.promoted);
    let in_use = quiet_since + idle > s.now;
    let interval = secs(config.sweep_interval);
    let window = past && (s.now - deadline) % DAY < interval;
    Judge {
        deactivate: (past && config.retire_enforce_deadline).then_some(previous.id),
        alarm: window && in_use && !config.retire_enforce_deadline,
    }
}

/// At the visit's end (not cut short by a re-read that found the secret changed).
pub fn check_obligations(judge: Judge, s: &mut State, inv: &Invocation) {
    if inv.cut {
        return;
    }
    if let Some(key) = judge.deactivate {
        // Deactivated by this visit (a person may reactivate it since), or Inactive now.
        let done = inv.deactivated == Some(key) || !s.key(key).is_some_and(|k| k.active);
        if !done {
            s.truth.violations |= ENFORCEMENT_MISSED;
        }
    }
    if judge.alarm && !inv.alarmed {
        s.truth.violations |= ALARM_MISSED;
    }
}

/// The previous key and its deadline, for a secret as rotations left it: bound, values and
/// labels untouched by hand, AWSCURRENT and AWSPREVIOUS holding two keys of the bound user, both
/// Active, the current one the newer, and no rotation that has made its key.
fn as_rotated<'s>(s: &'s State, config: &Config) -> Option<(&'s crate::world::Key, u32)> {
    if !s.bound || s.truth.hand_edited || config.previous_key_action != PreviousKeyAction::Retire {
        return None;
    }
    let pair = |label| match s.labelled(label)?.value {
        Value::Pair(Owner::Bound, key) => s.key(key),
        _ => None,
    };
    let (current, previous) = (pair(CURRENT)?, pair(PREVIOUS)?);
    let fine = current.id != previous.id
        && current.active
        && previous.active
        && current.created > previous.created
        && s.pending().is_none_or(|v| v.value == Value::Empty);
    fine.then(|| (previous, deadline(s, config, previous.id)))
}

/// The true deadline of the previous key `key`: the promotion, or its reactivation, whichever
/// is later, plus the deadline that applies. The function learns of a reactivation only when a
/// sweep finds the key Active under the quarantine it recorded (IAM keeps no history: a key
/// deactivated and reactivated between two sweeps was never reactivated, as far as anyone can
/// tell); that sweep records it, so the deadline counts from now while one is due.
fn deadline(s: &State, config: &Config, key: u8) -> u32 {
    let (settings, _) = overrides::effective(config, &view::secret_tags(s));
    let due = s.key(key).is_some_and(|k| k.active)
        && s.tags
            .bookkeeping
            .is_some_and(|b| b.key == key && !b.reactivated && matches!(b.date, TagDate::At(_)));
    let reactivated = match s.truth.reactivated {
        _ if due => s.now,
        Some((k, at)) if k == key => at,
        _ => 0,
    };
    s.truth.promoted.max(reactivated) + secs(settings.deadline)
}

pub fn secs(d: std::time::Duration) -> u32 {
    d.as_secs() as u32
}

/// A key about to be deleted (`deleted`) or deactivated for `why`.
pub fn judge_retirement(
    s: &mut State,
    inv: &Invocation,
    config: &Config,
    (key, why): (u8, Why),
    deleted: bool,
) {
    let Some(k) = s.key(key).cloned() else {
        return;
    };
    judge_key_change(s, inv, Some(key));
    let now = s.now;
    let mut broken = 0;
    if s.key_in(CURRENT) == Some(key) && !s.truth.hand_edited && why != Why::Rollback {
        broken |= CURRENT_TAKEN;
    }
    let mirrored = s.mirror.is_some_and(|m| m.holds == Some(key));
    if mirrored && !matches!(why, Why::Deadline | Why::Rollback | Why::Orphan) {
        broken |= MIRROR_KEY_RETIRED;
    }
    if why == Why::Idle && !deleted {
        s.truth.seen |= SEEN_IDLE_RETIRED;
    }
    match why {
        // createSecret's previous key is judged at its re-read just before the delete.
        Why::Idle if used_within_idle(&k, config, now) => broken |= USED_KEY_RETIRED,
        // Judged at the re-list just before (see `judge_quarantine`).
        Why::PreviousInactive | Why::Quarantine => {}
        Why::Orphan => {
            let young = now < k.created + LAG;
            let used = k.last_true_use().is_some();
            if used && (young || k.last_use_by(now.saturating_sub(LAG)).is_some()) {
                broken |= ORPHAN_USED;
            }
        }
        Why::Deadline => s.truth.seen |= SEEN_ENFORCED,
        _ => {}
    }
    if deleted && why == Why::Quarantine {
        s.truth.seen |= SEEN_SWEEP_DELETE;
    }
    s.truth.violations |= broken;
}

/// The sweep decides to deactivate `key` for its enforced deadline: never before it. Judged when
/// decided: a person who reactivates the key during the visit's last calls sees it deactivated
/// once more (the exception; the next sweep records the reactivation).
pub fn judge_deadline_decision(s: &mut State, config: &Config, key: u8) {
    if s.now < deadline(s, config, key) {
        s.truth.violations |= DEADLINE_EARLY;
    }
}

/// Used within the idle time as IAM can have reported it (before now − the lag), or reactivated
/// within it under the sweep's record of its quarantine: either owes the key a whole idle time.
fn used_within_idle(k: &crate::world::Key, config: &Config, now: u32) -> bool {
    let idle = secs(config.retire_idle);
    let used = k.last_use_by(now.saturating_sub(LAG));
    used.or(k.reactivated).is_some_and(|u| u + idle > now)
}

/// The Active previous key createSecret is about to delete, at its re-read just before the
/// delete (IAM has no conditional delete: a person racing that last read is the exception).
pub fn judge_idle(s: &mut State, config: &Config, key: u8) {
    if s.key(key)
        .is_some_and(|k| used_within_idle(k, config, s.now))
    {
        s.truth.violations |= USED_KEY_RETIRED;
    }
}

/// An Inactive key about to be deleted, at the invocation's last read of it (the re-list just
/// before the delete): its quarantine and floor must be over. IAM has no conditional delete, so
/// a person who reactivates it between that read and the delete is the exception.
pub fn judge_quarantine(s: &mut State, config: &Config, key: u8) {
    let Some(k) = s.key(key) else {
        return;
    };
    let (now, idle, quarantine) = (
        s.now,
        secs(config.retire_idle),
        secs(config.retire_quarantine),
    );
    // Uses IAM can have reported (before now − the lag): the last hours are the exception.
    let since_use = k.last_use_by(now.saturating_sub(LAG)).unwrap_or(0);
    let since_use = since_use.max(s.truth.promoted);
    let inactive = k.inactive_since.unwrap_or(now);
    if now < since_use + idle + quarantine || now < inactive + quarantine {
        s.truth.violations |= QUARANTINE_CUT;
    }
}

/// Any change to a key (`None`: a new one) for the invocation's user: that user must have been
/// bound to the secret when the invocation decided (§15).
pub fn judge_key_change(s: &mut State, inv: &Invocation, key: Option<u8>) {
    let owner = key.and_then(|k| s.key(k)).map_or(inv.user, |k| k.owner);
    if owner == Owner::Other || !inv.bound_when_decided {
        s.truth.violations |= UNBOUND_CHANGED;
    }
}

/// AWSCURRENT is about to move to `to`: its key must be an Active key of the bound user, unless a
/// person changed things by hand during the rotation.
pub fn judge_promotion(s: &mut State, to: u8) {
    let fine = match s.version(to).map(|v| v.value) {
        Some(Value::Pair(Owner::Bound, key)) => s.key(key).is_some_and(|k| k.active),
        _ => false,
    };
    if !fine && !s.truth.hand_edited {
        s.truth.violations |= PROMOTED_BROKEN;
    }
}
