//! What a named target is, read from AWS: its facts first (exists, tags, rotation, a parameter's
//! type and key), its value only once it agrees to be this source's mirror. A target that does
//! not agree is never read.

use crate::aws::{AwsError, ParameterStore, SecretsManager, Sts, VersionRef, AWSCURRENT};
use crate::mirror::{self, MirrorFormat, Named, Refused, TargetFacts, TargetKind};
use crate::sensitive::Sensitive;

/// The services the targets are in, and STS to prove the key before it is copied.
#[derive(Clone, Copy)]
pub struct Targets<'a> {
    pub secrets: &'a dyn SecretsManager,
    pub parameters: &'a dyn ParameterStore,
    pub sts: &'a dyn Sts,
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
    /// An AWS error, named by its service, operation and code only: the service's own message is
    /// left out, lest an endpoint ever echo the value it was sent.
    pub(super) fn failed(arn: &str, what: &str, error: &AwsError) -> Self {
        let code = error.code.as_deref().unwrap_or("no answer");
        let (service, operation) = (error.service, error.operation);
        let reason = format!("{what}: {service} {operation} failed ({code})");
        let failure = Refused {
            target: arn.to_owned(),
            reason,
        };
        match error.is_transient() {
            true => Failure::Failed(failure),
            // Denied, or a bad request: a person must act (a grant, a tag, the KMS key).
            false => Failure::Refused(failure),
        }
    }

    /// The same failure, about `arn`.
    pub(super) fn for_target(&self, arn: &str) -> Self {
        let with = |r: &Refused| Refused {
            target: arn.to_owned(),
            reason: r.reason.clone(),
        };
        match self {
            Failure::Refused(r) => Failure::Refused(with(r)),
            Failure::Failed(r) => Failure::Failed(with(r)),
        }
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
            // A partial ARN (a name that happens to end in "-" and six characters) would name
            // whichever secret bears that name now: only the ARN itself names one secret.
            Ok(metadata) if metadata.arn != named.arn => return Ok(facts),
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
