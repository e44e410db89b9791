//! `scan`: every secret, which of them hold AWS access keys, and how each one stands.

use super::aws::{FleetAws, SecretEntry};
use super::classify::{classify, Holding};
use super::key_report::key_report;
use super::report::{needs, KeyReport, PendingReport, ScanReport, SecretReport};
use super::select::Selection;
use super::time::{epoch_seconds, rfc3339};
use super::uncovered;
use super::verdict::{assess, verdict_of, IamKey, Limits, Observed, PreviousKey, Verdict};
use futures_util::stream::{self, StreamExt};
use iam_key_rotator::aws::AwsError;
use iam_key_rotator::aws::{KeyStatus, VersionRef, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use iam_key_rotator::binding::{binding_of, Binding};
use iam_key_rotator::user_name::{resolve_user, NoUser, UserNameTemplate};

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub template: Option<UserNameTemplate>,
    pub limits: Limits,
    /// Secrets looked at in parallel.
    pub concurrency: usize,
    /// List the users on this IAM path that hold keys but no secret.
    pub user_path: Option<String>,
}

/// Told how far a scan has got, for a progress bar.
pub trait Progress {
    fn start(&self, total: usize);
    fn advance(&self);
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
    let mut secrets: Vec<SecretReport> = stream::iter(entries)
        .map(|entry| inspect(aws, entry, options))
        .buffer_unordered(options.concurrency.max(1))
        .inspect(|_| progress.advance())
        .filter_map(|report| async move { report })
        .filter(|report| std::future::ready(selection.matches_verdict(report.verdict)))
        .collect()
        .await;
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
) -> Option<SecretReport> {
    let mut report = SecretReport::new(entry);
    let value = match aws.value(&report.arn, VersionRef::Stage(AWSCURRENT)).await {
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
    let (user_name, current_key) = match classify(&value) {
        Holding::Unrelated => return None,
        Holding::NotRotatable {
            what,
            access_key_id,
            fix,
        } => {
            if let Some(id) = access_key_id {
                report.describe_stray_key(aws, id).await;
            }
            report.add(Verdict::NotRotatable, what, fix);
            return Some(report);
        }
        Holding::Rotatable {
            user_name,
            access_key_id,
        } => (user_name, access_key_id),
    };
    match resolve_user(
        user_name.as_deref(),
        options.template.as_ref(),
        &report.name,
    ) {
        Ok((user, source)) => {
            report.user = Some(user);
            report.user_source = Some(source.as_str());
        }
        Err(NoUser::TemplateMismatch(reason)) => {
            report.add(
                Verdict::NotRotatable,
                format!("no UserName, and the user-name template does not fit the name: {reason}"),
                "add UserName to the value, or rename the secret to fit the template",
            );
            return Some(report);
        }
        Err(NoUser::NoUserName) => {
            report.add(Verdict::NotRotatable, "the value has no UserName and no user-name template is set", "add UserName to the value, or set USER_NAME_TEMPLATE (as the function has it) / --user-name-template");
            return Some(report);
        }
    }
    if let Err(e) = report.observe(aws, current_key, options).await {
        report.add(
            Verdict::Unreadable,
            format!("could not finish looking: {e}"),
            needs(&e),
        );
    }
    Some(report)
}

impl SecretReport {
    /// IAM and the other versions, then the verdict.
    async fn observe(
        &mut self,
        aws: &dyn FleetAws,
        current_key: Option<String>,
        options: &ScanOptions,
    ) -> Result<(), AwsError> {
        let user = self.user.clone().unwrap_or_default();
        if let Some(iam_user) = aws.user(&user).await? {
            self.binding = Some(binding_of(&iam_user.tags, &self.arn));
            self.bound_to = match &self.binding {
                Some(Binding::Bound) => Some(self.arn.clone()),
                Some(Binding::BoundElsewhere(other)) => Some(other.clone()),
                _ => None,
            };
            self.user_arn = Some(iam_user.arn);
        }
        let user_keys: Option<Vec<IamKey>> = aws.user_keys(&user).await?.map(|keys| {
            keys.into_iter()
                .map(|k| IamKey {
                    id: k.id,
                    active: k.status == KeyStatus::Active,
                    created: epoch_seconds(k.created),
                })
                .collect()
        });

        let mut version_keys: Vec<String> = current_key.iter().cloned().collect();
        let mut other_version_keys = Vec::new();
        let mut previous_key = None;
        for stage in [AWSPREVIOUS, AWSPENDING] {
            let Some(version) = self.entry.version_with(stage) else {
                continue;
            };
            if self.entry.versions[version].iter().any(|s| s == AWSCURRENT) {
                continue;
            }
            let held = aws.value(&self.arn, VersionRef::Id(version)).await?;
            if let Some(Holding::Rotatable {
                access_key_id: Some(id),
                ..
            }) = held.as_ref().map(classify)
            {
                other_version_keys.push(id.clone());
                version_keys.push(id.clone());
                if stage == AWSPREVIOUS && current_key.as_ref() != Some(&id) {
                    previous_key = Some(id.clone());
                }
                if stage == AWSPENDING {
                    self.pending = Some(PendingReport {
                        version_id: version.to_owned(),
                        created: None,
                        key_id: Some(id),
                    });
                }
            }
        }
        let mut pending_since = None;
        if let Some(version) = self.entry.stray_pending().map(str::to_owned) {
            pending_since = aws.version_created(&self.arn, &version).await?;
            let pending = self.pending.get_or_insert(PendingReport {
                version_id: version,
                created: None,
                key_id: None,
            });
            pending.created = pending_since.map(rfc3339);
        }

        let now = options.limits.now;
        if let Some(id) = &current_key {
            self.key = Some(key_report(aws, id, user_keys.as_deref(), now).await?.0);
        }
        let mut previous = None;
        if let Some(id) = &previous_key {
            let (report, used) = key_report(aws, id, user_keys.as_deref(), now).await?;
            let listed = user_keys.iter().flatten().find(|k| &k.id == id).cloned();
            previous = listed.map(|key| PreviousKey { key, used });
            self.previous_key = Some(report);
        }
        self.foreign_keys = user_keys
            .iter()
            .flatten()
            .map(|k| k.id.clone())
            .filter(|id| !version_keys.contains(id))
            .collect();

        let seen = Observed {
            current_key,
            other_version_keys,
            user_keys: user_keys.clone(),
            rotation_enabled: self.rotation.enabled,
            last_rotated: self.rotation.last_rotated,
            next_rotation: self.rotation.next_rotation,
            pending_since,
            user,
            secret_arn: self.arn.clone(),
            binding: self.binding.clone(),
            previous_key: previous,
        };
        self.findings = assess(&seen, &options.limits);
        self.verdict = verdict_of(&self.findings);
        self.version_keys = version_keys;
        self.user_key_list = user_keys.unwrap_or_default();
        self.pending_since = pending_since;
        Ok(())
    }
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
                self.user = Some(owner);
                self.user_source = Some("key owner");
            }
        }
        self.key = Some(key);
    }
}
