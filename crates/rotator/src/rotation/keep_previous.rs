//! createSecret under `retire` (§16, §18): the AWSPREVIOUS key is deleted to make room only when
//! the sweep itself could let it go. An Active key only once idle for RETIRE_IDLE_HOURS (by IAM's
//! last use, or since a reactivation); an Inactive one only once its quarantine is over, floor
//! included (`retire::decide::quarantine_end`), so that a rotation never cuts a quarantine short
//! and a backdated tag shortens nothing. Checked before anything is deleted.

use std::time::SystemTime;

use super::context::{Rotation, VersionDates};
use super::keys::{DeleteReason, RoomPlan};
use crate::aws::{AccessKeyInfo, Iam};
use crate::error::Problem;
use crate::holder::Holder;
use crate::messages::{describe_use, InUse, Quarantined};
use crate::retire::decide::{self, Facts, KeepPrevious, Settings};
use crate::secret_value::format_date;

pub(super) async fn refuse_to_delete_a_kept_previous_key(
    r: &Rotation<'_>,
    iam: &dyn Iam,
    user: &Holder,
    plan: &RoomPlan,
    user_keys: &[AccessKeyInfo],
    dates: Option<VersionDates>,
) -> Result<(), Problem> {
    let now = r.rotator.clock.now();
    // Unknown dates count as a promotion now: the latest, so the longest protection.
    let promoted = dates.map_or(now, |d| {
        decide::promotion(r.metadata.last_rotated, d.current)
    });
    let settings = Settings::new(r.config(), &r.settings);
    let previous = plan
        .delete
        .iter()
        .filter(|(_, why)| *why == DeleteReason::Previous);
    for (key_id, _) in previous {
        let Some(listed) = user_keys.iter().find(|k| k.id == *key_id) else {
            continue;
        };
        let facts = Facts {
            status: listed.status,
            last_use: iam.access_key_last_used(key_id).await?,
            promoted,
            tag: decide::tag_of(&r.metadata.tags, key_id),
        };
        if let Some(keep) = decide::keep_previous(&facts, &settings, now) {
            return Err(refusal(keep, key_id, user, &facts, &settings));
        }
    }
    Ok(())
}

fn refusal(
    keep: KeepPrevious,
    key_id: &str,
    user: &Holder,
    facts: &Facts,
    settings: &Settings,
) -> Problem {
    let (key_id, account) = (key_id.to_owned(), user.account.clone());
    let user = user.user.clone();
    match keep {
        KeepPrevious::InUse => Problem::PreviousKeyInUse(Box::new(InUse {
            key_id,
            user,
            account,
            last_use: describe_use(&facts.last_use),
            idle_hours: settings.idle.as_secs() / 3_600,
        })),
        KeepPrevious::InQuarantine { ends } => {
            Problem::PreviousKeyInQuarantine(Box::new(Quarantined {
                key_id,
                user,
                account,
                ends: format_date(whole_second(ends)),
            }))
        }
    }
}

/// Rounded up to the second: a person reads it, and it must not be before the real end.
fn whole_second(at: SystemTime) -> SystemTime {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let up = since.as_secs() + u64::from(since.subsec_nanos() > 0);
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(up)
}
