//! Which key a secret names as its previous one, read from its labels and values, and whether the
//! secret is still as read just before the sweep acts: what it may act on, and why not.

use crate::aws::{SecretMetadata, VersionRef, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use crate::config::PreviousKeyAction;
use crate::error::Problem;
use crate::holder::{self, Holder};
use crate::lifecycle;
use crate::overrides::{self, Effective};
use crate::rotation::Rotator;
use crate::secret_value::SecretValue;
use crate::user_name::UserNameTemplate;

/// Why the sweep left a secret alone. The names are the report's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Skip {
    NotRotatedByThisFunction,
    ActionIsNotRetire,
    RotationInProgress,
    ValueNotUsable,
    UserMismatch,
    KeyOfAnotherUser,
    UserNotBound,
    CurrentKeyNotActive,
    PreviousNewerThanCurrent,
    KeyChanged,
    PromotionUnknown,
    /// A mirror does not hold the current key, or was written only now (§19).
    MirrorsBehind,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::NotRotatedByThisFunction => "not-rotated-by-this-function",
            Skip::ActionIsNotRetire => "previous-key-action-is-not-retire",
            Skip::RotationInProgress => "rotation-in-progress",
            Skip::ValueNotUsable => "value-not-usable",
            Skip::UserMismatch => "previous-and-current-users-differ",
            Skip::KeyOfAnotherUser => "previous-key-of-another-user",
            Skip::UserNotBound => "user-not-bound",
            Skip::CurrentKeyNotActive => "current-key-not-active",
            Skip::PromotionUnknown => "promotion-date-unknown",
            Skip::PreviousNewerThanCurrent => "previous-key-newer-than-current",
            Skip::KeyChanged => "previous-key-changed-since-read",
            Skip::MirrorsBehind => "mirrors-behind",
        }
    }
}

/// The previous key, with the versions and the user it was read for.
pub struct Previous {
    /// The configuration with the secret's tags over it.
    pub settings: Effective,
    pub key_id: String,
    pub user: Holder,
    pub current_key: Option<String>,
    pub previous_version: String,
    pub current_version: String,
}

/// What the secret's labels and values say before IAM is asked anything.
pub enum Found {
    Key(Previous),
    /// Nothing to retire: no previous version, or no key in it, or the current key itself.
    Nothing,
    Skip(Skip),
}

/// Whether the secret has rotation on with this function (`own_arn`).
pub(super) fn rotated_by(metadata: &SecretMetadata, own_arn: &str) -> bool {
    metadata.rotation_enabled && metadata.rotation_lambda_arn.as_deref() == Some(own_arn)
}

/// Reads the labels and the two values: the previous key and its user, or why there is nothing to
/// do, or why the secret is left alone.
/// A bad setting tag is ignored with an ERROR line each time, and announced by an event when
/// `announce` (once a day).
pub(super) async fn previous_key(
    rotator: &Rotator,
    own_arn: &str,
    metadata: &SecretMetadata,
    announce: bool,
) -> Result<Found, Problem> {
    if !rotated_by(metadata, own_arn) {
        return Ok(Found::Skip(Skip::NotRotatedByThisFunction));
    }
    let (settings, ignored) = overrides::effective(&rotator.config, &metadata.tags);
    let events = &*rotator.events;
    lifecycle::report_ignored_tags(events, &metadata.arn, &ignored, announce).await;
    if settings.action != PreviousKeyAction::Retire {
        return Ok(Found::Skip(Skip::ActionIsNotRetire));
    }
    if rotation_made_its_key(rotator, metadata).await? {
        return Ok(Found::Skip(Skip::RotationInProgress));
    }
    let (Some(previous_version), Some(current_version)) = (
        metadata.version_with(AWSPREVIOUS),
        metadata.version_with(AWSCURRENT),
    ) else {
        return Ok(Found::Nothing);
    };
    let read_previous = VersionRef::IdAndStage(previous_version, AWSPREVIOUS);
    let read_current = VersionRef::IdAndStage(current_version, AWSCURRENT);
    let previous = read(rotator, &metadata.arn, read_previous).await?;
    let current = read(rotator, &metadata.arn, read_current).await?;
    let template = rotator.config.user_name_template.as_ref();
    // A text names no user: its current key's owner does, and the previous text holds the same.
    let current = match current {
        Some(Ok(value)) => Some(Ok(
            holder::with_key_owner(value, template, &*rotator.iam).await?
        )),
        other => other,
    };
    let versions = (previous_version, current_version);
    Ok(judge_values(
        metadata, settings, template, versions, previous, current,
    ))
}

