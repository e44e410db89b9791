//! [`LayoutAws`] over the AWS SDK: what `enable` calls to bring the split layout under rotation
//! (`split.rs`).

use async_trait::async_trait;

use super::aws::LayoutAws;
use super::sdk::SdkFleet;

use iam_key_rotator::aws::{answer, AwsError, SecretMetadata, SecretsManager};
use iam_key_rotator::sensitive::Sensitive;

#[async_trait]
impl LayoutAws for SdkFleet {
    async fn describe(&self, id: &str) -> Result<Option<SecretMetadata>, AwsError> {
        match self.secrets.describe_secret(id).await {
            Ok(metadata) => Ok(Some(metadata)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The SDK fills CreateSecret's ClientRequestToken itself and keeps it across its retries: a
    /// retry after a lost answer finds the secret this call made, never a second one.
    async fn create_secret(&self, name: &str, value: &Sensitive) -> Result<String, AwsError> {
        let request = self
            .sm
            .create_secret()
            .name(name)
            .secret_string(value.expose());
        let out = answer("secretsmanager", "CreateSecret", request.send()).await?;
        out.arn().map(str::to_owned).ok_or_else(|| {
            let why = Some("the response has no ARN");
            AwsError::service("secretsmanager", "CreateSecret", None, why, None)
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
