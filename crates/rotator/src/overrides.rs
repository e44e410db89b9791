//! Per-secret settings (§16): a secret's tags may set, for that secret alone, what happens to its
//! previous key and the retirement's idle time and deadline, over the function's configuration.
//! Whoever may tag the secret decides these, as whoever may write it decides its value (§15):
//! where that matters, restrict `secretsmanager:TagResource` on the `iam-key-rotator:` keys.
//!
//! A tag with the `iam-key-rotator:` prefix that is not one of these (a typo) is an error, never
//! ignored: a misspelt `delete` must not silently fall back to another action.

use std::time::Duration;

use crate::config::{whole_in, Config, PreviousKeyAction};
use crate::error::Problem;

pub const ACTION_TAG: &str = "iam-key-rotator:previous-key-action";
pub const IDLE_TAG: &str = "iam-key-rotator:retire-idle-hours";
pub const DEADLINE_TAG: &str = "iam-key-rotator:retire-deadline-days";
const PREFIX: &str = "iam-key-rotator:";

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

/// The function's settings with the secret's tags over them, or the first bad tag.
pub fn effective(config: &Config, tags: &[(String, String)]) -> Result<Effective, Problem> {
    let mut settings = Effective {
        action: config.previous_key_action,
        idle: config.retire_idle,
        deadline: config.retire_deadline,
    };
    let mut deadline_set = false;
    for (key, value) in tags.iter().filter(|(k, _)| k.starts_with(PREFIX)) {
        let bad = |allowed: &str| Problem::InvalidSecretTag {
            key: key.clone(),
            value: value.clone(),
            allowed: allowed.to_owned(),
        };
        match key.as_str() {
            ACTION_TAG => {
                settings.action = value
                    .trim()
                    .parse()
                    .map_err(|()| bad("keep, deactivate, delete or retire"))?;
            }
            IDLE_TAG => {
                let hours = whole_in(value, 8..=720).ok_or_else(|| bad("whole hours, 8 to 720"))?;
                settings.idle = Duration::from_secs(hours * 3_600);
            }
            DEADLINE_TAG => {
                let days = whole_in(value, 1..=90).ok_or_else(|| bad("whole days, 1 to 90"))?;
                settings.deadline = Duration::from_secs(days * 86_400);
                deadline_set = true;
            }
            INACTIVE_SINCE_TAG => {}
            _ => {
                return Err(bad(&format!(
                    "no such setting; the tags this function reads are {ACTION_TAG}, {IDLE_TAG} and {DEADLINE_TAG} (and it writes {INACTIVE_SINCE_TAG} itself)"
                )))
            }
        }
    }
    if !deadline_set {
        settings.deadline = settings.deadline.max(settings.idle);
    } else if settings.deadline < settings.idle && settings.action == PreviousKeyAction::Retire {
        return Err(Problem::InvalidSecretTag {
            key: DEADLINE_TAG.to_owned(),
            value: (settings.deadline.as_secs() / 86_400).to_string(),
            allowed: format!(
                "at least the idle time, {} hours: a key would be past its deadline before it could be idle",
                settings.idle.as_secs() / 3_600
            ),
        });
    }
    Ok(settings)
}
