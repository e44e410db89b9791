//! Secrets Manager through the AWS SDK.

use std::collections::BTreeMap;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;

use super::capabilities::{
    Pending, SecretMetadata, SecretSummary, SecretsManager, VersionRef, AWSCURRENT, AWSPENDING,
};
use super::error::{answer, sdk_error, AwsError};
use super::iam::to_system_time;
use crate::sensitive::Sensitive;

const SERVICE: &str = "secretsmanager";

pub struct SdkSecretsManager {
    client: Client,
}

impl SdkSecretsManager {
    pub fn new(client: Client) -> Self {
        SdkSecretsManager { client }
    }
}

#[async_trait]
impl SecretsManager for SdkSecretsManager {
    async fn describe_secret(&self, secret_id: &str) -> Result<SecretMetadata, AwsError> {
        let request = self.client.describe_secret().secret_id(secret_id);
        let out = answer(SERVICE, "DescribeSecret", request.send()).await?;
        // The full ARN is what a user's binding names (§15): never stand in the SecretId for it.
        let arn = out.arn().ok_or_else(|| {
            AwsError::service(
                SERVICE,
                "DescribeSecret",
                None,
                Some("the response has no ARN"),
                None,
            )
        })?;
        Ok(SecretMetadata {
            arn: arn.to_owned(),
            name: out.name().unwrap_or(secret_id).to_owned(),
            rotation_enabled: out.rotation_enabled().unwrap_or(false),
            rotation_lambda_arn: out.rotation_lambda_arn().map(str::to_owned),
            last_rotated: to_system_time(out.last_rotated_date()),
            versions: out
                .version_ids_to_stages()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_else(BTreeMap::new),
            tags: out
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                .collect(),
        })
    }

    async fn list_secrets(&self) -> Result<Vec<SecretSummary>, AwsError> {
        let pages = self.client.list_secrets().into_paginator().send();
        let pages = answer(SERVICE, "ListSecrets", pages.try_collect()).await?;
        let entries = pages.iter().flat_map(|page| page.secret_list());
        Ok(entries
            .filter_map(|entry| {
                Some(SecretSummary {
                    arn: entry.arn()?.to_owned(),
                    rotation_enabled: entry.rotation_enabled().unwrap_or(false),
                    rotation_lambda_arn: entry.rotation_lambda_arn().map(str::to_owned),
                })
            })
            .collect())
    }

    async fn tag_secret(&self, secret_id: &str, key: &str, value: &str) -> Result<(), AwsError> {
        let tag = aws_sdk_secretsmanager::types::Tag::builder()
            .key(key)
            .value(value)
            .build();
        let request = self.client.tag_resource().secret_id(secret_id).tags(tag);
        answer(SERVICE, "TagResource", request.send()).await?;
        Ok(())
    }

    async fn untag_secret(&self, secret_id: &str, key: &str) -> Result<(), AwsError> {
        let untag = self.client.untag_resource().secret_id(secret_id);
        answer(SERVICE, "UntagResource", untag.tag_keys(key).send()).await?;
        Ok(())
    }

    async fn get_secret_value(
        &self,
        secret_id: &str,
        version: VersionRef<'_>,
    ) -> Result<Option<Sensitive>, AwsError> {
        let request = self.client.get_secret_value().secret_id(secret_id);
        let request = match version {
            VersionRef::Stage(stage) => request.version_stage(stage),
            VersionRef::IdAndStage(id, stage) => request.version_id(id).version_stage(stage),
            VersionRef::Id(id) => request.version_id(id),
        };
        match request.send().await {
            Ok(out) => Ok(out.secret_string().map(Sensitive::new)),
            Err(e) => {
                let error = sdk_error(SERVICE, "GetSecretValue", e);
                if error.is_not_found() {
                    Ok(None)
                } else {
                    Err(error)
                }
            }
        }
    }

    async fn put_pending_value(
        &self,
        secret_id: &str,
        pending: Pending<'_>,
    ) -> Result<(), AwsError> {
        let token = pending.rotation_token.map(|t| t.expose().to_owned());
        let request = self
            .client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(pending.version_id)
            .secret_string(pending.value.expose())
            .version_stages(AWSPENDING)
            .set_rotation_token(token);
        answer(SERVICE, "PutSecretValue", request.send()).await?;
        Ok(())
    }

    async fn put_value(&self, secret_id: &str, value: &Sensitive) -> Result<(), AwsError> {
        let request = self.client.put_secret_value().secret_id(secret_id);
        let request = request.secret_string(value.expose());
        answer(SERVICE, "PutSecretValue", request.send()).await?;
        Ok(())
    }

    async fn move_current(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: Option<&str>,
    ) -> Result<(), AwsError> {
        let request = self
            .client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(AWSCURRENT)
            .move_to_version_id(to_version)
            .set_remove_from_version_id(from_version.map(str::to_owned));
        answer(SERVICE, "UpdateSecretVersionStage", request.send()).await?;
        Ok(())
    }

    async fn versions_created(
        &self,
        secret_id: &str,
    ) -> Result<BTreeMap<String, SystemTime>, AwsError> {
        let request = self.client.list_secret_version_ids().secret_id(secret_id);
        let pages = request.into_paginator().send().try_collect();
        let pages = answer(SERVICE, "ListSecretVersionIds", pages).await?;
        let versions = pages.iter().flat_map(|page| page.versions());
        // A version listed without a date is left out: the hand-edit check then fails closed.
        let dated =
            versions.filter_map(|v| Some((v.version_id()?, to_system_time(v.created_date())?)));
        Ok(dated.map(|(id, date)| (id.to_owned(), date)).collect())
    }
}
