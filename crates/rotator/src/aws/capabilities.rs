//! What the rotation needs of AWS, in its own terms: the three capability traits and the types
//! they speak. The SDK adapters (`iam.rs`, `secrets_manager.rs`, `sts.rs`) and the tests' fake
//! implement them.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;

use super::error::AwsError;
use crate::sensitive::Sensitive;

pub const AWSCURRENT: &str = "AWSCURRENT";
pub const AWSPENDING: &str = "AWSPENDING";
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";

/// A value for a rotation's AWSPENDING version.
#[derive(Debug, Clone, Copy)]
pub struct Pending<'a> {
    /// The rotation's token: the version id.
    pub version_id: &'a str,
    pub value: &'a Sensitive,
    /// The RotationToken of the event, passed on so the put is the rotation's own.
    pub rotation_token: Option<&'a Sensitive>,
}

/// What DescribeSecret tells us.
#[derive(Debug, Clone, Default)]
pub struct SecretMetadata {
    pub arn: String,
    pub name: String,
    pub rotation_enabled: bool,
    /// The function Secrets Manager invokes to rotate the secret, as the secret names it.
    pub rotation_lambda_arn: Option<String>,
    /// When the last rotation completed (LastRotatedDate); a value put by hand leaves it alone.
    pub last_rotated: Option<SystemTime>,
    /// Version id to its staging labels.
    pub versions: BTreeMap<String, Vec<String>>,
    /// The secret's tags, key and value.
    pub tags: Vec<(String, String)>,
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

/// One secret as ListSecrets shows it: enough to tell whether this function rotates it. The
/// listing is eventually consistent, so a sweep reads each match again with DescribeSecret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSummary {
    pub arn: String,
    pub rotation_enabled: bool,
    pub rotation_lambda_arn: Option<String>,
}

#[async_trait]
pub trait SecretsManager: Send + Sync {
    async fn describe_secret(&self, secret_id: &str) -> Result<SecretMetadata, AwsError>;

    /// Every secret of the account and Region (ListSecrets, all pages).
    async fn list_secrets(&self) -> Result<Vec<SecretSummary>, AwsError>;

    /// TagResource with one tag: sets `key` to `value`, replacing its value if present.
    async fn tag_secret(&self, secret_id: &str, key: &str, value: &str) -> Result<(), AwsError>;

    /// UntagResource of one tag key; a key the secret does not carry is no error.
    async fn untag_secret(&self, secret_id: &str, key: &str) -> Result<(), AwsError>;

    /// The SecretString of a version, or `None` when the version holds no value (AWS answers
    /// ResourceNotFoundException, as for the empty AWSPENDING placeholder of §3).
    async fn get_secret_value(
        &self,
        secret_id: &str,
        version: VersionRef<'_>,
    ) -> Result<Option<Sensitive>, AwsError>;

    /// PutSecretValue of `pending` with the AWSPENDING label only.
    async fn put_pending_value(
        &self,
        secret_id: &str,
        pending: Pending<'_>,
    ) -> Result<(), AwsError>;

    /// PutSecretValue of a new AWSCURRENT version (a mirror's, issue 23: never a rotated
    /// secret's). The SDK fills in the request token, so its own retries make no second version.
    async fn put_value(&self, secret_id: &str, value: &Sensitive) -> Result<(), AwsError>;

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

/// The source of the lifecycle events. Only `aws.` sources are reserved: anyone who may call
/// PutEvents on the bus can send this source too, so a consumer must check AWS before acting.
pub const EVENT_SOURCE: &str = "iam-key-rotator";

/// One lifecycle event (§16): what happened to which secret's keys. Ids and dates only, never a
/// secret.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleEvent {
    pub detail_type: &'static str,
    pub secret_arn: String,
    pub detail: serde_json::Value,
}

/// EventBridge PutEvents on the account's default bus.
#[async_trait]
pub trait Events: Send + Sync {
    async fn put(&self, event: &LifecycleEvent) -> Result<(), AwsError>;
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

/// Enters member accounts (§17): sts:AssumeRole of a member role, with the external id its
/// trust policy expects, and IAM of that account as the role.
#[async_trait]
pub trait MemberAccounts: Send + Sync {
    /// IAM as `role_arn`, in the role's account. The adapter may reuse a session it holds.
    async fn iam_as(&self, role_arn: &str, external_id: &str) -> Result<Arc<dyn Iam>, AwsError>;
}
