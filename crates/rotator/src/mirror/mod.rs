//! Mirrors (issue 23): the other places a rotated secret's new key is written to, where consumers
//! already read it. Whoever can get the function to write a key somewhere has obtained that key,
//! so a place is a mirror only when both sides agree, each by a right of its own:
//! - the IAM user bound to the source secret names it: tag `iam-key-rotator:mirror:<n>` (n from 1
//!   to 10) = the target's ARN, and for an SSM parameter `iam-key-rotator:mirror-kms:<n>` = the KMS
//!   key it must be encrypted with. Tagging users is an IAM administrator's right (§15);
//! - the target claims the source: `iam-key-rotator:mirror-of` = the source secret's ARN, and
//!   says its format, `iam-key-rotator:mirror-format` (and `iam-key-rotator:mirror-profile` for a
//!   credentials file).
//!
//! This module decides, from what was read, which targets may be written and why the others may
//! not; it calls nothing. A target no user names is never looked at, whatever it claims.

mod format;
mod plan;
mod refused;
mod render;

use std::collections::BTreeMap;

pub use format::{format_of, MirrorFormat, FORMAT_TAG, PROFILE_TAG};
pub use plan::{all_hold, plan, Action, KeyPair, Observed};
use refused::refuse;
pub use refused::Refused;
pub use render::{holds, render, yields};

pub const NAMED_TAG_PREFIX: &str = "iam-key-rotator:mirror:";
pub const KMS_TAG_PREFIX: &str = "iam-key-rotator:mirror-kms:";
pub const MIRROR_OF_TAG: &str = "iam-key-rotator:mirror-of";
/// How many mirrors a user may name.
pub const MAX_MIRRORS: u8 = 10;
/// An IAM tag value's limit: a longer ARN cannot be named.
pub const MAX_TAG_VALUE: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Secret,
    Parameter,
}

/// A target a user names, as its tags say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub n: u8,
    pub arn: String,
    pub kind: TargetKind,
    /// An SSM parameter's name (from its ARN); a secret's ARN serves as its id.
    pub name: String,
    pub kms_key: Option<String>,
}

/// The targets a user's tags name, in the order of n, each checked on its own: an ARN of this
/// account and Region (those of the source secret, `arn:aws:secretsmanager:<region>:<account>:`),
/// a secret or a parameter, not the source itself; an SSM parameter with its KMS key named.
pub fn named_by(
    user_tags: &BTreeMap<String, String>,
    source_arn: &str,
) -> (Vec<Named>, Vec<Refused>) {
    let (mut named, mut refused) = (Vec::new(), Vec::new());
    let Some(home) = arn_home(source_arn) else {
        return (named, refused);
    };
    for (key, arn) in user_tags {
        let Some(suffix) = strip_prefix_any_case(key, NAMED_TAG_PREFIX) else {
            continue;
        };
        let n = match suffix.parse::<u8>() {
            // "01" is not 1: one target, one tag.
            Ok(n) if (1..=MAX_MIRRORS).contains(&n) && n.to_string() == suffix => n,
            _ => {
                refused.push(refuse(
                    arn,
                    format!("the user's tag {key} is not {NAMED_TAG_PREFIX}<1 to {MAX_MIRRORS}>"),
                ));
                continue;
            }
        };
        match check_named(n, arn, &home, source_arn, user_tags) {
            Ok(target) if named.iter().any(|t: &Named| t.arn == target.arn) => {
                refused.push(refuse(
                    arn,
                    format!("the user names it twice (tag {key} too): remove one tag"),
                ));
            }
            Ok(target) => named.push(target),
            Err(reason) => refused.push(refuse(arn, reason)),
        }
    }
    named.sort_by_key(|t| t.n);
    (named, refused)
}

/// Whether the user's tags name any mirror (IAM tag keys in any case, as IAM matches them).
pub fn names_any(user_tags: &BTreeMap<String, String>) -> bool {
    let keys = user_tags.keys();
    keys.into_iter()
        .any(|key| strip_prefix_any_case(key, NAMED_TAG_PREFIX).is_some())
}

/// `key` without `prefix`, matched without case: IAM keeps one tag per key whatever its case, so
/// `IAM-Key-Rotator:Mirror:1` names a mirror as surely as the lower-case key does.
fn strip_prefix_any_case<'a>(key: &'a str, prefix: &str) -> Option<&'a str> {
    let head = key.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &key[prefix.len()..])
}

/// `arn:<partition>:<service>:<region>:<account>:` of an ARN, the part that says where it is.
fn arn_home(arn: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, _, region, account, _] if !region.is_empty() && !account.is_empty() => {
            Some((
                partition.to_string(),
                region.to_string(),
                account.to_string(),
            ))
        }
        _ => None,
    }
}

