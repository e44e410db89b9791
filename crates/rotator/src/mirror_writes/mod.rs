//! Writing the mirrors (issue 23, §19): the act half over `mirror`'s decisions, for finishSecret
//! after its promotion and for the sweep. Read each target the user names, decide with
//! [`mirror::plan`], write what must be written, and say what happened.
//!
//! A mirror is only ever written AWSCURRENT's key, and only that key of the user whose tags name
//! it: the caller passes the version AWSCURRENT was read from, the user's keys are checked to hold
//! it, and AWSCURRENT is read again just before each write (nothing is written once it moved) and
//! once after the last (a promotion that came between is reported, so the next attempt writes the
//! newer key).

mod announce;
mod read;
mod report;

use std::collections::BTreeMap;

use tracing::info;

use crate::aws::{AccessKeyInfo, AwsError, Events, Iam, VersionRef, AWSCURRENT};
use crate::binding::{self, Binding};
use crate::holder::Holder;
use crate::mirror::{self, Action, KeyPair, Named, Observed, Refused, TargetKind};
use crate::secret_value::SecretValue;
use crate::sensitive::Sensitive;
pub use announce::{announce, MIRROR_NOT_WRITTEN, MIRROR_REPAIRED, MIRROR_WRITTEN};
pub use read::{Failure, Targets};
pub use report::Report;

/// The source secret and the key in its AWSCURRENT version.
pub struct Source<'a> {
    pub arn: &'a str,
    /// The version the key was read from: a write happens only while it is still AWSCURRENT.
    pub current_version: &'a str,
    pub current: KeyPair<'a>,
    /// The previous version's key, to tell a write that follows a rotation from a repair.
    pub previous: Option<KeyPair<'a>>,
}

/// The user whose key it is: their tags name the mirrors, their keys must hold the current one.
pub struct Owner<'a> {
    pub tags: &'a [(String, String)],
    pub keys: &'a [AccessKeyInfo],
}

/// Brings every mirror the user names up to the source's current key. Never fails: what could
/// not be done is in the report, and [`Report::all_hold`] says whether the previous key may be
/// acted on.
pub async fn bring_up_to_date(
    targets: Targets<'_>,
    source: &Source<'_>,
    owner: &Owner<'_>,
) -> Report {
    let mut report = Report::default();
    let Some(named) = named(source, owner, &mut report) else {
        return report;
    };
    let mut read = Vec::with_capacity(named.len());
    for target in &named {
        read.push(read::read(targets, target, source.arn).await);
    }
    let observed: Vec<Observed<'_>> = named
        .iter()
        .zip(&read)
        .map(|(target, read)| Observed {
            arn: &target.arn,
            read: match read {
                Ok((format, value)) => Ok((format.clone(), value.as_ref())),
                Err(Failure::Refused(refused) | Failure::Failed(refused)) => Err(refused.clone()),
            },
        })
        .collect();
    let actions = mirror::plan(&observed, &source.current, source.previous.as_ref());
    let mut wrote = false;
    for ((target, read), action) in named.iter().zip(&read).zip(actions) {
        match (action, read) {
            (Action::Refused(_), Err(failure)) => report.not_written(failure.clone()),
            (Action::Refused(refused), Ok(_)) => report.not_written(Failure::Refused(refused)),
            (Action::Holds { arn }, _) => report.held.push(arn),
            (Action::Write { value, repair, .. }, _) => {
                if report.current_moved {
                    report.not_written(moved(&target.arn));
                    continue;
                }
                wrote = true;
                write(targets, source, target, &value, repair, &mut report).await;
            }
        }
    }
    if wrote && !report.current_moved && !still_current(targets, source).await {
        report.current_moved = true;
    }
    report
}

/// The targets the user names, when the user may name any for this source and AWSCURRENT's key
/// is theirs; `None` (with the refusals in the report) when there is nothing to write.
fn named(source: &Source<'_>, owner: &Owner<'_>, report: &mut Report) -> Option<Vec<Named>> {
    let tags: BTreeMap<String, String> = owner.tags.iter().cloned().collect();
    let (named, refused) = mirror::named_by(&tags, source.arn);
    let refuse_all = |report: &mut Report, reason: &str| {
        for target in &named {
            report.not_written(Failure::Refused(Refused {
                target: target.arn.clone(),
                reason: reason.to_owned(),
            }));
        }
    };
    for refused in refused {
        report.not_written(Failure::Refused(refused));
    }
    if named.is_empty() {
        return None;
    }
    if binding::binding_of(owner.tags, source.arn) != Binding::Bound {
        refuse_all(
            report,
            "the user whose tags name it is not bound to the source secret",
        );
        return None;
    }
    if !owner.keys.iter().any(|k| k.id == source.current.id) {
        refuse_all(
            report,
            "AWSCURRENT's key is not a key of the user whose tags name it",
        );
        return None;
    }
    Some(named)
}

