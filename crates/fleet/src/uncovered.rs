//! `scan --user-path`: the users on an IAM path that hold access keys no scanned secret holds
//! (keys made by hand and handed out outside Secrets Manager).

use std::collections::BTreeSet;

use futures_util::stream::{self, StreamExt};

use super::aws::FleetAws;
use super::report::{SecretReport, UserReport};
use iam_key_rotator::aws::AwsError;

/// Users under `path` with keys, of which no secret in `secrets` is for the user or holds a key.
pub(crate) async fn users_without_secret(
    aws: &dyn FleetAws,
    path: &str,
    secrets: &[SecretReport],
    concurrency: usize,
) -> Result<Vec<UserReport>, AwsError> {
    // A user is covered when a secret is for it, or holds one of its keys (even a secret the
    // function cannot rotate: that one is reported as such already).
    // A secret for a user of another account (AccountId, §17) covers nobody here.
    let here = secrets.iter().filter(|s| s.user_account.is_none());
    let covered_users: BTreeSet<&str> = here.filter_map(|s| s.user.as_deref()).collect();
    let covered_keys: BTreeSet<&str> = secrets
        .iter()
        .flat_map(|s| {
            s.key
                .iter()
                .map(|k| k.id.as_str())
                .chain(s.version_keys.iter().map(String::as_str))
        })
        .collect();
    let covered_keys = &covered_keys;
    let users: Vec<String> = aws
        .users_on_path(path)
        .await?
        .into_iter()
        .filter(|u| !covered_users.contains(u.as_str()))
        .collect();
    let found: Vec<Result<Option<UserReport>, AwsError>> = stream::iter(users)
        .map(|user| async move {
            let keys = aws.user_keys(&user).await?.unwrap_or_default();
            let held = keys.iter().any(|k| covered_keys.contains(k.id.as_str()));
            Ok((!keys.is_empty() && !held).then(|| UserReport {
                user,
                keys: keys.into_iter().map(|k| k.id).collect(),
            }))
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut reports: Vec<UserReport> = found
        .into_iter()
        .filter_map(Result::transpose)
        .collect::<Result<_, _>>()?;
    reports.sort_by(|a, b| a.user.cmp(&b.user));
    Ok(reports)
}
