//! The sweep's pass over a secret's mirrors (issue 23, §19), whatever its previous-key action:
//! it writes a mirror a step could not write and repairs one written by hand. Under `retire` a
//! previous key is deactivated or deleted only when every mirror holds the current key: a
//! consumer reading a mirror that does not still uses the previous one.

use tracing::warn;

use crate::aws::{SecretMetadata, VersionRef, AWSCURRENT, AWSPREVIOUS};
use crate::error::Problem;
use crate::holder::{self, Holder};
use crate::mirror::Refused;
use crate::mirror_writes::{self, Report, SourceRead, Targets};
use crate::rotation::Rotator;
use crate::secret_value::SecretValue;

/// [`pass`], where a failure counts as a mirror behind (logged, and in the report): the visit goes
/// on to the previous key, whose alarm must not wait for the mirrors.
pub(super) async fn pass_or_behind(
    rotator: &Rotator,
    metadata: &SecretMetadata,
    announce: bool,
) -> Report {
    match pass(rotator, metadata, announce).await {
        Ok(report) => report,
        Err(problem) => {
            warn!("the mirrors were not brought up to date: {problem}");
            let failed = Refused {
                target: metadata.arn.clone(),
                reason: problem.to_string(),
            };
            Report {
                failed: vec![failed],
                ..Report::default()
            }
        }
    }
}

/// The pass over the mirrors of a secret this function rotates (`metadata`, read by the visit);
/// an empty report when its AWSCURRENT value names no user, or the user names no mirror.
/// "Mirror Not Written" events go out only when `announce` (once a day).
async fn pass(
    rotator: &Rotator,
    metadata: &SecretMetadata,
    announce: bool,
) -> Result<Report, Problem> {
    let Some(current_version) = metadata.version_with(AWSCURRENT) else {
        return Ok(Report::default());
    };
    let read = VersionRef::IdAndStage(current_version, AWSCURRENT);
    let Some(raw) = rotator
        .secrets
        .get_secret_value(&metadata.arn, read)
        .await?
    else {
        return Ok(Report::default());
    };
    let Ok(current) = SecretValue::parse(&raw) else {
        return Ok(Report::default());
    };
    let template = rotator.config.user_name_template.as_ref();
    let current = holder::with_key_owner(current, template, &*rotator.iam).await?;
    let Ok(user) = Holder::of(&current, template, &metadata.name, &metadata.arn) else {
        return Ok(Report::default());
    };
    let iam = rotator.iam_for(&user, &metadata.arn).await?;
    let targets = Targets {
        secrets: &*rotator.secrets,
        parameters: &*rotator.parameters,
        sts: &*rotator.sts,
    };
    let read = SourceRead {
        arn: &metadata.arn,
        current: &current,
        current_version,
        previous_version: metadata.version_with(AWSPREVIOUS),
        announce_failures: announce,
    };
    let events = &*rotator.events;
    Ok(mirror_writes::pass(targets, events, (&*iam, &user), &read).await?)
}