async fn write(
    targets: Targets<'_>,
    source: &Source<'_>,
    target: &Named,
    value: &Sensitive,
    repair: bool,
    report: &mut Report,
) {
    if !still_current(targets, source).await {
        report.current_moved = true;
        report.not_written(moved(&target.arn));
        return;
    }
    let written = match (target.kind, &target.kms_key) {
        (TargetKind::Parameter, Some(kms_key)) => {
            let put = targets
                .parameters
                .put_secure_parameter(&target.name, value, kms_key);
            put.await
        }
        _ => targets.secrets.put_value(&target.arn, value).await,
    };
    match written {
        Ok(()) if repair => {
            info!(mirror = %target.arn, "repaired the mirror: it held neither the current nor the previous key");
            report.repaired.push(target.arn.clone());
        }
        Ok(()) => {
            info!(mirror = %target.arn, "wrote the current key to the mirror");
            report.written.push(target.arn.clone());
        }
        Err(e) => report.not_written(Failure::failed(&target.arn, "it could not be written", &e)),
    }
}

/// Whether AWSCURRENT is still on the version the key was read from. An error reads as "moved":
/// nothing is written that cannot be proven current.
async fn still_current(targets: Targets<'_>, source: &Source<'_>) -> bool {
    match targets.secrets.describe_secret(source.arn).await {
        Ok(metadata) => metadata.version_with(AWSCURRENT) == Some(source.current_version),
        Err(_) => false,
    }
}

fn moved(arn: &str) -> Failure {
    Failure::Failed(Refused {
        target: arn.to_owned(),
        reason:
            "AWSCURRENT moved while the mirrors were written: the next attempt writes the newer key"
                .into(),
    })
}

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
    let current = read.current;
    let (Some(id), Some(secret)) = (current.access_key_id(), current.secret_access_key()) else {
        return Ok(Report::default());
    };
    let Some(owner) = owner(iam, &user.user).await? else {
        return Ok(Report::default());
    };
    let previous = match read.previous_version {
        Some(version) => {
            let raw = targets
                .secrets
                .get_secret_value(read.arn, VersionRef::Id(version));
            raw.await?.and_then(|raw| SecretValue::parse(&raw).ok())
        }
        None => None,
    };
    let previous_secret = previous.as_ref().and_then(SecretValue::secret_access_key);
    let previous_pair = match (previous.as_ref(), previous_secret.as_ref()) {
        (Some(value), Some(secret)) => value.access_key_id().map(|id| KeyPair { id, secret }),
        _ => None,
    };
    let source = Source {
        arn: read.arn,
        current_version: read.current_version,
        current: KeyPair {
            id,
            secret: &secret,
        },
        previous: previous_pair,
    };
    let report = bring_up_to_date(targets, &source, &owner.as_owner()).await;
    let subject = (read.arn, user, id);
    announce(events, subject, &report, read.announce_failures).await;
    Ok(report)
}

/// What the pass needs of the user: tags and keys. `None` when the user names no mirror (the tags
/// alone are read then) or IAM no longer has the user.
pub async fn owner(iam: &dyn Iam, user: &str) -> Result<Option<OwnedFacts>, AwsError> {
    let tags = match iam.get_user(user).await {
        Ok(found) => found.tags,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    if !tags
        .iter()
        .any(|(key, _)| key.starts_with(mirror::NAMED_TAG_PREFIX))
    {
        return Ok(None);
    }
    let keys = iam.list_access_keys(user).await?;
    Ok(Some(OwnedFacts { tags, keys }))
}

/// The user's tags and keys, as [`owner`] read them.
pub struct OwnedFacts {
    pub tags: Vec<(String, String)>,
    pub keys: Vec<AccessKeyInfo>,
}

impl OwnedFacts {
    pub fn as_owner(&self) -> Owner<'_> {
        Owner {
            tags: &self.tags,
            keys: &self.keys,
        }
    }
}
