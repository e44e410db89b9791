//! What a named target is, read from AWS: its facts first (exists, tags, rotation, a parameter's
//! type and key), its value only once it agrees to be this source's mirror. A target that does
//! not agree is never read.

use crate::aws::{AwsError, ParameterStore, SecretsManager, VersionRef, AWSCURRENT};
use crate::mirror::{self, MirrorFormat, Named, Refused, TargetFacts, TargetKind};
use crate::sensitive::Sensitive;

/// The services the targets are in.
#[derive(Clone, Copy)]
pub struct Targets<'a> {
    pub secrets: &'a dyn SecretsManager,
    pub parameters: &'a dyn ParameterStore,
}

/// A named target as read: its format and value, or why it is not written.
pub(super) type Read = Result<(MirrorFormat, Option<Sensitive>), Failure>;

/// Why a target is not written: refused (it does not agree, or holds what a person must settle),
/// or failed (AWS answered with an error: the next attempt may succeed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Refused(Refused),
    Failed(Refused),
}

impl Failure {
    pub(super) fn failed(arn: &str, what: &str, error: &AwsError) -> Self {
        Failure::Failed(Refused {
            target: arn.to_owned(),
            reason: format!("{what}: {error}"),
        })
    }
}

pub(super) async fn read(targets: Targets<'_>, named: &Named, source_arn: &str) -> Read {
    let failed = |e: AwsError| Failure::failed(&named.arn, "it could not be read", &e);
    let facts = facts(targets, named).await.map_err(failed)?;
    let format = mirror::agreed(named, source_arn, &facts).map_err(Failure::Refused)?;
    let value = match named.kind {
        TargetKind::Secret => {
            let current = VersionRef::Stage(AWSCURRENT);
            targets.secrets.get_secret_value(&named.arn, current).await
        }
        TargetKind::Parameter => targets.parameters.get_parameter(&named.name).await,
    };
    Ok((format, value.map_err(failed)?))
}

async fn facts(targets: Targets<'_>, named: &Named) -> Result<TargetFacts, AwsError> {
    let mut facts = TargetFacts::default();
    let tags = match named.kind {
        TargetKind::Secret => match targets.secrets.describe_secret(&named.arn).await {
            Err(e) if e.is_not_found() => return Ok(facts),
            Err(e) => return Err(e),
            Ok(metadata) => {
                facts.rotation_enabled = metadata.rotation_enabled;
                metadata.tags
            }
        },
        TargetKind::Parameter => {
            let Some(info) = targets.parameters.describe_parameter(&named.name).await? else {
                return Ok(facts);
            };
            facts.parameter_type = Some(info.parameter_type);
            facts.parameter_kms_key = info.key_id;
            targets.parameters.parameter_tags(&named.name).await?
        }
    };
    facts.exists = true;
    facts.tags = tags.into_iter().collect();
    Ok(facts)
}
