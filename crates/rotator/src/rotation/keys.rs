//! The key policy, all of it: which of a user's keys this secret owns, and which one goes when.
//!
//! | key                                   | createSecret        | finishSecret               |
//! |---------------------------------------|---------------------|----------------------------|
//! | AWSCURRENT's key                      | kept, never touched | kept (it becomes previous) |
//! | AWSPREVIOUS's key                     | deleted (had its grace period; under `retire` only once idle, or past its quarantine: `retire::decide::keep_previous`) | - |
//! | key just moved to AWSPREVIOUS         | -                   | PREVIOUS_KEY_ACTION        |
//! | orphan of this rotation (IAM dates it after the start, in no labelled version, never used) | deleted | - |
//! | anything else                         | never touched       | never touched              |

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::aws::AccessKeyInfo;
use crate::config::PreviousKeyAction;

/// IAM allows two access keys per user.
pub const MAX_KEYS_PER_USER: usize = 2;

/// What we know about the secret's history when judging a user's keys in createSecret.
#[derive(Debug, Default)]
pub struct Evidence {
    /// The key in the AWSPREVIOUS version, if any.
    pub previous_key: Option<String>,
    /// Every key named by a labelled version (AWSCURRENT, AWSPREVIOUS, custom labels).
    pub referenced: HashSet<String>,
    /// When this rotation started: the pending version's CreatedDate. `None` if unknown, in which
    /// case no key counts as an orphan.
    pub rotation_started: Option<SystemTime>,
    /// The orphan candidates IAM shows were never used (GetAccessKeyLastUsed): an orphan is a key
    /// nobody ever had, so a key that ever authenticated is not one.
    pub never_used: HashSet<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteReason {
    /// The AWSPREVIOUS version's key: it had a whole rotation period of grace.
    Previous,
    /// Made by an earlier attempt of this very rotation, which died before storing it.
    Orphan,
}

impl DeleteReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DeleteReason::Previous => "previous key, its grace period is over",
            DeleteReason::Orphan => "orphan of an earlier attempt of this rotation",
        }
    }
}

/// How createSecret makes room for the new key.
#[derive(Debug, PartialEq, Eq)]
pub struct RoomPlan {
    pub delete: Vec<(String, DeleteReason)>,
    /// Keys that are not ours: left alone, whatever happens.
    pub foreign: Vec<String>,
}

/// Sorts the user's keys other than the current one. `Err` holds the foreign keys when, even
/// after deleting what is ours, no slot is free: then nothing may be deleted at all.
pub fn plan_room(
    keys: &[AccessKeyInfo],
    current_key: Option<&str>,
    evidence: &Evidence,
) -> Result<RoomPlan, Vec<String>> {
    let mut plan = RoomPlan {
        delete: Vec::new(),
        foreign: Vec::new(),
    };
    for key in keys.iter().filter(|k| Some(k.id.as_str()) != current_key) {
        if evidence.previous_key.as_deref() == Some(key.id.as_str()) {
            plan.delete.push((key.id.clone(), DeleteReason::Previous));
        } else if is_orphan(key, evidence) {
            plan.delete.push((key.id.clone(), DeleteReason::Orphan));
        } else {
            plan.foreign.push(key.id.clone());
        }
    }
    if keys.len() - plan.delete.len() >= MAX_KEYS_PER_USER {
        return Err(plan.foreign);
    }
    Ok(plan)
}

/// True when there are keys to judge beyond the current one, so the evidence is worth reading.
pub fn needs_evidence(keys: &[AccessKeyInfo], current_key: Option<&str>) -> bool {
    keys.iter().any(|k| Some(k.id.as_str()) != current_key)
}

/// IAM reports CreateDate in whole seconds, Secrets Manager's CreatedDate has milliseconds. A key
/// whose CreateDate is the very second the rotation started may have been made just before it, by
/// someone else: it is not ours. Only a key IAM dates strictly after the start is. (createSecret
/// waits for the next second before it creates a key, see [`wait_before_creating`], so the keys it
/// makes are always dated after the start.)
fn is_orphan(key: &AccessKeyInfo, evidence: &Evidence) -> bool {
    is_candidate(key, evidence) && evidence.never_used.contains(&key.id)
}

