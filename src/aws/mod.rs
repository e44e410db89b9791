//! The three AWS services the rotation needs, behind small capability traits.
//!
//! The step code in `rotation/` only sees these traits, so the same steps run against the real SDK
//! (`iam.rs`, `secrets_manager.rs`, `sts.rs`) and against the in-memory fake the tests use.

mod error;
pub mod https;
mod iam;
pub mod sdk_config;
mod secrets_manager;
mod sts;

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;

pub use iam::SdkIam;
pub use secrets_manager::SdkSecretsManager;
pub use sts::SdkSts;

use crate::secret_value::Sensitive;
pub use error::{AwsError, AwsErrorKind};

pub const AWSCURRENT: &str = "AWSCURRENT";
pub const AWSPENDING: &str = "AWSPENDING";
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";

/// What DescribeSecret tells us.
#[derive(Debug, Clone)]
pub struct SecretMetadata {
    pub arn: String,
    pub name: String,
    pub rotation_enabled: bool,
    /// Version id to its staging labels.
    pub versions: BTreeMap<String, Vec<String>>,
}

impl SecretMetadata {
    pub fn stages_of(&self, version_id: &str) -> Option<&[String]> {
        self.versions.get(version_id).map(Vec::as_slice)
    }

    /// The version that carries `stage`, if any.
    pub fn version_with(&self, stage: &str) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage))
            .map(|(id, _)| id.as_str())
    }
}

/// Which version of a secret to read.
#[derive(Debug, Clone, Copy)]
pub enum VersionRef<'a> {
    Stage(&'a str),
    /// A version id, which must also carry the stage (as the AWS rotation template reads AWSPENDING).
    IdAndStage(&'a str, &'a str),
    Id(&'a str),
}

impl fmt::Display for VersionRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionRef::Stage(stage) => write!(f, "{stage}"),
            VersionRef::IdAndStage(id, stage) => write!(f, "{stage} (version {id})"),
            VersionRef::Id(id) => write!(f, "version {id}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An access key as ListAccessKeys describes it (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyInfo {
    pub id: String,
    pub status: KeyStatus,
    pub created: SystemTime,
}

/// A key pair just made by CreateAccessKey. The secret is only ever shown redacted.
#[derive(Debug, Clone)]
pub struct NewAccessKey {
    pub id: String,
    pub secret: Sensitive,
    pub status: KeyStatus,
    pub created: SystemTime,
}

/// An IAM user as GetUser describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamUser {
    pub name: String,
    pub arn: String,
    pub user_id: String,
    /// The user's tags, key and value: the binding (§15) is one of them.
    pub tags: Vec<(String, String)>,
}

/// What iam:GetAccessKeyLastUsed says of a key: its owner, and when, with which service and in
/// which Region IAM last saw it authenticate (all `None` when it never did).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyLastUse {
    pub user: Option<String>,
    pub at: Option<SystemTime>,
    pub service: Option<String>,
    pub region: Option<String>,
}

/// What sts:GetCallerIdentity answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

#[async_trait]
pub trait SecretsManager: Send + Sync {
    async fn describe_secret(&self, secret_id: &str) -> Result<SecretMetadata, AwsError>;

    /// The SecretString of a version, or `None` when the version holds no value (AWS answers
    /// ResourceNotFoundException, as for the empty AWSPENDING placeholder of §3).
    async fn get_secret_value(
        &self,
        secret_id: &str,
        version: VersionRef<'_>,
    ) -> Result<Option<Sensitive>, AwsError>;

    /// PutSecretValue onto `version_id` with the AWSPENDING label only.
    async fn put_pending_value(
        &self,
        secret_id: &str,
        version_id: &str,
        value: &Sensitive,
        rotation_token: Option<&Sensitive>,
    ) -> Result<(), AwsError>;

    /// UpdateSecretVersionStage: AWSCURRENT moves to `to_version`, off `from_version`.
    async fn move_current(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: Option<&str>,
    ) -> Result<(), AwsError>;

    /// Every version's CreatedDate, from ListSecretVersionIds (paginated). A version the listing
    /// gives no date for is absent.
    async fn versions_created(
        &self,
        secret_id: &str,
    ) -> Result<BTreeMap<String, SystemTime>, AwsError>;
}

#[async_trait]
pub trait Iam: Send + Sync {
    async fn get_user(&self, user_name: &str) -> Result<IamUser, AwsError>;
    async fn list_access_keys(&self, user_name: &str) -> Result<Vec<AccessKeyInfo>, AwsError>;
    async fn create_access_key(&self, user_name: &str) -> Result<NewAccessKey, AwsError>;
    /// GetAccessKeyLastUsed. IAM answers it for any key of the account: NoSuchEntity when there
    /// is no such key.
    async fn access_key_last_used(&self, key_id: &str) -> Result<KeyLastUse, AwsError>;
    async fn delete_access_key(&self, user_name: &str, key_id: &str) -> Result<(), AwsError>;
    async fn update_access_key(
        &self,
        user_name: &str,
        key_id: &str,
        status: KeyStatus,
    ) -> Result<(), AwsError>;
}

/// Signs sts:GetCallerIdentity with a given key pair (not the function's own credentials).
#[async_trait]
pub trait Sts: Send + Sync {
    async fn caller_identity(
        &self,
        access_key_id: &str,
        secret_access_key: &Sensitive,
    ) -> Result<CallerIdentity, AwsError>;
}

/// Reduces an SDK error to an [`AwsError`]; `error.rs` decides from its code and status whether
/// it is transient.
pub(crate) fn sdk_error<E>(
    service: &'static str,
    operation: &'static str,
    error: aws_sdk_iam::error::SdkError<E>,
) -> AwsError
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_iam::error::SdkError;
    match &error {
        SdkError::ServiceError(context) => AwsError::service(
            service,
            operation,
            context.err().code(),
            context.err().message(),
            Some(context.raw().status().as_u16()),
        ),
        // An answer we could not read is as good as none: sending again may work.
        SdkError::ResponseError(_) | SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            let mut message = error_chain(&error);
            if message.contains("invalid peer certificate") {
                message.push_str(UNTRUSTED_CERTIFICATE_HINT);
            }
            AwsError::no_answer(service, operation, message)
        }
        _ => AwsError::service(service, operation, None, Some(&error_chain(&error)), None),
    }
}

/// What to do when the endpoint's certificate is not trusted (see `https.rs`).
const UNTRUSTED_CERTIFICATE_HINT: &str = " (the endpoint's certificate does not chain to the Amazon Trust Services roots the function trusts: to trust another CA, set SSL_CERT_FILE to its PEM file)";

/// "dispatch failure: io error: ...: Connection refused": each cause once, without the Debug
/// dump that `DisplayErrorContext` appends.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// SDK timestamps into the domain's `SystemTime`.
fn to_system_time(date: Option<&aws_sdk_iam::primitives::DateTime>) -> Option<SystemTime> {
    date.and_then(|d| SystemTime::try_from(*d).ok())
}
