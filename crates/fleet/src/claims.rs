//! Which secrets of the account hold which access keys: what `enable` consults before it binds a
//! user to a secret (§15). A key pair proves that a secret holds the user's key, not that it is
//! the secret the key belongs in: whoever holds a leaked key can store it in a secret of their
//! own. So a user is bound automatically only when no other secret holds any of its keys, in any
//! form (a JSON value in either naming, a plain string, a credentials file): otherwise which
//! secret rotates the user is an administrator's decision.

use std::collections::BTreeMap;

use futures_util::stream::{self, StreamExt};

use super::aws::FleetAws;
use super::classify::{classify, Holding};
use iam_key_rotator::aws::{AwsError, VersionRef, AWSCURRENT};

/// Access key id to the ARNs of the secrets whose AWSCURRENT value holds it.
#[derive(Debug, Default)]
pub struct KeyHolders(BTreeMap<String, Vec<String>>);

impl KeyHolders {
    /// Reads the AWSCURRENT value of every secret of the account (ListSecrets, then
    /// GetSecretValue, `concurrency` at a time). A value that cannot be read might hold any key,
    /// so it fails the whole listing: nothing is bound on a guess.
    pub async fn of_account(aws: &dyn FleetAws, concurrency: usize) -> Result<Self, AwsError> {
        let entries = aws.list_secrets().await?;
        let read: Vec<(String, Result<_, AwsError>)> = stream::iter(entries)
            .map(|entry| async move {
                let value = aws.value(&entry.arn, VersionRef::Stage(AWSCURRENT)).await;
                (entry.arn, value)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let mut holders = KeyHolders::default();
        for (arn, value) in read {
            let key_id = match value?.as_ref().map(classify) {
                Some(Holding::Rotatable {
                    access_key_id: Some(id),
                    ..
                })
                | Some(Holding::NotRotatable {
                    access_key_id: Some(id),
                    ..
                }) => id,
                _ => continue,
            };
            holders.0.entry(key_id).or_default().push(arn);
        }
        Ok(holders)
    }

    /// The secrets other than `secret_arn` that hold one of `key_ids`, each once.
    pub fn others(&self, key_ids: &[String], secret_arn: &str) -> Vec<String> {
        let mut others: Vec<String> = key_ids
            .iter()
            .filter_map(|id| self.0.get(id))
            .flatten()
            .filter(|arn| *arn != secret_arn)
            .cloned()
            .collect();
        others.sort();
        others.dedup();
        others
    }
}
