//! Which secrets hold which access keys, in every enabled Region of every account of the run:
//! the evidence `enable` prints for an unbound user, and what it consults before it binds one
//! (§15). A key pair proves that a secret holds the user's key, not that it is the secret the key
//! belongs in: whoever holds a leaked key can store it in a secret of their own, in any Region or
//! account they may write. So a user is bound, at an administrator's word, only when no other
//! secret holds any of its keys, in any form (a JSON value in either naming, a plain string, a
//! credentials file).

use std::collections::BTreeMap;

use futures_util::stream::{self, StreamExt};

use super::aws::FleetAws;
use super::classify::key_ids_in;
use super::estate::{places, Estate, Regions};
use super::mirrors::claimed_source;
use super::values::Values;
use iam_key_rotator::aws::AwsError;

/// Access key id to the ARNs of the secrets whose AWSCURRENT value holds it; and the source each
/// secret claims to mirror (§19), by ARN.
#[derive(Debug, Default)]
pub struct KeyHolders(BTreeMap<String, Vec<String>>, BTreeMap<String, String>);

impl KeyHolders {
    /// Reads the AWSCURRENT value of every secret of the account and Region (ListSecrets, then
    /// BatchGetSecretValue where allowed, else GetSecretValue, `concurrency` at a time). A value
    /// that cannot be read might hold any key, so it fails the whole listing: nothing is bound on
    /// a guess.
    pub async fn of_account(aws: &dyn FleetAws, concurrency: usize) -> Result<Self, AwsError> {
        let entries = aws.list_secrets().await?;
        let mut holders = KeyHolders::default();
        for entry in &entries {
            if let Some(source) = claimed_source(&entry.tags) {
                holders.1.insert(entry.arn.clone(), source);
            }
        }
        let arns: Vec<String> = entries.into_iter().map(|e| e.arn).collect();
        let values = &Values::read_ahead(aws, &arns, concurrency).await;
        let read: Vec<(String, Result<_, AwsError>)> = stream::iter(arns)
            .map(|arn| async move {
                let value = values.current(aws, &arn).await;
                (arn, value)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        for (arn, value) in read {
            for key_id in value?.as_ref().map(key_ids_in).unwrap_or_default() {
                holders.0.entry(key_id).or_default().push(arn.clone());
            }
        }
        Ok(holders)
    }

    /// The secrets that hold one of `key_ids`, each once.
    pub fn of(&self, key_ids: &[String]) -> Vec<String> {
        let mut holders: Vec<String> = key_ids
            .iter()
            .filter_map(|id| self.0.get(id))
            .flatten()
            .cloned()
            .collect();
        holders.sort();
        holders.dedup();
        holders
    }

    /// Whether the secret `arn` claims `source` as the source it mirrors.
    pub fn claims(&self, arn: &str, source: &str) -> bool {
        self.1.get(arn).is_some_and(|s| s == source)
    }

    /// The secrets other than `secret_arn` that hold one of `key_ids`, each once.
    pub fn others(&self, key_ids: &[String], secret_arn: &str) -> Vec<String> {
        let mut others = self.of(key_ids);
        others.retain(|arn| arn != secret_arn);
        others
    }

    fn merge(&mut self, other: KeyHolders) {
        for (id, arns) in other.0 {
            self.0.entry(id).or_default().extend(arns);
        }
        self.1.extend(other.1);
    }
}

/// Where the holders are looked for: every Region each account has enabled.
pub struct Scope<'a> {
    pub estate: &'a dyn Estate,
    /// The credentials' own account first, then the others of the run.
    pub accounts: Vec<String>,
    /// Accounts and Regions read at once.
    pub parallel: usize,
    /// Secrets read at once in each.
    pub concurrency: usize,
}

/// The holders found, and what could not be read: nothing is bound while that is not empty.
#[derive(Debug, Default)]
pub struct Claims {
    pub holders: KeyHolders,
    /// Why an account, or a Region of it, could not be read.
    pub unread: Vec<String>,
    /// Accounts and Regions read.
    pub places: usize,
}

/// Why a secret cannot be taken for the sole holder of a key.
#[derive(Debug, PartialEq, Eq)]
pub enum NotSole {
    /// Some account or Region of the run could not be read: it may hold the key.
    Unread,
    /// The check did not find the key in the secret that holds it: it did not read that account
    /// and Region, so it rules nothing out.
    Missed,
    /// These secrets hold the key too.
    Others(Vec<String>),
}

impl Claims {
    /// `Ok` when every place of the run was read, `anchor` (a secret that holds one of
    /// `key_ids`) is found among their holders, and no holder but those `own` accepts holds one.
    /// The one rule of `enable --bind` (bind.rs) and of the split layout (split_plan.rs).
    pub fn sole_holder(
        &self,
        key_ids: &[String],
        anchor: &str,
        own: impl Fn(&str) -> bool,
    ) -> Result<(), NotSole> {
        if !self.unread.is_empty() {
            return Err(NotSole::Unread);
        }
        let holders = self.holders.of(key_ids);
        if !holders.iter().any(|arn| arn == anchor) {
            return Err(NotSole::Missed);
        }
        let others: Vec<String> = (holders.into_iter())
            .filter(|arn| arn != anchor && !own(arn))
            .collect();
        match others.is_empty() {
            true => Ok(()),
            false => Err(NotSole::Others(others)),
        }
    }

    /// Reads every secret of every enabled Region of every account of `scope`.
    pub async fn of_scope(scope: &Scope<'_>) -> Self {
        let (places, unlisted) = places(scope.estate, &scope.accounts, &Regions::Enabled).await;
        let mut claims = Claims {
            unread: unlisted.into_iter().map(|(_, why)| why).collect(),
            ..Claims::default()
        };
        let read: Vec<Result<KeyHolders, String>> = stream::iter(places)
            .map(|(account, region)| async move {
                let aws = scope.estate.enter(&account, &region).await?;
                KeyHolders::of_account(aws.as_ref(), scope.concurrency)
                    .await
                    .map_err(|e| format!("account {account}, {region}: {e}"))
            })
            .buffer_unordered(scope.parallel.max(1))
            .collect()
            .await;
        for result in read {
            match result {
                Ok(holders) => {
                    claims.holders.merge(holders);
                    claims.places += 1;
                }
                Err(reason) => claims.unread.push(reason),
            }
        }
        claims.unread.sort();
        claims
    }
}
