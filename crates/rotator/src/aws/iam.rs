//! IAM through the AWS SDK.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_iam::config::retry::RetryConfig;
use aws_sdk_iam::types::StatusType;
use aws_sdk_iam::{Client, Config};

use super::capabilities::{AccessKeyInfo, Iam, IamUser, KeyLastUse, KeyStatus, NewAccessKey};
use super::error::{answer, AwsError};
use crate::sensitive::Sensitive;

const SERVICE: &str = "iam";

/// CreateAccessKey attempts while IAM answers with throttling, and the first wait between them.
const CREATE_ATTEMPTS: u32 = 4;
const CREATE_BACKOFF: std::time::Duration = std::time::Duration::from_millis(400);

pub struct SdkIam {
    client: Client,
}

impl SdkIam {
    pub fn new(client: Client) -> Self {
        SdkIam { client }
    }
}

fn status(status: Option<&StatusType>) -> KeyStatus {
    match status {
        Some(StatusType::Active) => KeyStatus::Active,
        // Anything else (Inactive, Expired, unknown) cannot authenticate.
        _ => KeyStatus::Inactive,
    }
}

fn missing(operation: &'static str, what: &str) -> AwsError {
    AwsError::service(
        SERVICE,
        operation,
        None,
        Some(&format!("the response has no {what}")),
        None,
    )
}

#[async_trait]
impl Iam for SdkIam {
    async fn get_user(&self, user_name: &str) -> Result<IamUser, AwsError> {
        let request = self.client.get_user().user_name(user_name);
        let out = answer(SERVICE, "GetUser", request.send()).await?;
        let user = out.user().ok_or_else(|| missing("GetUser", "User"))?;
        Ok(IamUser {
            name: user.user_name().to_owned(),
            arn: user.arn().to_owned(),
            user_id: user.user_id().to_owned(),
            tags: user
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
        })
    }

    async fn list_access_keys(&self, user_name: &str) -> Result<Vec<AccessKeyInfo>, AwsError> {
        let request = self.client.list_access_keys().user_name(user_name);
        let pages = request.into_paginator().send().try_collect();
        let pages = answer(SERVICE, "ListAccessKeys", pages).await?;
        let listed = pages.iter().flat_map(|page| page.access_key_metadata());
        listed
            .map(|key| {
                Ok(AccessKeyInfo {
                    id: key
                        .access_key_id()
                        .ok_or_else(|| missing("ListAccessKeys", "AccessKeyId"))?
                        .to_owned(),
                    status: status(key.status()),
                    created: to_system_time(key.create_date())
                        .ok_or_else(|| missing("ListAccessKeys", "CreateDate"))?,
                })
            })
            .collect()
    }

    async fn create_access_key(&self, user_name: &str) -> Result<NewAccessKey, AwsError> {
        // CreateAccessKey is not idempotent: sent again after an answer was lost, it would make a
        // second key, stored nowhere, that later fills the user's last slot. So the SDK never
        // retries it; only a throttling answer, which proves no key was made, is sent again here.
        // Anything else goes to Secrets Manager's retry of the rotation, and §6 rule 4 deletes
        // what a lost attempt made.
        let mut attempt = 1;
        let out = loop {
            let request = self
                .client
                .create_access_key()
                .user_name(user_name)
                .customize()
                .config_override(Config::builder().retry_config(RetryConfig::disabled()));
            match answer(SERVICE, "CreateAccessKey", request.send()).await {
                Err(e) if e.is_throttling() && attempt < CREATE_ATTEMPTS => {
                    tokio::time::sleep(CREATE_BACKOFF * attempt).await;
                    attempt += 1;
                }
                answered => break answered?,
            }
        };
        let key = out
            .access_key()
            .ok_or_else(|| missing("CreateAccessKey", "AccessKey"))?;
        Ok(NewAccessKey {
            id: key.access_key_id().to_owned(),
            secret: Sensitive::new(key.secret_access_key()),
            status: status(Some(key.status())),
            created: to_system_time(key.create_date()).unwrap_or_else(std::time::SystemTime::now),
        })
    }

    async fn access_key_last_used(&self, key_id: &str) -> Result<KeyLastUse, AwsError> {
        let request = self.client.get_access_key_last_used().access_key_id(key_id);
        let out = answer(SERVICE, "GetAccessKeyLastUsed", request.send()).await?;
        // IAM says "N/A" for the service and Region of a key never used.
        let known = |text: &str| Some(text.to_owned()).filter(|t| !t.is_empty() && t != "N/A");
        // No record at all is not "never used": the orphan rule and `retire` fail closed.
        let used = out
            .access_key_last_used()
            .ok_or_else(|| missing("GetAccessKeyLastUsed", "AccessKeyLastUsed"))?;
        Ok(KeyLastUse {
            user: out.user_name().map(str::to_owned),
            at: to_system_time(used.last_used_date()),
            service: known(used.service_name()),
            region: known(used.region()),
        })
    }

    async fn delete_access_key(&self, user_name: &str, key_id: &str) -> Result<(), AwsError> {
        let request = self
            .client
            .delete_access_key()
            .user_name(user_name)
            .access_key_id(key_id);
        answer(SERVICE, "DeleteAccessKey", request.send()).await?;
        Ok(())
    }

    async fn update_access_key(
        &self,
        user_name: &str,
        key_id: &str,
        new_status: KeyStatus,
    ) -> Result<(), AwsError> {
        let new_status = match new_status {
            KeyStatus::Active => StatusType::Active,
            KeyStatus::Inactive => StatusType::Inactive,
        };
        let request = self
            .client
            .update_access_key()
            .user_name(user_name)
            .access_key_id(key_id)
            .status(new_status);
        answer(SERVICE, "UpdateAccessKey", request.send()).await?;
        Ok(())
    }
}

/// SDK timestamps into the domain's `SystemTime`.
pub(super) fn to_system_time(
    date: Option<&aws_sdk_iam::primitives::DateTime>,
) -> Option<SystemTime> {
    date.and_then(|d| SystemTime::try_from(*d).ok())
}