fn check_named(
    n: u8,
    arn: &str,
    home: &(String, String, String),
    source_arn: &str,
    user_tags: &BTreeMap<String, String>,
) -> Result<Named, String> {
    if arn == source_arn {
        return Err("it is the source secret itself".into());
    }
    if arn_home(arn).as_ref() != Some(home) {
        return Err(format!(
            "it is not an ARN of the source secret's account and Region ({}, {}): a mirror is written only there",
            home.2, home.1
        ));
    }
    let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
    let service = arn.split(':').nth(2).unwrap_or_default();
    let kms_tag = format!("{KMS_TAG_PREFIX}{n}");
    let kms_key = user_tags
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(&kms_tag))
        .map(|(_, value)| value.clone());
    match (service, resource) {
        ("secretsmanager", r) if r.starts_with("secret:") && !full_secret_arn(r) => Err(
            "it is not a secret's full ARN (with the 6 characters Secrets Manager adds to the name): a name alone could be given to another secret made under it later".into(),
        ),
        ("secretsmanager", r) if r.starts_with("secret:") => {
            Ok(Named {
                n,
                arn: arn.to_owned(),
                kind: TargetKind::Secret,
                name: arn.to_owned(),
                kms_key: None,
            })
        }
        ("ssm", r) if r.starts_with("parameter/") && r.len() > "parameter/".len() => {
            let path = &r["parameter/".len()..];
            // A name in a hierarchy starts with "/", which its ARN does not repeat.
            let name = if path.contains('/') {
                format!("/{path}")
            } else {
                path.to_owned()
            };
            let Some(kms_key) = kms_key.filter(|k| !k.is_empty()) else {
                return Err(format!(
                    "it is an SSM parameter, and the user names no KMS key for it ({KMS_TAG_PREFIX}{n}): a parameter can be deleted and made again by whoever may, so its key is the administrator's to name"
                ));
            };
            if !key_arn_at(&kms_key, home) {
                return Err(format!(
                    "the KMS key the user names for it ({KMS_TAG_PREFIX}{n}) is not a key ARN of the source secret's account and Region (arn:<partition>:kms:<region>:<account>:key/<id>): an alias or a bare id can be made to mean another key"
                ));
            }
            Ok(Named {
                n,
                arn: arn.to_owned(),
                kind: TargetKind::Parameter,
                name,
                kms_key: Some(kms_key),
            })
        }
        _ => Err("it is neither a Secrets Manager secret nor an SSM parameter".into()),
    }
}

/// What was read of a named target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetFacts {
    pub exists: bool,
    pub tags: BTreeMap<String, String>,
    /// A secret: whether a rotation function rotates it (it is a source, then, not a mirror).
    pub rotation_enabled: bool,
    /// A parameter: its type and the KMS key it is encrypted with, as SSM reports them.
    pub parameter_type: Option<String>,
    pub parameter_kms_key: Option<String>,
}

/// Whether the named target agrees to be this source's mirror, and in which format.
pub fn agreed(
    target: &Named,
    source_arn: &str,
    facts: &TargetFacts,
) -> Result<MirrorFormat, Refused> {
    let no = |reason: String| Err(refuse(&target.arn, reason));
    if !facts.exists {
        return no("it does not exist, or the ARN the user names is not its full ARN: create it, with its tags, and name it by the ARN DescribeSecret gives".into());
    }
    match facts.tags.get(MIRROR_OF_TAG) {
        Some(source) if source == source_arn => {}
        Some(_) => {
            return no(format!(
                "its tag {MIRROR_OF_TAG} names another source secret"
            ))
        }
        None => return no(format!("it has no tag {MIRROR_OF_TAG} = {source_arn}")),
    }
    if target.kind == TargetKind::Secret && facts.rotation_enabled {
        return no("it has rotation on: a rotated secret is a source, never a mirror".into());
    }
    if target.kind == TargetKind::Parameter {
        if facts.parameter_type.as_deref() != Some("SecureString") {
            return no(format!(
                "it is a {} parameter: a mirror is a SecureString",
                facts.parameter_type.as_deref().unwrap_or("untyped")
            ));
        }
        if facts.parameter_kms_key != target.kms_key {
            return no(format!(
                "it is encrypted with another KMS key than the user's tag {KMS_TAG_PREFIX}{} names (the tag must say the KeyId SSM reports)",
                target.n
            ));
        }
    }
    format_of(&facts.tags).map_err(|reason| refuse(&target.arn, reason))
}

/// `arn:<partition>:kms:<region>:<account>:key/<id>` in `home` (the source's partition, Region and
/// account).
fn key_arn_at(kms_key: &str, home: &(String, String, String)) -> bool {
    let resource = kms_key.splitn(6, ':').nth(5).unwrap_or_default();
    kms_key.split(':').nth(2) == Some("kms")
        && arn_home(kms_key).as_ref() == Some(home)
        && resource
            .strip_prefix("key/")
            .is_some_and(|id| !id.is_empty())
}

/// `secret:<name>-<6 letters or digits>`: the suffix Secrets Manager adds makes a full ARN name one
/// secret only, never one made later under the same name.
fn full_secret_arn(resource: &str) -> bool {
    let name = &resource["secret:".len()..];
    name.rsplit_once('-').is_some_and(|(base, suffix)| {
        !base.is_empty() && suffix.len() == 6 && suffix.chars().all(|c| c.is_ascii_alphanumeric())
    })
}
