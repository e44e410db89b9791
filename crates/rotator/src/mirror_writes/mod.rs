//! Writing the mirrors (issue 23, §19): the act half over `mirror`'s decisions, for finishSecret
//! after its promotion, for createSecret before it deletes a previous key, and for the sweep.
//! `writes.rs` makes one pass of writes for one AWSCURRENT version; this file reads what the pass
//! needs of the user and of the source, and starts over with the newer key when AWSCURRENT moved
//! during the writes (a late write of an older key is then overwritten at once).

mod announce;
mod read;
mod report;
mod writes;

use std::collections::BTreeMap;

use crate::aws::{AwsError, Events, Iam, VersionRef, AWSCURRENT, AWSPREVIOUS};
use crate::holder::Holder;
use crate::mirror::{self, KeyPair};
use crate::secret_value::SecretValue;
use crate::sensitive::Sensitive;
pub use announce::{announce, MIRROR_NOT_WRITTEN, MIRROR_REPAIRED, MIRROR_WRITTEN};
pub use read::{Failure, Targets};
pub use report::Report;
pub use writes::{bring_up_to_date, Owner, Source};

/// How many times a pass starts over when AWSCURRENT moved during its writes.
const PASSES: usize = 3;

/// The source as the caller read it: its ARN, AWSCURRENT's value and version, and the version
/// that held the key before (to tell a write after a rotation from a repair).
pub struct SourceRead<'a> {
    pub arn: &'a str,
    pub current: &'a SecretValue,
    pub current_version: &'a str,
    pub previous_version: Option<&'a str>,
    /// Whether "Mirror Not Written" events go out: each time for a step, once a day for the
    /// sweep (an hourly alarm about the same mirror would only be noise).
    pub announce_failures: bool,
}

/// One whole pass for `user` (in `iam`, the account the user is in): the user's tags, and only
/// when they name a mirror, the user's keys, the previous version's key, the writes, then the
/// events and metrics.
pub async fn pass(
    targets: Targets<'_>,
    events: &dyn Events,
    (iam, user): (&dyn Iam, &Holder),
    read: &SourceRead<'_>,
) -> Result<Report, AwsError> {
    let Some(owner) = owner(iam, &user.user).await? else {
        return Ok(Report::default());
    };
    let mut version = (
        read.current_version.to_owned(),
        read.previous_version.map(str::to_owned),
    );
    let mut current = read.current.clone();
    let mut report = Report::default();
    let mut key_id = None;
    for _ in 0..PASSES {
        let (Some(id), Some(secret)) = (current.access_key_id(), current.secret_access_key())
        else {
            break;
        };
        key_id = Some(id.to_owned());
        let previous = previous_value(targets, read.arn, version.1.as_deref()).await?;
        let previous_secret = previous.as_ref().and_then(SecretValue::secret_access_key);
        let source = Source {
            arn: read.arn,
            current_version: &version.0,
            current: KeyPair {
                id,
                secret: &secret,
            },
            previous: pair(previous.as_ref(), previous_secret.as_ref()),
        };
        let this = bring_up_to_date(targets, &source, &owner.as_owner()).await;
        let moved = this.current_moved;
        report = report.then(this);
        if !moved {
            break;
        }
        // Someone moved AWSCURRENT: the pass starts over with what it holds now.
        report.restarted = true;
        let Some((newer, newer_version)) = current_value(targets, read.arn).await? else {
            break;
        };
        (current, version) = (newer, newer_version);
    }
    if let Some(id) = key_id {
        announce(
            events,
            (read.arn, user, &id),
            &report,
            read.announce_failures,
        )
        .await;
    }
    Ok(report)
}

/// AWSCURRENT's value and version, and AWSPREVIOUS's version, as the source holds them now.
async fn current_value(
    targets: Targets<'_>,
    arn: &str,
) -> Result<Option<(SecretValue, (String, Option<String>))>, AwsError> {
    let metadata = targets.secrets.describe_secret(arn).await?;
    let Some(version) = metadata.version_with(AWSCURRENT) else {
        return Ok(None);
    };
    let stage = VersionRef::IdAndStage(version, AWSCURRENT);
    let raw = targets.secrets.get_secret_value(arn, stage).await?;
    let value = raw.and_then(|raw| SecretValue::parse(&raw).ok());
    let previous = metadata.version_with(AWSPREVIOUS).map(str::to_owned);
    Ok(value.map(|value| (value, (version.to_owned(), previous))))
}

async fn previous_value(
    targets: Targets<'_>,
    arn: &str,
    version: Option<&str>,
) -> Result<Option<SecretValue>, AwsError> {
    let Some(version) = version else {
        return Ok(None);
    };
    let raw = targets
        .secrets
        .get_secret_value(arn, VersionRef::Id(version));
    Ok(raw.await?.and_then(|raw| SecretValue::parse(&raw).ok()))
}

fn pair<'a>(value: Option<&'a SecretValue>, secret: Option<&'a Sensitive>) -> Option<KeyPair<'a>> {
    Some(KeyPair {
        id: value?.access_key_id()?,
        secret: secret?,
    })
}

/// What the pass needs of the user: ARN, tags and keys. `None` when the user names no mirror (the
/// user alone is read then) or IAM no longer has the user.
pub async fn owner(iam: &dyn Iam, user: &str) -> Result<Option<OwnedFacts>, AwsError> {
    let found = match iam.get_user(user).await {
        Ok(found) => found,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let tags: BTreeMap<String, String> = found.tags.iter().cloned().collect();
    if !mirror::names_any(&tags) {
        return Ok(None);
    }
    let keys = iam.list_access_keys(user).await?;
    Ok(Some(OwnedFacts {
        arn: found.arn,
        tags: found.tags,
        keys,
    }))
}

/// The user's ARN, tags and keys, as [`owner`] read them.
pub struct OwnedFacts {
    pub arn: String,
    pub tags: Vec<(String, String)>,
    pub keys: Vec<crate::aws::AccessKeyInfo>,
}

impl OwnedFacts {
    pub fn as_owner(&self) -> Owner<'_> {
        Owner {
            arn: &self.arn,
            tags: &self.tags,
            keys: &self.keys,
        }
    }
}
