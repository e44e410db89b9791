//! `scan`: every secret, which of them hold AWS access keys, and how each one stands.

use std::collections::BTreeSet;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::aws::{FleetAws, Rotation, SecretEntry};
use super::classify::{classify, Holding};
use super::select::Selection;
use super::time::{epoch_seconds, rfc3339};
use super::verdict::{assess, verdict_of, Finding, IamKey, Limits, Observed, Verdict};
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

#[derive(Debug, Clone, Serialize)]
pub struct KeyReport {
    pub id: String,
    pub exists: bool,
    pub active: bool,
    /// RFC 3339.
    pub created: Option<String>,
    pub age_days: Option<i64>,
    pub last_used: Option<String>,
    pub last_used_service: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PendingReport {
    pub version_id: String,
    pub created: Option<String>,
    /// The key id in the pending value, if it holds one.
    pub key_id: Option<String>,
}

/// One secret that holds (or is meant to hold) AWS access keys.
#[derive(Debug, Clone, Serialize)]
pub struct SecretReport {
    pub name: String,
    pub arn: String,
    /// From the `<app>/<env>/<secret-name>` naming convention, when the name follows it.
    pub app: Option<String>,
    pub env: Option<String>,
    pub user: Option<String>,
    /// `UserName` (the value names it) or `template` (derived from the secret's name).
    pub user_source: Option<&'static str>,
    /// The secret the user's `iam-key-rotator:secret` tag names, if any (§15).
    pub bound_to: Option<String>,
    #[serde(skip)]
    pub binding: Option<Binding>,
    #[serde(skip)]
    pub user_arn: Option<String>,
    pub key: Option<KeyReport>,
    /// The user's keys that no version of the secret holds.
    pub foreign_keys: Vec<String>,
    pub rotation: Rotation,
    pub pending: Option<PendingReport>,
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    #[serde(skip)]
    pub entry: SecretEntry,
    /// The versions' key ids (AWSCURRENT, AWSPREVIOUS, AWSPENDING): users holding none of
    /// them are the ones with keys but no secret.
    #[serde(skip)]
    pub version_keys: Vec<String>,
    #[serde(skip)]
    pub user_key_list: Vec<IamKey>,
    /// When the stray AWSPENDING version was created (seconds since the epoch).
    #[serde(skip)]
    pub pending_since: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UserReport {
    pub user: String,
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    /// Secrets listed (after the selection's name and tag filters).
    pub secrets_listed: usize,
    pub secrets: Vec<SecretReport>,
    /// With `--user-path`: users there with keys that no scanned secret is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users_without_secret: Option<Vec<UserReport>>,
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
        Some(path) => Some(users_without_secret(aws, path, &secrets, options.concurrency).await?),
        None => None,
    };
    Ok(ScanReport {
        secrets_listed,
        secrets,
        users_without_secret,
    })
}

async fn users_without_secret(
    aws: &dyn FleetAws,
    path: &str,
    secrets: &[SecretReport],
    concurrency: usize,
) -> Result<Vec<UserReport>, AwsError> {
    // A user is covered when a secret is for it, or holds one of its keys (even a secret the
    // function cannot rotate: that one is reported as such already).
    let covered_users: BTreeSet<&str> = secrets.iter().filter_map(|s| s.user.as_deref()).collect();
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

/// The fix for a failed read: the missing permission when AWS refused, else what to check.
fn needs(error: &AwsError) -> String {
    let permission = format!("{}:{}", error.service, error.operation);
    let kms = if error.operation == "GetSecretValue" {
        " (and kms:Decrypt on the secret's KMS key)"
    } else {
        ""
    };
    if error.is_transient() {
        "try again: the error is transient".into()
    } else if error
        .code
        .as_deref()
        .is_some_and(|c| c.contains("AccessDenied"))
    {
        format!("grant the scanning identity {permission}{kms}")
    } else {
        format!("check that the scanning identity can call {permission}{kms}")
    }
}

impl SecretReport {
    /// Why enable, rotate and unstick leave this secret alone: the function could not rotate it,
    /// or the scan could not read it.
    pub fn why_not_actionable(&self) -> Option<String> {
        matches!(self.verdict, Verdict::NotRotatable | Verdict::Unreadable).then(|| {
            let detail = self
                .findings
                .first()
                .map(|f| f.detail.as_str())
                .unwrap_or_default();
            format!("{}: {detail}", self.verdict)
        })
    }

    fn new(mut entry: SecretEntry) -> Self {
        let segments: Vec<&str> = entry.name.split('/').collect();
        let (app, env) = match segments.as_slice() {
            [app, env, name] if !app.is_empty() && !env.is_empty() && !name.is_empty() => {
                (Some(app.to_string()), Some(env.to_string()))
            }
            _ => (None, None),
        };
        SecretReport {
            name: entry.name.clone(),
            arn: entry.arn.clone(),
            app,
            env,
            user: None,
            user_source: None,
            bound_to: None,
            binding: None,
            user_arn: None,
            key: None,
            foreign_keys: Vec::new(),
            // Reported from here; the entry keeps the versions.
            rotation: std::mem::take(&mut entry.rotation),
            pending: None,
            verdict: Verdict::Ok,
            findings: Vec::new(),
            entry,
            version_keys: Vec::new(),
            user_key_list: Vec::new(),
            pending_since: None,
        }
    }

    fn add(&mut self, verdict: Verdict, detail: impl Into<String>, fix: impl Into<String>) {
        self.findings.push(Finding {
            verdict,
            detail: detail.into(),
            fix: fix.into(),
        });
        self.findings.sort_by_key(|f| f.verdict);
        self.verdict = verdict_of(&self.findings);
    }

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

        if let Some(id) = &current_key {
            let listed = user_keys
                .as_ref()
                .and_then(|keys| keys.iter().find(|k| &k.id == id));
            let last_used = match listed {
                Some(_) => aws.last_used(id).await?.unwrap_or_default(),
                None => Default::default(),
            };
            self.key = Some(KeyReport {
                id: id.clone(),
                exists: listed.is_some(),
                active: listed.is_some_and(|k| k.active),
                created: listed.map(|k| rfc3339(k.created)),
                age_days: listed.map(|k| (options.limits.now - k.created) / 86_400),
                last_used: last_used.at.map(rfc3339),
                last_used_service: last_used.service,
            });
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
        };
        if let Ok(Some(used)) = aws.last_used(&key.id).await {
            key.last_used = used.at.map(rfc3339);
            key.last_used_service = used.service;
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
