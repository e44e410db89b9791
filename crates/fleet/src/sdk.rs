//! [`FleetAws`] over the AWS SDK. The reads use the function's own adapters (`SdkSecretsManager`,
//! `SdkIam`, `SdkSts`); the calls only the fleet makes (ListSecrets, ListUsers, TagUser,
//! RotateSecret, UpdateSecretVersionStage) are made here.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_iam::config::retry::RetryConfig;
use aws_sdk_iam::primitives::DateTime;
use aws_sdk_secretsmanager::types::{RotationRulesType, SecretListEntry};

use super::aws::{FleetAws, LastUsed, LayoutAws, Rotation, Schedule, SecretEntry};
use super::time::epoch_seconds;

use iam_key_rotator::aws::{
    answer, sdk_error, AccessKeyInfo, AwsError, CallerIdentity, Iam, IamUser, SdkIam,
    SdkSecretsManager, SdkSts, SecretsManager, Sts, VersionRef,
};
use iam_key_rotator::binding::BINDING_TAG;
use iam_key_rotator::sensitive::Sensitive;

/// The fleet's calls against AWS through the SDK.
pub struct SdkFleet {
    /// The Region the clients call: a secret whose primary is elsewhere is a replica.
    region: String,
    pub(crate) sm: aws_sdk_secretsmanager::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) secrets: SdkSecretsManager,
    iam_keys: SdkIam,
    sts: SdkSts,
}

fn seconds(date: Option<&DateTime>) -> Option<i64> {
    date.map(|d| d.secs())
}

fn rotation_of(entry: &SecretListEntry) -> Rotation {
    let rules: Option<&RotationRulesType> = entry.rotation_rules();
    let schedule = rules.and_then(|r| {
        r.schedule_expression().map(str::to_owned).or_else(|| {
            r.automatically_after_days()
                .filter(|d| *d > 0)
                .map(|d| format!("rate({d} days)"))
        })
    });
    Rotation {
        enabled: entry.rotation_enabled().unwrap_or(false),
        function_arn: entry.rotation_lambda_arn().map(str::to_owned),
        schedule,
        window: rules.and_then(|r| r.duration()).map(str::to_owned),
        last_rotated: seconds(entry.last_rotated_date()),
        next_rotation: seconds(entry.next_rotation_date()),
    }
}

impl SdkFleet {
    /// Scanning a large estate makes many calls in parallel, and IAM's request quotas are low:
    /// the adaptive retry mode slows the client down when throttled, on top of retrying.
    pub fn new(sdk_config: &aws_config::SdkConfig) -> Self {
        let retry = RetryConfig::adaptive().with_max_attempts(6);
        let sm = aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::config::Builder::from(sdk_config)
                .retry_config(retry.clone())
                .build(),
        );
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(sdk_config)
                .retry_config(retry)
                .build(),
        );
        SdkFleet {
            region: sdk_config
                .region()
                .map(|r| r.to_string())
                .unwrap_or_default(),
            sts: SdkSts::new(sdk_config),
            secrets: SdkSecretsManager::new(sm.clone()),
            iam_keys: SdkIam::new(iam.clone()),
            sm,
            iam,
        }
    }
}

#[async_trait]
impl FleetAws for SdkFleet {
    /// Every secret, page by page (100 a page, the most ListSecrets gives).
    async fn list_secrets(&self) -> Result<Vec<SecretEntry>, AwsError> {
        let mut pages = self
            .sm
            .list_secrets()
            .max_results(100)
            .into_paginator()
            .send();
        let mut entries = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("secretsmanager", "ListSecrets", e))?;
            for entry in page.secret_list() {
                entries.push(SecretEntry {
                    arn: entry.arn().unwrap_or_default().to_owned(),
                    name: entry.name().unwrap_or_default().to_owned(),
                    tags: entry
                        .tags()
                        .iter()
                        .map(|t| {
                            (
                                t.key().unwrap_or_default().to_owned(),
                                t.value().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect(),
                    rotation: rotation_of(entry),
                    versions: entry
                        .secret_versions_to_stages()
                        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default(),
                    // Secrets Manager names the primary's Region on replicas (and may on the
                    // primary itself): only another Region than this one makes a replica.
                    primary_region: entry
                        .primary_region()
                        .filter(|primary| *primary != self.region)
                        .map(str::to_owned),
                });
            }
        }
        Ok(entries)
    }

    /// The SecretString of a version (`None`: no value, or a binary secret).
    async fn value(
        &self,
        arn: &str,
        version: VersionRef<'_>,
    ) -> Result<Option<Sensitive>, AwsError> {
        self.secrets.get_secret_value(arn, version).await
    }

    async fn current_values(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, Option<Sensitive>>, AwsError> {
        let request = self.sm.batch_get_secret_value();
        let mut pages = request
            .set_secret_id_list(Some(arns.to_vec()))
            .into_paginator()
            .send();
        let mut values = BTreeMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("secretsmanager", "BatchGetSecretValue", e))?;
            for value in page.secret_values() {
                let string = value.secret_string().map(Sensitive::new);
                values.insert(value.arn().unwrap_or_default().to_owned(), string);
            }
            // A secret with no AWSCURRENT value is as GetSecretValue's not-found: no string.
            let none = page
                .errors()
                .iter()
                .filter(|e| e.error_code() == Some("ResourceNotFoundException"));
            values.extend(none.filter_map(|e| Some((e.secret_id()?.to_owned(), None))));
        }
        Ok(values)
    }

