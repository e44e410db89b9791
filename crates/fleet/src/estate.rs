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
    let parallel = targets.parallel.max(1);
    let (iam, mut reports) = enter_accounts(estate, targets).await;
    let (places, unlisted) = places(estate, iam.keys(), &targets.regions).await;
    let unlisted = unlisted.into_iter();
    reports.extend(unlisted.map(|(account, why)| TargetReport::refused(account, None, why)));
    let options = &ScanOptions {
        accounts: Accounts(iam),
        ..options.clone()
    };
    // Every secret is judged first; the selection by verdict comes after duplicate keys are
    // looked for across the whole run.
    let every_verdict = &Selection {
        verdicts: Vec::new(),
        ..selection.clone()
    };
    progress.targets(places.len());
    let scanned: Vec<TargetReport> = stream::iter(places)
        .map(|(account, region)| async move {
            let report = scan_target(estate, account, region, every_verdict, options, progress);
            let report = report.await;
            progress.target_done();
            report
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    reports.extend(scanned);
    judge_across(&mut reports, selection);
    reports.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
    EstateReport {
        schema: SCAN_SCHEMA,
        targets: reports,
        accounts_skipped: 0,
    }
}

impl TargetReport {
    /// An account, or a Region of it, that could not be scanned, and why.
    fn refused(account: String, region: Option<String>, reason: String) -> Self {
        TargetReport {
            account,
            region,
            error: Some(reason),
            scan: None,
        }
    }
}

/// Every account entered in the home Region (IAM is global): each one's view, and a report for
/// each that could not be entered.
async fn enter_accounts(
    estate: &dyn Estate,
    targets: &Targets,
) -> (BTreeMap<String, Arc<dyn FleetAws>>, Vec<TargetReport>) {
    let home = &targets.home_region;
    let entered: Vec<(String, Entered)> = stream::iter(&targets.accounts)
        .map(|account| async move { (account.clone(), estate.enter(account, home).await) })
        .buffer_unordered(targets.parallel.max(1))
        .collect()
        .await;
    let (mut iam, mut refused) = (BTreeMap::new(), Vec::new());
    for (account, result) in entered {
        match result {
            Ok(aws) => drop(iam.insert(account, aws)),
            Err(reason) => refused.push(TargetReport::refused(account, None, reason)),
        }
    }
    (iam, refused)
}

/// The (account, Region) pairs to look at, each account's Regions as `regions` says, and, for
/// each account whose enabled Regions could not be listed, why.
pub(crate) async fn places<'a>(
    estate: &dyn Estate,
    accounts: impl IntoIterator<Item = &'a String>,
    regions: &Regions,
) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let (mut places, mut unlisted) = (Vec::new(), Vec::new());
    for account in accounts {
        let listed = match regions {
            Regions::Listed(listed) => Ok(listed.clone()),
            Regions::Enabled => estate.enabled_regions(account).await,
        };
        match listed {
            Ok(listed) => places.extend(listed.into_iter().map(|r| (account.clone(), r))),
            Err(reason) => unlisted.push((account.clone(), reason)),
        }
    }
    (places, unlisted)
}

async fn scan_target(
    estate: &dyn Estate,
    account: String,
    region: String,
    selection: &Selection,
    options: &ScanOptions,
    progress: &dyn Progress,
) -> TargetReport {
    let aws = match estate.enter(&account, &region).await {
        Ok(aws) => aws,
        Err(reason) => return TargetReport::refused(account, Some(region), reason),
    };
    match scan(aws.as_ref(), selection, options, progress).await {
        Ok(report) => TargetReport {
            account,
            region: Some(region),
            error: None,
            scan: Some(report),
        },
        Err(e) => {
            let reason = format!(
                "could not list its secrets: {e}: grant the identity secretsmanager:ListSecrets"
            );
            TargetReport::refused(account, Some(region), reason)
        }
    }
}

/// `duplicate-key` across every target, then the selection by verdict.
fn judge_across(targets: &mut [TargetReport], selection: &Selection) {
    let scans = targets.iter_mut().filter_map(|t| t.scan.as_mut());
    let mut every: Vec<_> = scans.flat_map(|s| s.secrets.iter_mut()).collect();
    duplicate_keys::mark(&mut every);
    for scanned in targets.iter_mut().filter_map(|t| t.scan.as_mut()) {
        scanned
            .secrets
            .retain(|report| selection.matches_verdict(report.verdict));
    }
}
