//! [`LayoutAws`] over the AWS SDK: what `enable` calls to bring the split layout under rotation
//! (`split.rs`).

use async_trait::async_trait;
use aws_sdk_secretsmanager::types::Tag;

use super::aws::{LayoutAws, SecretFacts};
use super::sdk::SdkFleet;

use iam_key_rotator::aws::{answer, AwsError, SecretsManager};
use iam_key_rotator::sensitive::Sensitive;

const SERVICE: &str = "secretsmanager";

#[async_trait]
impl LayoutAws for SdkFleet {
    async fn describe(&self, id: &str) -> Result<Option<SecretFacts>, AwsError> {
        let request = self.sm.describe_secret().secret_id(id);
        let out = match answer(SERVICE, "DescribeSecret", request.send()).await {
            Ok(out) => out,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let arn = out.arn().unwrap_or_default().to_owned();
        let policy = self.sm.get_resource_policy().secret_id(&arn);
        let policy = answer(SERVICE, "GetResourcePolicy", policy.send()).await?;
        let tags = (out.tags().iter())
            .map(|t| {
                (
                    t.key().unwrap_or_default().into(),
                    t.value().unwrap_or_default().into(),
                )
            })
            .collect();
        Ok(Some(SecretFacts {
            name: out.name().unwrap_or_default().to_owned(),
            rotation_enabled: out.rotation_enabled().unwrap_or(false),
            tags,
            kms_key_id: out.kms_key_id().map(str::to_owned),
            primary_region: out.primary_region().map(str::to_owned),
            deleted: out.deleted_date().is_some(),
            owning_service: out.owning_service().map(str::to_owned),
            has_policy: policy
                .resource_policy()
                .is_some_and(|p| !p.trim().is_empty()),
            arn,
        }))
    }

    /// The SDK fills CreateSecret's ClientRequestToken itself, once, and keeps it across its
    /// retries: a retry after a lost answer is the same request, never a second secret.
    async fn create_secret(
        &self,
        name: &str,
        value: &Sensitive,
        kms_key_id: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<String, AwsError> {
        let mut request = (self.sm.create_secret())
            .name(name)
            .secret_string(value.expose())
            .set_kms_key_id(kms_key_id.map(str::to_owned));
        for (key, value) in tags {
            request = request.tags(Tag::builder().key(key).value(value).build());
        }
        let out = answer(SERVICE, "CreateSecret", request.send()).await?;
        out.arn().map(str::to_owned).ok_or_else(|| {
            let why = Some("the response has no ARN");
            AwsError::service(SERVICE, "CreateSecret", None, why, None)
        })
    }

    async fn tag_secret(&self, arn: &str, key: &str, value: &str) -> Result<(), AwsError> {
        self.secrets.tag_secret(arn, key, value).await
    }

    async fn tag_user(&self, user: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        let mut request = self.iam.tag_user().user_name(user);
        for (key, value) in tags {
            let tag = aws_sdk_iam::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| {
                    AwsError::service("iam", "TagUser", None, Some(&e.to_string()), None)
                })?;
            request = request.tags(tag);
        }
        answer("iam", "TagUser", request.send()).await?;
        Ok(())
    }
}
