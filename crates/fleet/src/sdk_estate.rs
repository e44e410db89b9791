//! [`Estate`] over the AWS SDK: Organizations ListAccounts, and each account entered by
//! sts:AssumeRole of `--role-name` (with `--external-id` if given), one session per account kept
//! for the run and shared by its Regions. The caller's own account is entered with its own
//! credentials.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_config::{Region, SdkConfig};
use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider};
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
    own_account: OnceCell<String>,
    /// Account id to the role session's credentials (or why there is none).
    sessions: Mutex<HashMap<String, Result<Credentials, String>>>,
}

impl SdkEstate {
    pub fn new(base: &SdkConfig, role_name: String, external_id: Option<String>) -> Self {
        SdkEstate {
            base: base.clone(),
            role_name,
            external_id,
            own_account: OnceCell::new(),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn role_arn(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:role/{}", self.role_name)
    }

    /// The account the credentials are in (sts:GetCallerIdentity, once).
    pub async fn own_account_id(&self) -> Result<String, AwsError> {
        self.own_account().await.map(str::to_owned)
    }

    async fn own_account(&self) -> Result<&str, AwsError> {
        let sts = aws_sdk_sts::Client::new(&self.base);
        let account = self
            .own_account
            .get_or_try_init(|| async {
                let identity = answer("sts", "GetCallerIdentity", sts.get_caller_identity().send());
                Ok::<_, AwsError>(identity.await?.account().unwrap_or_default().to_owned())
            })
            .await?;
        Ok(account.as_str())
    }

    /// The role session in `account`, assumed once per run.
    async fn session(&self, account: &str) -> Result<Credentials, String> {
        let mut sessions = self.sessions.lock().await;
        if let Some(held) = sessions.get(account) {
            return held.clone();
        }
        let role_arn = self.role_arn(account);
        let sts = aws_sdk_sts::Client::new(&self.base);
        let request = sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(SESSION_NAME)
            .set_external_id(self.external_id.clone());
        let session = match answer("sts", "AssumeRole", request.send()).await {
            Ok(out) => out
                .credentials()
                .map(|c| {
                    let expires = SystemTime::try_from(*c.expiration()).ok();
                    Credentials::new(
                        c.access_key_id(),
                        c.secret_access_key(),
                        Some(c.session_token().to_owned()),
                        expires,
                        "fleet-role",
                    )
                })
                .ok_or_else(|| format!("sts:AssumeRole of {role_arn} gave no credentials")),
            Err(e) => Err(format!(
                "cannot enter account {account}: sts:AssumeRole of {role_arn} was refused ({e}). The role must exist there and trust this identity (Organizations makes {} trusting the management account); set --role-name (and --external-id) to another role",
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
        let own = self
            .own_account()
            .await
            .map_err(|e| format!("cannot tell which account these credentials are in: {e}"))?;
        let mut config = self.base.to_builder();
        config.set_region(Some(Region::new(region.to_owned())));
        if account != own {
            let credentials = self.session(account).await?;
            config.set_credentials_provider(Some(SharedCredentialsProvider::new(credentials)));
        }
        Ok(Arc::new(SdkFleet::new(&config.build())))
    }
}
