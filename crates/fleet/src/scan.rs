//! `scan`: every secret, which of them hold AWS access keys, and how each one stands.

use super::aws::{FleetAws, SecretEntry};
use super::classify::{classify, is_access_key_id, key_ids_in, Holding};
use super::duplicate_keys;
use super::mirrors::{claimed_source, split_field, split_layout_fix};
use super::report::{needs, KeyReport, ScanReport, SecretReport};
use super::select::Selection;
use super::time::{epoch_seconds, rfc3339};
use super::uncovered;
use super::values::Values;
use super::verdict::{Limits, Verdict};
use futures_util::stream::{self, StreamExt};
use iam_key_rotator::aws::AwsError;
use iam_key_rotator::aws::KeyStatus;
use iam_key_rotator::holder::arn_account;
use iam_key_rotator::user_name::{resolve_user, NoUser, UserNameTemplate};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub template: Option<UserNameTemplate>,
    pub limits: Limits,
    /// Secrets looked at in parallel.
    pub concurrency: usize,
    /// List the users on this IAM path that hold keys but no secret.
    pub user_path: Option<String>,
    /// The other accounts this run entered, for secrets whose value names one (§17).
    pub accounts: Accounts,
}

/// IAM of the accounts a run entered, by account id (any Region's view: IAM is global).
#[derive(Clone, Default)]
pub struct Accounts(pub BTreeMap<String, Arc<dyn FleetAws>>);

impl fmt::Debug for Accounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// Told how far a scan has got, for a progress bar. An estate's scans share one: each target
/// adds its secrets.
pub trait Progress: Sync {
    /// `total` more secrets to look at.
    fn start(&self, total: usize);
    /// One secret looked at.
    fn advance(&self);
    /// `total` accounts and Regions in the run.
    fn targets(&self, _total: usize) {}
    /// One account or Region done.
    fn target_done(&self) {}
}

/// No progress to show.
impl Progress for () {
    fn start(&self, _: usize) {}
    fn advance(&self) {}
}

/// Lists every secret, keeps the selected ones that hold AWS keys, and judges each.
pub async fn scan(
    aws: &dyn FleetAws,
    selection: &Selection,
    options: &ScanOptions,
    progress: &dyn Progress,
) -> Result<ScanReport, AwsError> {
    let entries: Vec<SecretEntry> = aws
        .list_secrets()
        .await?
        .into_iter()
        .filter(|e| selection.matches_entry(e))
        .collect();
    let secrets_listed = entries.len();
    progress.start(secrets_listed);
    let arns: Vec<String> = entries.iter().map(|e| e.arn.clone()).collect();
    let values = &Values::read_ahead(aws, &arns, options.concurrency).await;
    let mut secrets: Vec<SecretReport> = stream::iter(entries)
        .map(|entry| inspect(aws, entry, options, values))
        .buffer_unordered(options.concurrency.max(1))
        .inspect(|_| progress.advance())
        .filter_map(|report| async move { report })
        .collect()
        .await;
    // Judged over every secret read before the selection by verdict is applied.
    duplicate_keys::mark(&mut secrets.iter_mut().collect::<Vec<_>>());
    secrets.retain(|report| selection.matches_verdict(report.verdict));
    secrets.sort_by(|a, b| a.name.cmp(&b.name));

    let users_without_secret = match &options.user_path {
        Some(path) => {
            Some(uncovered::users_without_secret(aws, path, &secrets, options.concurrency).await?)
        }
        None => None,
    };
    Ok(ScanReport {
        secrets_listed,
        secrets,
        users_without_secret,
    })
}

