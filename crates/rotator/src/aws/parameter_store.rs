//! What a mirror (issue 23) needs of SSM Parameter Store, in the rotation's terms: the capability
//! trait the SDK adapter (`ssm.rs`) and the tests' fake implement. Beside `capabilities.rs`, which
//! holds the services every rotation uses.

use async_trait::async_trait;

use super::error::AwsError;
use crate::sensitive::Sensitive;

/// The type SSM gives a parameter whose value it encrypts with a KMS key.
pub const SECURE_STRING: &str = "SecureString";

/// A parameter as DescribeParameters shows it (no value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterInfo {
    /// `String`, `StringList` or `SecureString`.
    pub parameter_type: String,
    /// The KMS key a SecureString is encrypted with, as SSM reports it (`alias/aws/ssm` for the
    /// default key).
    pub key_id: Option<String>,
}

#[async_trait]
pub trait ParameterStore: Send + Sync {
    /// DescribeParameters filtered on exactly `name`: `None` when there is no such parameter.
    async fn describe_parameter(&self, name: &str) -> Result<Option<ParameterInfo>, AwsError>;

    /// ListTagsForResource of the parameter `name`, key and value.
    async fn parameter_tags(&self, name: &str) -> Result<Vec<(String, String)>, AwsError>;

    /// GetParameter WithDecryption: `None` when there is no such parameter.
    async fn get_parameter(&self, name: &str) -> Result<Option<Sensitive>, AwsError>;

    /// PutParameter with Overwrite, Type SecureString and KeyId `kms_key`: the write itself says
    /// the type and the key, so a parameter changed since it was read is still written only as
    /// the administrator named it.
    async fn put_secure_parameter(
        &self,
        name: &str,
        value: &Sensitive,
        kms_key: &str,
    ) -> Result<(), AwsError>;
}
