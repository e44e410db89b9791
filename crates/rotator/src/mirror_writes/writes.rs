//! One pass of writes over the targets the user names, for one AWSCURRENT version: read each,
//! decide with [`mirror::plan`], prove the key, write what must be written.
//!
//! A mirror is only ever written AWSCURRENT's key, and only a key of the user whose tags name it:
//! the user must be bound to the source, list the key among theirs, and the pair must authenticate
//! as them (STS: a hand edit that put the user's key id beside another secret reaches no mirror).
//! AWSCURRENT is read again just before each write (nothing is written once it moved) and once
//! after the last (the caller then starts over with the newer key).

use std::collections::BTreeMap;

use tracing::info;

use super::read::{self, Failure, Targets};
use super::report::Report;
use crate::aws::{AccessKeyInfo, AWSCURRENT};
use crate::binding::{self, Binding};
use crate::mirror::{self, Action, KeyPair, Named, Observed, Refused, TargetKind};
use crate::sensitive::Sensitive;

/// The source secret and the key in its AWSCURRENT version.
pub struct Source<'a> {
    pub arn: &'a str,
    /// The version the key was read from: a write happens only while it is still AWSCURRENT.
    pub current_version: &'a str,
    pub current: KeyPair<'a>,
    /// The previous version's key, to tell a write that follows a rotation from a repair.
    pub previous: Option<KeyPair<'a>>,
}

/// The user whose key it is: their tags name the mirrors, their keys must hold the current one,
/// and the key must authenticate as their ARN.
pub struct Owner<'a> {
    pub arn: &'a str,
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
    let mut proven = None;
    for ((target, read), action) in named.iter().zip(&read).zip(actions) {
        match (action, read) {
            (Action::Refused(_), Err(failure)) => report.not_written(failure.clone()),
            (Action::Refused(refused), Ok(_)) => report.not_written(Failure::Refused(refused)),
            (Action::Holds { arn }, _) => report.held.push(arn),
            (Action::Write { value, repair, .. }, _) => {
                let proof = match &proven {
                    Some(proof) => proof,
                    None => proven.insert(prove(targets, source, owner).await),
                };
                if let Err(failure) = proof {
                    report.not_written(failure.for_target(&target.arn));
                    continue;
                }
                if report.current_moved {
                    report.not_written(moved(&target.arn));
                    continue;
                }
                write(targets, source, target, &value, repair, &mut report).await;
            }
        }
    }
    if proven.is_some() && !report.current_moved && !still_current(targets, source).await {
        report.current_moved = true;
    }
    report
}

/// The targets the user names, when the user may name any for this source and AWSCURRENT's key
/// is theirs; `None` (with the refusals in the report) when there is nothing to write. A user not
/// bound to the source names nothing, and nothing is reported: whoever can write a value naming
/// any user must not be able to make the function report on that user's mirrors.
fn named(source: &Source<'_>, owner: &Owner<'_>, report: &mut Report) -> Option<Vec<Named>> {
    if binding::binding_of(owner.tags, source.arn) != Binding::Bound {
        return None;
    }
    let tags: BTreeMap<String, String> = owner.tags.iter().cloned().collect();
    let (named, refused) = mirror::named_by(&tags, source.arn);
    for refused in refused {
        report.not_written(Failure::Refused(refused));
    }
    if named.is_empty() {
        return None;
    }
    if !owner.keys.iter().any(|k| k.id == source.current.id) {
        for target in &named {
            report.not_written(Failure::Refused(Refused {
                target: target.arn.clone(),
                reason: "AWSCURRENT's key is not a key of the user whose tags name it".into(),
            }));
        }
        return None;
    }
    Some(named)
}

/// The proof, before the first write, that AWSCURRENT's pair authenticates as the user.
async fn prove(
    targets: Targets<'_>,
    source: &Source<'_>,
    owner: &Owner<'_>,
) -> Result<(), Failure> {
    let key = &source.current;
    match targets.sts.caller_identity(key.id, key.secret).await {
        Ok(identity) if identity.arn == owner.arn => Ok(()),
        Ok(_) => Err(Failure::Refused(Refused {
            target: String::new(),
            reason: "AWSCURRENT's key authenticates as another identity than the user whose tags name it".into(),
        })),
        Err(e) if e.is_transient() => Err(Failure::failed("", "AWSCURRENT's key could not be proven", &e)),
        Err(e) => Err(Failure::Refused(Refused {
            target: String::new(),
            reason: format!("AWSCURRENT's key does not authenticate ({}): its secret is not the key's", e.code.as_deref().unwrap_or("no answer")),
        })),
    }
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
        reason: "AWSCURRENT moved while the mirrors were written".into(),
    })
}
