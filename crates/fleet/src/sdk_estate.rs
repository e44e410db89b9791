//! [`Estate`] over the AWS SDK: Organizations ListAccounts, and each account entered by
//! sts:AssumeRole of `--role-name` (with `--external-id` if given), one session per account for
//! the run, shared by its Regions and renewed before it expires. The caller's own account is
//! entered with its own credentials.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_sdk_account::types::RegionOptStatus;
use aws_sdk_iam::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_iam::error::DisplayErrorContext;
use tokio::sync::{Mutex, OnceCell};

use super::aws::FleetAws;
use super::estate::{Estate, OrgAccount};
use super::sdk::SdkFleet;
use iam_key_rotator::aws::{answer, sdk_error, AwsError};

/// Shown in each account's CloudTrail as the session name.
const SESSION_NAME: &str = "iam-key-fleet";

pub struct SdkEstate {
    base: SdkConfig,
    role_name: String,
    external_id: Option<String>,
    /// The credentials' own account and partition (sts:GetCallerIdentity, once).
    own: OnceCell<(String, String)>,
    /// Account id to the role's credentials (or why there are none).
    sessions: Mutex<HashMap<String, Result<SharedCredentialsProvider, String>>>,
}

impl SdkEstate {
    pub fn new(base: &SdkConfig, role_name: String, external_id: Option<String>) -> Self {
        SdkEstate {
            base: base.clone(),
            role_name,
            external_id,
            own: OnceCell::new(),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// The role in `account`, in the credentials' partition. A `--role-name` with a path
    /// (`team/role`) gives the role at that path.
    async fn role_arn(&self, account: &str) -> Result<String, AwsError> {
        let (_, partition) = self.own().await?;
        Ok(format!(
            "arn:{partition}:iam::{account}:role/{}",
            self.role_name
        ))
    }

    /// The account the credentials are in.
    pub async fn own_account_id(&self) -> Result<String, AwsError> {
        Ok(self.own().await?.0.clone())
    }

    async fn own(&self) -> Result<&(String, String), AwsError> {
        let sts = aws_sdk_sts::Client::new(&self.base);
        self.own
            .get_or_try_init(|| async {
                let identity = answer("sts", "GetCallerIdentity", sts.get_caller_identity().send());
                let identity = identity.await?;
                let arn = identity.arn().unwrap_or_default();
                let partition = arn.split(':').nth(1).unwrap_or("aws").to_owned();
                Ok((identity.account().unwrap_or_default().to_owned(), partition))
            })
            .await
    }

    /// The SDK configuration for `account` in `region`: the credentials' own in their own
    /// account, the role session's in any other.
    async fn config_in(&self, account: &str, region: &str) -> Result<SdkConfig, String> {
        let (own, _) = self
            .own()
            .await
            .map_err(|e| format!("cannot tell which account these credentials are in: {e}"))?;
        let mut config = self.base.to_builder();
        config.set_region(Some(Region::new(region.to_owned())));
        if account != own {
            let credentials = self.session(account).await?;
            config.set_credentials_provider(Some(credentials));
        }
        Ok(config.build())
    }

    /// The role's credentials in `account`: aws-config's AssumeRoleProvider, one per account for
    /// the run, behind the configuration's identity cache, which assumes the role again before
    /// the session expires (a scan may outlast it). Assumed once here first, so that an account
    /// that cannot be entered says so at once, naming the role.
    async fn session(&self, account: &str) -> Result<SharedCredentialsProvider, String> {
        let mut sessions = self.sessions.lock().await;
        if let Some(held) = sessions.get(account) {
            return held.clone();
        }
        let role_arn = self
            .role_arn(account)
            .await
            .map_err(|e| format!("cannot tell which account these credentials are in: {e}"))?;
        let mut provider = AssumeRoleProvider::builder(&role_arn)
            .session_name(SESSION_NAME)
            .configure(&self.base);
        if let Some(id) = &self.external_id {
            provider = provider.external_id(id);
        }
        let provider = provider.build().await;
        let session = match provider.provide_credentials().await {
            Ok(_) => Ok(SharedCredentialsProvider::new(provider)),
            Err(e) => Err(format!(
                "cannot enter account {account}: sts:AssumeRole of {role_arn} was refused ({}). The role must exist there and trust this identity (scanner-role.yaml makes {} for one named principal); set --role-name (and --external-id) to another role",
                DisplayErrorContext(&e),
                super::estate::DEFAULT_ROLE_NAME
            )),
        };
        sessions.insert(account.to_owned(), session.clone());
        session
    }
}

#[async_trait]
impl Estate for SdkEstate {
    async fn organization_accounts(&self) -> Result<Vec<OrgAccount>, AwsError> {
        let client = aws_sdk_organizations::Client::new(&self.base);
        let mut pages = client.list_accounts().into_paginator().send();
        let mut accounts = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("organizations", "ListAccounts", e))?;
            for account in page.accounts() {
                // State is the newer field; Status is what older answers (and emulators) give.
                let state = account
                    .state()
                    .map(|s| s.as_str().to_owned())
                    .or_else(|| account.status().map(|s| s.as_str().to_owned()))
                    .unwrap_or_default();
                let id = account.id().unwrap_or_default().to_owned();
                accounts.push(OrgAccount { id, state });
            }
        }
        Ok(accounts)
    }

    async fn enter(&self, account: &str, region: &str) -> Result<Arc<dyn FleetAws>, String> {
        let config = self.config_in(account, region).await?;
        Ok(Arc::new(SdkFleet::new(&config)))
    }

    async fn enabled_regions(&self, account: &str) -> Result<Vec<String>, String> {
        let home = self
            .base
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default();
        let client = aws_sdk_account::Client::new(&self.config_in(account, &home).await?);
        let enabled = [RegionOptStatus::Enabled, RegionOptStatus::EnabledByDefault];
        let request = client
            .list_regions()
            .set_region_opt_status_contains(Some(enabled.to_vec()));
        let mut pages = request.into_paginator().send();
        let mut regions = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                let e = sdk_error("account", "ListRegions", e);
                format!("cannot list the Regions account {account} has enabled: {e}. The identity (or --role-name) needs account:ListRegions; or name the Regions with --regions")
            })?;
            regions.extend(
                page.regions()
                    .iter()
                    .filter_map(|r| r.region_name())
                    .map(str::to_owned),
            );
        }
        regions.sort();
        Ok(regions)
    }
}
