//! An in-memory organization behind [`Estate`]: an estate per account and Region, accounts the
//! fleet cannot enter (with AWS's reason), and the organization's listing with their states. Each
//! Region has its own estate; a test puts a member account's users in its first Region's.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use iam_key_fleet::aws::FleetAws;
use iam_key_fleet::estate::{Estate, OrgAccount};
use iam_key_rotator::aws::AwsError;

use super::fake::FakeEstate;

#[derive(Default)]
pub struct FakeOrg {
    pub estates: BTreeMap<(String, String), Arc<FakeEstate>>,
    pub refused: BTreeMap<String, String>,
    pub listed: Vec<OrgAccount>,
    /// Account to the Regions it has enabled; by default, those it has an estate in.
    pub enabled: BTreeMap<String, Vec<String>>,
    /// Accounts whose Regions cannot be listed, with AWS's reason.
    pub regions_refused: BTreeMap<String, String>,
    /// Every (account, Region) entered, in order.
    pub entered: Mutex<Vec<(String, String)>>,
}

impl FakeOrg {
    /// The estate of `account` in `region`, made on first use, listed ACTIVE.
    pub fn estate(&mut self, account: &str, region: &str) -> Arc<FakeEstate> {
        if !self.listed.iter().any(|a| a.id == account) {
            let state = "ACTIVE".to_owned();
            self.listed.push(OrgAccount {
                id: account.into(),
                state,
            });
        }
        let key = (account.to_owned(), region.to_owned());
        let made = || Arc::new(FakeEstate::at(account, region));
        self.estates.entry(key).or_insert_with(made).clone()
    }
}

#[async_trait]
impl Estate for FakeOrg {
    async fn organization_accounts(&self) -> Result<Vec<OrgAccount>, AwsError> {
        Ok(self.listed.clone())
    }

    async fn enter(&self, account: &str, region: &str) -> Result<Arc<dyn FleetAws>, String> {
        self.entered
            .lock()
            .unwrap()
            .push((account.into(), region.into()));
        if let Some(reason) = self.refused.get(account) {
            return Err(reason.clone());
        }
        let key = (account.to_owned(), region.to_owned());
        let estate = self.estates.get(&key).cloned().unwrap_or_default();
        Ok(estate)
    }

    async fn enabled_regions(&self, account: &str) -> Result<Vec<String>, String> {
        if let Some(reason) = self.regions_refused.get(account) {
            return Err(reason.clone());
        }
        if let Some(regions) = self.enabled.get(account) {
            return Ok(regions.clone());
        }
        let of_account = self.estates.keys().filter(|(a, _)| a == account);
        Ok(of_account.map(|(_, region)| region.clone()).collect())
    }
}
