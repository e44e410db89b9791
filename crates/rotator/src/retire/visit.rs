//! One secret of the sweep, as decide-then-act: read what AWS says of its previous key
//! (`previous.rs`, then [`observe`]), decide ([`judge_keys`], `decide.rs`), check that nothing
//! moved, act (`act.rs`). Every way the secret is not what a rotation by this function leaves is a
//! [`Skip`] with its reason, never an action: the sweep acts only on a previous key that
//! AWSPREVIOUS names, that belongs to the user bound to this very secret (§15), that is not the
//! current key, while the current key is the user's and Active and no rotation has made its key.

use std::time::{SystemTime, UNIX_EPOCH};

use super::act::{untag_if_tagged, Outcome, Visit};
use super::decide::{self, Decision, Facts, Settings, Why};
use super::mirrors;
use super::previous::{
    previous_key, rotated_by, rotation_made_its_key, unchanged, Found, Previous, Skip,
};
use crate::aws::{AccessKeyInfo, Iam, KeyStatus, SecretMetadata};
use crate::binding::{self, Binding};
use crate::error::Problem;
use crate::mirror_writes::Report;
use crate::rotation::Rotator;

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

/// One secret: its mirrors first (`mirrors.rs`), then its previous key. Returns the outcome for the
/// previous key, and the mirrors' report.
pub(super) async fn visit(
    rotator: &Rotator,
    own_arn: &str,
    arn: &str,
    alarm_clock: SystemTime,
) -> Result<(Outcome, Report), Problem> {
    let metadata = rotator.secrets.describe_secret(arn).await?;
    // Bad setting tags (and mirrors not written) are announced once a day, in the sweep interval
    // after midnight UTC.
    let announce = decide::alarm_due(alarm_clock, UNIX_EPOCH, rotator.config.sweep_interval);
    let mirrors = match rotated_by(&metadata, own_arn) {
        true => mirrors::pass_or_behind(rotator, &metadata, announce).await,
        false => Report::default(),
    };
    // A mirror behind, or written only now: its consumers may still use the previous key.
    let mirrors_hold = mirrors.all_hold()
        && !mirrors.restarted
        && mirrors.written.is_empty()
        && mirrors.repaired.is_empty();
    let seen = Seen {
        own_arn,
        metadata: &metadata,
        announce,
        alarm_clock,
        mirrors_hold,
    };
    Ok((retire_previous(rotator, &seen).await?, mirrors))
}

/// What the visit read before it turned to the previous key.
struct Seen<'a> {
    own_arn: &'a str,
    metadata: &'a SecretMetadata,
    announce: bool,
    alarm_clock: SystemTime,
    mirrors_hold: bool,
}

async fn retire_previous(rotator: &Rotator, seen: &Seen<'_>) -> Result<Outcome, Problem> {
    let (own_arn, metadata, alarm_clock) = (seen.own_arn, seen.metadata, seen.alarm_clock);
    let previous = match previous_key(rotator, own_arn, metadata, seen.announce).await? {
        Found::Key(previous) => previous,
        Found::Nothing => return untag_if_tagged(rotator, metadata, Outcome::Settled).await,
        Found::Skip(skip) => return Ok(Outcome::Skipped(skip)),
    };
    // IAM where the user is: a member account's through its role (§17).
    let iam = rotator.iam_for(&previous.user, &metadata.arn).await?;
    let facts = match observe(rotator, &*iam, metadata, &previous).await? {
        Ok(facts) => facts,
        Err(outcome) => return untag_unless_skipped(rotator, metadata, outcome).await,
    };
    let settings = Settings::new(&rotator.config, &previous.settings);
    let now = rotator.clock.now();
    let decision = decide::decide(&facts, &settings, now, alarm_clock);
    if decision == Decision::Wait {
        // A tag for another key, or one not to be believed, is left from before: remove it.
        return match decide::believed(&facts, now) {
            None => untag_if_tagged(rotator, metadata, Outcome::Waiting).await,
            Some(_) => Ok(Outcome::Waiting),
        };
    }
    // A mirror behind keeps the previous key, but never past an enforced deadline (the operator's
    // choice, which a target's owner must not be able to defeat by writing their mirror by hand).
    let acts_on_the_key = matches!(decision, Decision::Deactivate(Why::Idle) | Decision::Delete);
    if acts_on_the_key && !seen.mirrors_hold {
        return Ok(Outcome::Skipped(Skip::MirrorsBehind));
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
