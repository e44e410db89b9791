//! The scan's reads of AWSCURRENT values, in the fewest calls: BatchGetSecretValue, 20 secrets a
//! call, where the caller may; GetSecretValue one by one where it may not (the batch refused as
//! a whole, or an error for one secret in it, read alone for its own error).

use std::collections::BTreeMap;

use futures_util::stream::{self, StreamExt};

use super::aws::FleetAws;
use iam_key_rotator::aws::{AwsError, VersionRef, AWSCURRENT};
use iam_key_rotator::sensitive::Sensitive;

/// The most secrets BatchGetSecretValue takes by id.
pub const BATCH: usize = 20;

/// The values read ahead; a secret not among them is read alone when asked for.
#[derive(Default)]
pub struct Values(BTreeMap<String, Option<Sensitive>>);

impl Values {
    /// Reads ahead the values of `arns`, `concurrency` batches at once. The first batch goes
    /// alone: when the caller may not batch (no secretsmanager:BatchGetSecretValue), that is one
    /// refused call, not one per batch.
    pub async fn read_ahead(aws: &dyn FleetAws, arns: &[String], concurrency: usize) -> Values {
        let mut chunks = arns.chunks(BATCH);
        let Some(first) = chunks.next() else {
            return Values::default();
        };
        let Ok(mut values) = aws.current_values(first).await else {
            return Values::default();
        };
        let rest: Vec<_> = stream::iter(chunks)
            .map(|chunk| aws.current_values(chunk))
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        // A batch that failed (after the SDK's retries) leaves its secrets to be read alone.
        values.extend(rest.into_iter().flatten().flatten());
        Values(values)
    }

    /// The AWSCURRENT value of `arn`: read ahead, or read now.
    pub async fn current(
        &self,
        aws: &dyn FleetAws,
        arn: &str,
    ) -> Result<Option<Sensitive>, AwsError> {
        match self.0.get(arn) {
            Some(value) => Ok(value.clone()),
            None => aws.value(arn, VersionRef::Stage(AWSCURRENT)).await,
        }
    }
}
