//! Per-secret settings (§16): a secret's tags may set, for that secret alone, what happens to its
//! previous key and the retirement's idle time and deadline, over the function's configuration.
//!
//! **Gentler only.** Whoever may tag a secret is not trusted with its consumers (a tagging role
//! often cannot even write the value): a tag may keep the previous key longer than the function
//! would, never shorter. An action harsher than the function's, or an idle time or deadline
//! shorter than its, is refused. Harshness, most first: delete, deactivate, keep (deletes an
//! AWSPREVIOUS key at the next rotation, used or not), retire.
//!
//! **A bad tag changes nothing** (§18). A tag with the `iam-key-rotator:` prefix (in any case)
//! that is not one of these (a typo), or whose value is not allowed, is ignored: the function's
//! own setting applies, and the caller says so loudly (an ERROR line and an event). Refusing to
//! rotate instead would let anyone who may tag a secret stop the rotation of a leaked key.

use std::time::Duration;

use crate::binding::is_ours;
use crate::config::{whole_in, Config, PreviousKeyAction};
use crate::error::Problem;

pub const ACTION_TAG: &str = "iam-key-rotator:previous-key-action";

/// The longest deadline a tag may set, in days: also how long after the promotion a reactivation
/// may still move the retirement's rules (`retire::decide`), so that no tag postpones anything
/// beyond it.
pub const MAX_DEADLINE_DAYS: u64 = 90;
pub const IDLE_TAG: &str = "iam-key-rotator:retire-idle-hours";
pub const DEADLINE_TAG: &str = "iam-key-rotator:retire-deadline-days";

/// The secret tag recording since when the sweep has seen its previous key Inactive: IAM keeps no
/// deactivation date. Its value is `<AccessKeyId> <RFC 3339 time>`, so a tag left from an older
/// key never applies to a new one. The function may write this tag key and no other.
pub const INACTIVE_SINCE_TAG: &str = "iam-key-rotator:previous-key-inactive-since";

/// The settings that apply to one secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effective {
    pub action: PreviousKeyAction,
    pub idle: Duration,
    pub deadline: Duration,
}

/// The function's settings with the secret's valid tags over them, and every tag ignored, as a
/// [`Problem::InvalidSecretTag`] that says why.
pub fn effective(config: &Config, tags: &[(String, String)]) -> (Effective, Vec<Problem>) {
    let mut settings = Effective {
        action: config.previous_key_action,
        idle: config.retire_idle,
        deadline: config.retire_deadline,
    };
    let mut ignored = Vec::new();
    for (key, value) in tags.iter().filter(|(k, _)| is_ours(k)) {
        if let Err(problem) = apply(config, &mut settings, key, value) {
            ignored.push(problem);
        }
    }
    // As for the function's own settings: the deadline is never shorter than the idle time.
    settings.deadline = settings.deadline.max(settings.idle);
    (settings, ignored)
}

/// One tag over `settings`, or why it is ignored.
fn apply(config: &Config, settings: &mut Effective, key: &str, value: &str) -> Result<(), Problem> {
    let bad = |allowed: &str| Problem::InvalidSecretTag {
        key: key.to_owned(),
        value: value.to_owned(),
        allowed: allowed.to_owned(),
    };
    match key {
        ACTION_TAG => {
            let allowed = gentler_actions(config.previous_key_action);
            let action: Option<PreviousKeyAction> = value.trim().parse().ok();
            settings.action = action
                .filter(|a| allowed.contains(a))
                .ok_or_else(|| bad(&names(&allowed)))?;
        }
        IDLE_TAG => {
            let least = config.retire_idle.as_secs() / 3_600;
            let hours = whole_in(value, least..=720)
                .ok_or_else(|| bad(&format!("whole hours, {least} (the function's) to 720")))?;
            settings.idle = Duration::from_secs(hours * 3_600);
        }
        DEADLINE_TAG => {
            let least = config.retire_deadline.as_secs() / 86_400;
            let days = whole_in(value, least.max(1)..=MAX_DEADLINE_DAYS).ok_or_else(|| {
                bad(&format!(
                    "whole days, {least} (the function's) to {MAX_DEADLINE_DAYS}"
                ))
            })?;
            settings.deadline = Duration::from_secs(days * 86_400);
        }
        INACTIVE_SINCE_TAG => {}
        _ => {
            return Err(bad(&format!(
                "no such setting; the tags this function reads are {ACTION_TAG}, {IDLE_TAG} and {DEADLINE_TAG} (and it writes {INACTIVE_SINCE_TAG} itself)"
            )))
        }
    }
    Ok(())
}

/// The actions a tag may choose under the function's `action`: it and the gentler ones.
fn gentler_actions(action: PreviousKeyAction) -> Vec<PreviousKeyAction> {
    use PreviousKeyAction::*;
    let harshest_first = [Delete, Deactivate, Keep, Retire];
    let from = harshest_first
        .iter()
        .position(|a| *a == action)
        .unwrap_or(0);
    harshest_first[from..].to_vec()
}

fn names(actions: &[PreviousKeyAction]) -> String {
    let names: Vec<&str> = actions.iter().map(|a| a.as_str()).collect();
    format!(
        "{} (no harsher than the function's PREVIOUS_KEY_ACTION: a tag may only keep the previous key longer)",
        names.join(", ")
    )
}