    async fn version_created(&self, arn: &str, version_id: &str) -> Result<Option<i64>, AwsError> {
        Ok(self
            .secrets
            .versions_created(arn)
            .await?
            .get(version_id)
            .copied()
            .map(epoch_seconds))
    }

    /// The user's keys; `None` when the user does not exist.
    async fn user_keys(&self, user: &str) -> Result<Option<Vec<AccessKeyInfo>>, AwsError> {
        match self.iam_keys.list_access_keys(user).await {
            Ok(keys) => Ok(Some(keys)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The user with its tags (GetUser); `None` when the user does not exist.
    async fn user(&self, user: &str) -> Result<Option<IamUser>, AwsError> {
        match self.iam_keys.get_user(user).await {
            Ok(found) => Ok(Some(found)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Binds `user` to the secret `secret_arn` (§15): TagUser with the binding tag.
    async fn bind(&self, user: &str, secret_arn: &str) -> Result<(), AwsError> {
        self.tag_user(user, &[(BINDING_TAG.into(), secret_arn.into())])
            .await
    }

    /// Who a key pair authenticates as (sts:GetCallerIdentity signed with it).
    async fn identity_of(
        &self,
        key_id: &str,
        secret_access_key: &Sensitive,
    ) -> Result<CallerIdentity, AwsError> {
        self.sts.caller_identity(key_id, secret_access_key).await
    }

    /// The key's owner and last use; `None` when no user of this account has the key.
    async fn last_used(&self, key_id: &str) -> Result<Option<LastUsed>, AwsError> {
        match self.iam_keys.access_key_last_used(key_id).await {
            Ok(used) => Ok(Some(LastUsed::from(used))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The users under an IAM path (names only), page by page.
    async fn users_on_path(&self, path_prefix: &str) -> Result<Vec<String>, AwsError> {
        let mut pages = self
            .iam
            .list_users()
            .path_prefix(path_prefix)
            .into_paginator()
            .send();
        let mut users = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("iam", "ListUsers", e))?;
            users.extend(page.users().iter().map(|u| u.user_name().to_owned()));
        }
        Ok(users)
    }

    /// RotateSecret. With a function and schedule: turns rotation on (and rotates now only when
    /// `immediately`). Returns the id of the version the rotation makes.
    async fn rotate(
        &self,
        arn: &str,
        configure: Option<(&str, &Schedule)>,
        immediately: bool,
    ) -> Result<String, AwsError> {
        let mut request = self
            .sm
            .rotate_secret()
            .secret_id(arn)
            .rotate_immediately(immediately);
        if let Some((function_arn, schedule)) = configure {
            request = request.rotation_lambda_arn(function_arn).rotation_rules(
                RotationRulesType::builder()
                    .schedule_expression(&schedule.expression)
                    .set_duration(schedule.window.clone())
                    .build(),
            );
        }
        let out = answer("secretsmanager", "RotateSecret", request.send()).await?;
        Ok(out.version_id().unwrap_or_default().to_owned())
    }

    /// The staging labels now, version id to labels.
    async fn stages(&self, arn: &str) -> Result<BTreeMap<String, Vec<String>>, AwsError> {
        Ok(self.secrets.describe_secret(arn).await?.versions)
    }

    /// Takes AWSPENDING off `version_id`.
    async fn remove_pending(&self, arn: &str, version_id: &str) -> Result<(), AwsError> {
        let request = self.sm.update_secret_version_stage().secret_id(arn);
        let request = request
            .version_stage("AWSPENDING")
            .remove_from_version_id(version_id);
        answer("secretsmanager", "UpdateSecretVersionStage", request.send()).await?;
        Ok(())
    }

    async fn delete_key(&self, user: &str, key_id: &str) -> Result<(), AwsError> {
        self.iam_keys.delete_access_key(user, key_id).await
    }
}