fn is_candidate(key: &AccessKeyInfo, evidence: &Evidence) -> bool {
    let Some(started) = evidence.rotation_started else {
        return false;
    };
    key.created > started && !evidence.referenced.contains(&key.id)
}

/// The keys that are orphans of this rotation but for the proof that nobody ever used them:
/// createSecret asks IAM about these, and only these.
pub fn orphan_candidates(
    keys: &[AccessKeyInfo],
    current_key: Option<&str>,
    evidence: &Evidence,
) -> Vec<String> {
    keys.iter()
        .filter(|k| Some(k.id.as_str()) != current_key)
        .filter(|k| evidence.previous_key.as_deref() != Some(k.id.as_str()))
        .filter(|k| is_candidate(k, evidence))
        .map(|k| k.id.clone())
        .collect()
}

/// Allowance for the clocks of Lambda, Secrets Manager and IAM not agreeing to the millisecond.
const CLOCK_MARGIN: Duration = Duration::from_millis(100);

/// How long createSecret waits, from `now`, before CreateAccessKey: until the next whole second
/// (plus a margin). The rotation started before this invocation, so the new key's CreateDate, in
/// whole seconds, is then later than the start, and an earlier attempt's orphan is always
/// recognised as one. At most 1.1 s.
pub fn wait_before_creating(now: SystemTime) -> Duration {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    Duration::from_secs(since_epoch.as_secs() + 1) + CLOCK_MARGIN - since_epoch
}

pub const KEEP_REASON: &str = "PREVIOUS_KEY_ACTION=keep: it stays active until the next rotation";
pub const RETIRE_REASON: &str =
    "PREVIOUS_KEY_ACTION=retire: it stays active until it has gone unused for RETIRE_IDLE_HOURS";

/// How late IAM may report a key's use (GetAccessKeyLastUsed): about 4 hours, by its own
/// documentation. Within it, "never used" proves nothing (§18).
pub const LAST_USE_LAG: Duration = Duration::from_secs(4 * 3_600);

/// What IAM's record proves of an orphan candidate (§6 rule 4, §18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrphanProof {
    /// Older than the lag and never used: nobody ever had it.
    NeverUsed,
    /// Used: someone had it. Never an orphan.
    Used,
    /// Younger than the lag and no use reported yet: a use may still be on its way. Provable
    /// unused (or not) at `provable_at`.
    TooRecent { provable_at: SystemTime },
}

/// Whether a key made at `created`, last used `last_used` as IAM reports it, is proven unused at
/// `now`.
pub fn orphan_proof(
    created: SystemTime,
    last_used: Option<SystemTime>,
    now: SystemTime,
) -> OrphanProof {
    let provable_at = created + LAST_USE_LAG;
    match last_used {
        Some(_) => OrphanProof::Used,
        None if now < provable_at => OrphanProof::TooRecent { provable_at },
        None => OrphanProof::NeverUsed,
    }
}

/// What finishSecret does to the key that just left AWSCURRENT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviousKeyStep {
    Deactivate(String),
    Delete(String),
    /// Nothing to do, and why (logged as the decision).
    LeaveAlone(&'static str),
}

/// Decides from the secret's versions alone, without listing the user's keys: both actions are
/// idempotent and scoped to the user (IAM answers NoSuchEntity for a key that is gone or is not
/// the user's, which the caller takes as "nothing to do"), so a listing would only cost a call.
pub fn previous_key_step(
    action: PreviousKeyAction,
    previous_key: &str,
    current_key: Option<&str>,
) -> PreviousKeyStep {
    if Some(previous_key) == current_key {
        return PreviousKeyStep::LeaveAlone("the previous key is also the current key");
    }
    match action {
        PreviousKeyAction::Keep => PreviousKeyStep::LeaveAlone(KEEP_REASON),
        PreviousKeyAction::Retire => PreviousKeyStep::LeaveAlone(RETIRE_REASON),
        PreviousKeyAction::Deactivate => PreviousKeyStep::Deactivate(previous_key.to_owned()),
        PreviousKeyAction::Delete => PreviousKeyStep::Delete(previous_key.to_owned()),
    }
}
