//! STS through the AWS SDK, signing with the key under test instead of the function's own.

use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{Credentials, IdentityCache};
use aws_sdk_sts::Client;

use super::capabilities::{CallerIdentity, Sts};
use super::error::{answer, AwsError};
use crate::sensitive::Sensitive;

const SERVICE: &str = "sts";

pub struct SdkSts {
    base: aws_sdk_sts::config::Builder,
}

impl SdkSts {
    /// Takes the shared configuration (region, endpoint, HTTP client). testSecret has its own
    /// polling loop, so the SDK's retries are off: the SDK would not retry InvalidClientTokenId
    /// anyway, and its backoff would blur how soon we notice that the key works.
    pub fn new(sdk_config: &SdkConfig) -> Self {
        let base = aws_sdk_sts::config::Builder::from(sdk_config)
            .retry_config(RetryConfig::disabled())
            // Each probe has its own key: caching it would only grow the shared cache.
            .identity_cache(IdentityCache::no_cache())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(5))
                    .build(),
            );
        SdkSts { base }
    }
}

#[async_trait]
impl Sts for SdkSts {
    async fn caller_identity(
        &self,
        access_key_id: &str,
        secret_access_key: &Sensitive,
    ) -> Result<CallerIdentity, AwsError> {
        let credentials = Credentials::new(
            access_key_id,
            secret_access_key.expose(),
            None,
            None,
            "key-under-test",
        );
        let client = Client::from_conf(self.base.clone().credentials_provider(credentials).build());
        let request = client.get_caller_identity();
        let out = answer(SERVICE, "GetCallerIdentity", request.send()).await?;
        Ok(CallerIdentity {
            account: out.account().unwrap_or_default().to_owned(),
            arn: out.arn().unwrap_or_default().to_owned(),
            user_id: out.user_id().unwrap_or_default().to_owned(),
        })
    }
}
