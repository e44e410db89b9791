//! The fleet across an estate (§17): several accounts (a list, or the organization's active
//! ones) and several Regions, a few targets at a time. One report with a part per account and
//! Region; an account that cannot be entered is a part with its reason, not the end of the run.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::aws::FleetAws;
use super::duplicate_keys;
use super::report::ScanReport;
use super::scan::{scan, Accounts, Progress, ScanOptions};
use super::select::Selection;
use iam_key_rotator::aws::AwsError;

/// The read-only role of `scanner-role.yaml`: what a scan needs in each account, and no more.
/// (OrganizationAccountAccessRole, which Organizations makes in the accounts it creates, is an
/// administrator: name it with --role-name only where the scanner role is not deployed.)
pub const DEFAULT_ROLE_NAME: &str = "iam-key-fleet-scanner";

/// An account as Organizations lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgAccount {
    pub id: String,
    /// ACTIVE, SUSPENDED, PENDING_CLOSURE, ...: only ACTIVE accounts are scanned.
    pub state: String,
}

/// How the fleet reaches the accounts of an estate.
#[async_trait]
pub trait Estate: Send + Sync {
    /// Organizations ListAccounts, every page (from the management or a delegated account).
    async fn organization_accounts(&self) -> Result<Vec<OrgAccount>, AwsError>;

    /// The fleet's calls in `account` and `region`: the caller's own credentials in its own
    /// account, the role assumed there in any other. `Err`: why the account cannot be entered,
    /// naming the role.
    async fn enter(&self, account: &str, region: &str) -> Result<Arc<dyn FleetAws>, String>;

    /// The Regions `account` has enabled (account:ListRegions, as the account itself sees it).
    /// `Err`: why they cannot be listed.
    async fn enabled_regions(&self, account: &str) -> Result<Vec<String>, String>;
}

/// Which Regions of each account to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Regions {
    Listed(Vec<String>),
    /// Every Region the account has enabled, whichever they are in each account.
    Enabled,
}

/// The active accounts of the organization, and how many were skipped (suspended, closing).
pub async fn active_accounts(estate: &dyn Estate) -> Result<(Vec<String>, usize), AwsError> {
    let listed = estate.organization_accounts().await?;
    let total = listed.len();
    let mut active: Vec<String> = listed
        .into_iter()
        .filter(|a| a.state == "ACTIVE")
        .map(|a| a.id)
        .collect();
    active.sort();
    let skipped = total - active.len();
    Ok((active, skipped))
}

/// What an estate scan covers.
#[derive(Debug, Clone)]
pub struct Targets {
    pub accounts: Vec<String>,
    pub regions: Regions,
    /// Where the accounts are entered first (the configured Region).
    pub home_region: String,
    /// Accounts and Regions scanned at once.
    pub parallel: usize,
}

/// An account's view, or why it cannot be entered.
type Entered = Result<Arc<dyn FleetAws>, String>;

/// One account and Region of the run.
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    pub account: String,
    /// `None` for an account that could not be entered at all.
    pub region: Option<String>,
    /// Why this account, or this Region of it, could not be scanned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanReport>,
}

/// The shape of `scan --json`, one target or many: a consumer checks it before reading on.
pub const SCAN_SCHEMA: &str = "iam-key-fleet/scan/v1";

#[derive(Debug, Clone, Serialize)]
pub struct EstateReport {
    /// [`SCAN_SCHEMA`].
    pub schema: &'static str,
    /// Sorted by account, then Region.
    pub targets: Vec<TargetReport>,
    /// Accounts of the organization left out as not active (with --organization).
    pub accounts_skipped: usize,
}

/// Scans every Region of every account, `parallel` targets at a time. Every account is entered
/// first (IAM is global), so that a secret whose user is in another entered account is judged
/// with that account's IAM.
pub async fn scan_estate(
    estate: &dyn Estate,
    targets: &Targets,
    selection: &Selection,
    options: &ScanOptions,
    progress: &dyn Progress,
) -> EstateReport {
    let Targets {
        accounts,
        regions,
        home_region,
        parallel,
    } = targets;
    let parallel = (*parallel).max(1);
    let entered: Vec<(String, Entered)> = stream::iter(accounts)
        .map(|account| async move { (account.clone(), estate.enter(account, home_region).await) })
        .buffer_unordered(parallel)
        .collect()
        .await;
    let mut targets = Vec::new();
    let mut iam = BTreeMap::new();
    for (account, result) in entered {
        match result {
            Ok(aws) => {
                iam.insert(account, aws);
            }
            Err(reason) => targets.push(TargetReport {
                account,
                region: None,
                error: Some(reason),
                scan: None,
            }),
        }
    }
    let options = ScanOptions {
        accounts: Accounts(iam.clone()),
        ..options.clone()
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    for account in iam.keys() {
        let listed = match regions {
            Regions::Listed(listed) => Ok(listed.clone()),
            Regions::Enabled => estate.enabled_regions(account).await,
        };
        match listed {
            Ok(listed) => pairs.extend(listed.into_iter().map(|r| (account.clone(), r))),
            Err(reason) => targets.push(TargetReport {
                account: account.clone(),
                region: None,
                error: Some(reason),
                scan: None,
            }),
        }
    }
    let options = &options;
    // Every secret is judged first; the selection by verdict comes after duplicate keys are
    // looked for across the whole run.
    let every_verdict = &Selection {
        verdicts: Vec::new(),
        ..selection.clone()
    };
    progress.targets(pairs.len());
    let scanned: Vec<TargetReport> = stream::iter(pairs)
        .map(|(account, region)| async move {
            let result = match estate.enter(&account, &region).await {
                Ok(aws) => scan(aws.as_ref(), every_verdict, options, progress)
                    .await
                    .map_err(|e| format!("could not list its secrets: {e}: grant the identity secretsmanager:ListSecrets")),
                Err(reason) => Err(reason),
            };
            let (scan, error) = match result {
                Ok(report) => (Some(report), None),
                Err(reason) => (None, Some(reason)),
            };
            progress.target_done();
            TargetReport {
                account,
                region: Some(region),
                error,
                scan,
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    targets.extend(scanned);
    let reports = targets.iter_mut().filter_map(|t| t.scan.as_mut());
    duplicate_keys::mark(
        &mut reports
            .flat_map(|s| s.secrets.iter_mut())
            .collect::<Vec<_>>(),
    );
    for scanned in targets.iter_mut().filter_map(|t| t.scan.as_mut()) {
        scanned
            .secrets
            .retain(|report| selection.matches_verdict(report.verdict));
    }
    targets.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
    EstateReport {
        schema: SCAN_SCHEMA,
        targets,
        accounts_skipped: 0,
    }
}
