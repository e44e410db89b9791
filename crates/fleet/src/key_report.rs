//! A key of a secret as the scan reports it: how it stands on its user, and where IAM last saw it
//! used.

use super::aws::{FleetAws, LastUsed};
use super::report::KeyReport;
use super::time::rfc3339;
use super::verdict::IamKey;
use iam_key_rotator::aws::AwsError;

/// How a key of the secret stands on its user, and IAM's record of its last use (asked only for a
/// key the user has).
pub(crate) async fn key_report(
    aws: &dyn FleetAws,
    id: &str,
    user_keys: Option<&[IamKey]>,
    now: i64,
) -> Result<(KeyReport, LastUsed), AwsError> {
    let listed = user_keys.and_then(|keys| keys.iter().find(|k| k.id == id));
    let last_used = match listed {
        Some(_) => aws.last_used(id).await?.unwrap_or_default(),
        None => LastUsed::default(),
    };
    let report = KeyReport {
        id: id.to_owned(),
        exists: listed.is_some(),
        active: listed.is_some_and(|k| k.active),
        created: listed.map(|k| rfc3339(k.created)),
        age_days: listed.map(|k| (now - k.created) / 86_400),
        last_used: last_used.at.map(rfc3339),
        last_used_service: last_used.service.clone(),
        last_used_region: last_used.region.clone(),
    };
    Ok((report, last_used))
}