/// What the AWSPREVIOUS and AWSCURRENT values (`None`: no value) say: the previous key and its
/// user, or that there is nothing to retire, or why the secret is left alone. Pure, so that the
/// lifecycle model (`crates/model`) decides with it too.
pub fn judge_values(
    metadata: &SecretMetadata,
    settings: Effective,
    template: Option<&UserNameTemplate>,
    (previous_version, current_version): (&str, &str),
    previous: Option<Result<SecretValue, String>>,
    current: Option<Result<SecretValue, String>>,
) -> Found {
    let (previous, current) = match (previous, current) {
        // A previous text takes the current one's user (a rotation never changes the user).
        (Some(Ok(previous)), Some(Ok(current))) => {
            let owner = current.user_name().map(str::to_owned);
            (previous.with_key_owner(owner), current)
        }
        (None, _) => return Found::Nothing,
        _ => return Found::Skip(Skip::ValueNotUsable),
    };
    let Some(key_id) = previous.access_key_id() else {
        return Found::Nothing;
    };
    if current.access_key_id() == Some(key_id) {
        return Found::Nothing;
    }
    let user_of =
        |value: &SecretValue| Holder::of(value, template, &metadata.name, &metadata.arn).ok();
    let (Some(user), Some(current_user)) = (user_of(&previous), user_of(&current)) else {
        return Found::Skip(Skip::ValueNotUsable);
    };
    if user != current_user {
        return Found::Skip(Skip::UserMismatch);
    }
    Found::Key(Previous {
        settings,
        key_id: key_id.to_owned(),
        user,
        current_key: current.access_key_id().map(str::to_owned),
        previous_version: previous_version.to_owned(),
        current_version: current_version.to_owned(),
    })
}

/// A version's value, parsed; `None` when it holds none.
async fn read(
    rotator: &Rotator,
    arn: &str,
    version: VersionRef<'_>,
) -> Result<Option<Result<SecretValue, String>>, Problem> {
    let raw = rotator.secrets.get_secret_value(arn, version).await?;
    Ok(raw.map(|raw| SecretValue::parse(&raw)))
}

/// The version of a rotation under way: AWSPENDING on a version other than AWSCURRENT's.
pub fn pending_version(metadata: &SecretMetadata) -> Option<&str> {
    let pending = |stages: &Vec<String>| {
        stages.iter().any(|s| s == AWSPENDING) && !stages.iter().any(|s| s == AWSCURRENT)
    };
    let mut versions = metadata.versions.iter();
    versions
        .find(|(_, stages)| pending(stages))
        .map(|(id, _)| id.as_str())
}

/// Whether a rotation under way has made its key: its pending version holds a value. Then the
/// sweep waits for it (the labels are about to move). A rotation whose pending version is still
/// Secrets Manager's empty placeholder has made nothing: it may be waiting for the very key the
/// sweep judges, so the sweep goes on (§18): the alarm and an enforced deadline never wait for a
/// rotation that waits for them.
pub(super) async fn rotation_made_its_key(
    rotator: &Rotator,
    metadata: &SecretMetadata,
) -> Result<bool, Problem> {
    let Some(pending) = pending_version(metadata) else {
        return Ok(false);
    };
    let version = VersionRef::IdAndStage(pending, AWSPENDING);
    Ok(read(rotator, &metadata.arn, version).await?.is_some())
}

/// The secret read again just before acting still has its labels where the decision found them,
/// and no rotation has made its key since (`made_its_key`, from [`rotation_made_its_key`]).
pub fn unchanged(
    again: &SecretMetadata,
    own_arn: &str,
    previous: &Previous,
    made_its_key: bool,
) -> Result<(), Skip> {
    if !rotated_by(again, own_arn) {
        return Err(Skip::NotRotatedByThisFunction);
    }
    if made_its_key {
        return Err(Skip::RotationInProgress);
    }
    let same = again.version_with(AWSPREVIOUS) == Some(previous.previous_version.as_str())
        && again.version_with(AWSCURRENT) == Some(previous.current_version.as_str());
    if !same {
        return Err(Skip::KeyChanged);
    }
    Ok(())
}