/// One secret: `None` when it holds nothing that looks like an AWS key.
async fn inspect(
    aws: &dyn FleetAws,
    entry: SecretEntry,
    options: &ScanOptions,
    values: &Values,
) -> Option<SecretReport> {
    let mut report = SecretReport::new(entry);
    let value = match values.current(aws, &report.arn).await {
        Ok(Some(value)) => value,
        // No AWSCURRENT string: a binary secret, or no value yet. Nothing to say about keys.
        Ok(None) => return None,
        Err(e) => {
            report.add(
                Verdict::Unreadable,
                format!("could not read its value: {e}"),
                needs(&e),
            );
            return Some(report);
        }
    };
    if let Some(primary) = &report.entry.primary_region {
        if classify(&value) == Holding::Unrelated {
            return None;
        }
        report.add(
            Verdict::Replica,
            format!("a replica of the secret in {primary}: Secrets Manager rotates the primary there and copies each version here"),
            format!("nothing here: scan, enable and rotate it in {primary}"),
        );
        return Some(report);
    }
    if let Some(source) = claimed_source(&report.entry.tags) {
        // A mirror (§19): its source's rotation writes it. Its key counts as the source's only
        // when the source's bound user names it too (duplicate_keys.rs).
        report.held_key = key_ids_in(&value)
            .into_iter()
            .find(|id| is_access_key_id(id));
        report.add(
            Verdict::Mirror,
            format!("a mirror of {source}: the source's rotation writes it, once the source's bound user names it (contract §19)"),
            "nothing here: scan and rotate the source",
        );
        report.mirror_of = Some(source);
        return Some(report);
    }
    let (user_name, account_id, current_key, text) = match classify(&value) {
        Holding::Unrelated => return None,
        Holding::NotRotatable {
            what,
            access_key_id,
            fix,
        } => {
            report.held_key = access_key_id.clone();
            if let Some(id) = access_key_id {
                report.describe_stray_key(aws, id).await;
            }
            let fix = split_field(&report.name).map_or(fix, split_layout_fix);
            report.add(Verdict::NotRotatable, what, fix);
            return Some(report);
        }
        Holding::Rotatable {
            user_name,
            account_id,
            access_key_id,
            text,
        } => (user_name, account_id, access_key_id, text),
    };
    report.held_key = current_key.clone();
    // A text names no user: its key's owner does, as for the function (unless the template).
    let user_name = match (text, &current_key, &options.template) {
        (true, Some(id), None) => aws
            .last_used(id)
            .await
            .ok()
            .flatten()
            .and_then(|used| used.user),
        _ => user_name,
    };
    match resolve_user(
        user_name.as_deref(),
        options.template.as_ref(),
        &report.name,
    ) {
        Ok((user, source)) => {
            report.user = Some(user);
            let owner = text && options.template.is_none();
            report.user_source = Some(if owner { "key owner" } else { source.as_str() });
        }
        Err(NoUser::TemplateMismatch(reason)) => {
            report.add(
                Verdict::NotRotatable,
                format!("no UserName, and the user-name template does not fit the name: {reason}"),
                "add UserName to the value, or rename the secret to fit the template",
            );
            return Some(report);
        }
        Err(NoUser::NoUserName) if text => {
            report.add(Verdict::NotRotatable, "a text whose key IAM does not know in this account, so its user cannot be told", "put the user's key in the text, or set USER_NAME_TEMPLATE (as the function has it) / --user-name-template");
            return Some(report);
        }
        Err(NoUser::NoUserName) => {
            report.add(Verdict::NotRotatable, "the value has no UserName and no user-name template is set", "add UserName to the value, or set USER_NAME_TEMPLATE (as the function has it) / --user-name-template");
            return Some(report);
        }
    }
    // The user's IAM: this account's, or the member account's the value names (§17).
    let member = account_id.filter(|a| Some(a.as_str()) != arn_account(&report.arn));
    let iam: &dyn FleetAws = match &member {
        None => aws,
        Some(account) => match options.accounts.0.get(account) {
            Some(iam) => iam.as_ref(),
            None => {
                report.user_account = member.clone();
                report.add(
                    Verdict::Unreadable,
                    format!("its user is in account {account}, which this run did not enter"),
                    format!("scan with --accounts including {account} (and --role-name), or --organization"),
                );
                return Some(report);
            }
        },
    };
    report.user_account = member;
    if let Err(e) = report.observe(aws, iam, current_key, options).await {
        report.add(
            Verdict::Unreadable,
            format!("could not finish looking: {e}"),
            needs(&e),
        );
    }
    Some(report)
}

impl SecretReport {
    /// A key in a value the function cannot rotate: whose it is (GetAccessKeyLastUsed names the
    /// owner) and how it stands, so the operator knows what the fix touches. Best effort: a
    /// failed lookup leaves the key reported as not found.
    async fn describe_stray_key(&mut self, aws: &dyn FleetAws, id: String) {
        let mut key = KeyReport {
            id,
            exists: false,
            active: false,
            created: None,
            age_days: None,
            last_used: None,
            last_used_service: None,
            last_used_region: None,
        };
        if let Ok(Some(used)) = aws.last_used(&key.id).await {
            key.last_used = used.at.map(rfc3339);
            key.last_used_service = used.service;
            key.last_used_region = used.region;
            if let Some(owner) = used.user {
                if let Ok(Some(keys)) = aws.user_keys(&owner).await {
                    if let Some(listed) = keys.iter().find(|k| k.id == key.id) {
                        key.exists = true;
                        key.active = listed.status == KeyStatus::Active;
                        key.created = Some(rfc3339(epoch_seconds(listed.created)));
                    }
                }
                // Its ARN: `check_binds` matches a `--bind` on it, and the split layout's
                // `enable` starts from it (split.rs).
                if let Ok(Some(user)) = aws.user(&owner).await {
                    self.user_arn = Some(user.arn);
                }
                self.user = Some(owner);
                self.user_source = Some("key owner");
            }
        }
        self.key = Some(key);
    }
}
