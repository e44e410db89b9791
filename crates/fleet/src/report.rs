//! What `scan` reports of each secret and user: the shapes printed as a table or JSON, and the
//! wording of a failed read's fix. No AWS call is made here (`scan.rs` makes them); the verdicts
//! come from `verdict.rs`.

use serde::Serialize;

use super::aws::{Rotation, SecretEntry};
use super::verdict::{verdict_of, Finding, IamKey, PreviousKey, Verdict};
use iam_key_rotator::aws::AwsError;
use iam_key_rotator::binding::Binding;

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
    pub last_used_region: Option<String>,
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
    /// The member account the user is in, when the value names one other than the secret's (§17).
    pub user_account: Option<String>,
    /// `UserName` (the value names it) or `template` (derived from the secret's name).
    pub user_source: Option<&'static str>,
    /// The secret the user's `iam-key-rotator:secret` tag names, if any (§15).
    pub bound_to: Option<String>,
    /// The mirrors the bound user names for this secret (§19): where its rotation writes the key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<String>,
    /// The targets the user's tags name for this secret, bound or not: once an administrator
    /// binds it, they are its mirrors (`bind::sole_holder` counts them as its own).
    #[serde(skip)]
    pub named_mirrors: Vec<String>,
    /// The source this secret claims to mirror (its `iam-key-rotator:mirror-of` tag, §19).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror_of: Option<String>,
    #[serde(skip)]
    pub binding: Option<Binding>,
    #[serde(skip)]
    pub user_arn: Option<String>,
    pub key: Option<KeyReport>,
    /// The key in AWSPREVIOUS (when it is not the current one): how it stands, and where it was
    /// last used, so a consumer still on it can be found (§16).
    pub previous_key: Option<KeyReport>,
    /// The same key as IAM lists it, with its last use: what `rotate` judges by the function's
    /// own rule (§18).
    #[serde(skip)]
    pub previous: Option<PreviousKey>,
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
    /// The key id the AWSCURRENT value holds, in whatever form: what a second holder shares.
    #[serde(skip)]
    pub held_key: Option<String>,
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

/// The fix for a failed read: the missing permission when AWS refused, else what to check.
pub(crate) fn needs(error: &AwsError) -> String {
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
        let not_here = [
            Verdict::NotRotatable,
            Verdict::Unreadable,
            Verdict::Mirror,
            Verdict::Replica,
        ];
        not_here.contains(&self.verdict).then(|| {
            let detail = self
                .findings
                .first()
                .map(|f| f.detail.as_str())
                .unwrap_or_default();
            format!("{}: {detail}", self.verdict)
        })
    }

    pub(crate) fn new(mut entry: SecretEntry) -> Self {
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
            user_account: None,
            user_source: None,
            bound_to: None,
            mirrors: Vec::new(),
            named_mirrors: Vec::new(),
            mirror_of: None,
            binding: None,
            user_arn: None,
            key: None,
            previous_key: None,
            previous: None,
            foreign_keys: Vec::new(),
            // Reported from here; the entry keeps the versions.
            rotation: std::mem::take(&mut entry.rotation),
            pending: None,
            verdict: Verdict::Ok,
            findings: Vec::new(),
            entry,
            version_keys: Vec::new(),
            user_key_list: Vec::new(),
            held_key: None,
            pending_since: None,
        }
    }

    pub(crate) fn add(
        &mut self,
        verdict: Verdict,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.findings.push(Finding {
            verdict,
            detail: detail.into(),
            fix: fix.into(),
        });
        self.rejudge();
    }

    /// The verdict again, after the findings changed.
    pub(crate) fn rejudge(&mut self) {
        self.findings.sort_by_key(|f| f.verdict);
        self.verdict = verdict_of(&self.findings);
    }
}
