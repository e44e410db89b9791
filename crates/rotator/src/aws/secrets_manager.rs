//! Secrets Manager through the AWS SDK.

use std::collections::BTreeMap;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;

use super::capabilities::{SecretMetadata, SecretsManager, VersionRef, AWSCURRENT, AWSPENDING};
use super::error::{sdk_error, AwsError};
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
        let out = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "DescribeSecret", e))?;
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
            versions: out
                .version_ids_to_stages()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_else(BTreeMap::new),
        })
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
        version_id: &str,
        value: &Sensitive,
        rotation_token: Option<&Sensitive>,
    ) -> Result<(), AwsError> {
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(version_id)
            .secret_string(value.expose())
            .version_stages(AWSPENDING)
            .set_rotation_token(rotation_token.map(|t| t.expose().to_owned()))
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "PutSecretValue", e))?;
        Ok(())
    }

    async fn move_current(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: Option<&str>,
    ) -> Result<(), AwsError> {
        self.client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(AWSCURRENT)
            .move_to_version_id(to_version)
            .set_remove_from_version_id(from_version.map(str::to_owned))
            .send()
            .await
            .map_err(|e| sdk_error(SERVICE, "UpdateSecretVersionStage", e))?;
        Ok(())
    }

    async fn versions_created(
        &self,
        secret_id: &str,
    ) -> Result<BTreeMap<String, SystemTime>, AwsError> {
        let mut pages = self
            .client
            .list_secret_version_ids()
            .secret_id(secret_id)
            .into_paginator()
            .send();
        let mut created = BTreeMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error(SERVICE, "ListSecretVersionIds", e))?;
            for entry in page.versions() {
                if let (Some(id), Some(date)) =
                    (entry.version_id(), to_system_time(entry.created_date()))
                {
                    created.insert(id.to_owned(), date);
                }
            }
        }
        Ok(created)
    }
}
