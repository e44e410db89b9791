//! What the fleet command needs of AWS, in its own terms: the [`FleetAws`] trait over the calls it
//! makes (listing secrets and users, a key's last use, binding a user, proving a key, RotateSecret,
//! removing a stray AWSPENDING label) and the types they speak. Scan, enable, rotate and unstick
//! decide over this trait only, so their decisions are tested against an in-memory fake.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;

use super::time::{epoch_seconds, from_epoch_seconds, serialize_rfc3339};

use iam_key_rotator::aws::{
    AccessKeyInfo, AwsError, CallerIdentity, IamUser, KeyLastUse, VersionRef,
};
use iam_key_rotator::sensitive::Sensitive;

/// A secret as ListSecrets describes it.
#[derive(Debug, Clone, Default)]
pub struct SecretEntry {
    pub arn: String,
    pub name: String,
    pub tags: Vec<(String, String)>,
    pub rotation: Rotation,
    /// Version id to its staging labels.
    pub versions: BTreeMap<String, Vec<String>>,
    /// For a replica (multi-Region secret): the Region of its primary, where it is rotated.
    pub primary_region: Option<String>,
}

impl SecretEntry {
    pub fn version_with(&self, stage: &str) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage))
            .map(|(id, _)| id.as_str())
    }

    /// The version holding AWSPENDING without AWSCURRENT: a rotation running, or left half-done.
    pub fn stray_pending(&self) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, stages)| {
                stages.iter().any(|s| s == "AWSPENDING")
                    && !stages.iter().any(|s| s == "AWSCURRENT")
            })
            .map(|(id, _)| id.as_str())
    }
}

/// The rotation settings of a secret. Times are seconds since the epoch (RFC 3339 in reports).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rotation {
    pub enabled: bool,
    pub function_arn: Option<String>,
    pub schedule: Option<String>,
    pub window: Option<String>,
    #[serde(serialize_with = "serialize_rfc3339")]
    pub last_rotated: Option<i64>,
    #[serde(serialize_with = "serialize_rfc3339")]
    pub next_rotation: Option<i64>,
}

/// When and where IAM last saw a key used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastUsed {
    /// The user the key belongs to.
    pub user: Option<String>,
    pub at: Option<i64>,
    pub service: Option<String>,
    pub region: Option<String>,
}

impl From<KeyLastUse> for LastUsed {
    fn from(used: KeyLastUse) -> Self {
        LastUsed {
            user: used.user,
            at: used.at.map(epoch_seconds),
            service: used.service,
            region: used.region,
        }
    }
}

impl From<&LastUsed> for KeyLastUse {
    fn from(used: &LastUsed) -> Self {
        KeyLastUse {
            user: used.user.clone(),
            at: used.at.map(from_epoch_seconds),
            service: used.service.clone(),
            region: used.region.clone(),
        }
    }
}

/// The schedule RotateSecret sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub expression: String,
    pub window: Option<String>,
}

/// What `enable` of the split layout must know of a secret before copying its value (DescribeSecret
/// and GetResourcePolicy): what guards it, so that the source it creates is guarded no less.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretFacts {
    pub arn: String,
    pub name: String,
    pub rotation_enabled: bool,
    pub tags: Vec<(String, String)>,
    /// The customer managed KMS key it is under (`None`: the account's `aws/secretsmanager`).
    pub kms_key_id: Option<String>,
    /// A replica's primary Region.
    pub primary_region: Option<String>,
    /// Scheduled for deletion.
    pub deleted: bool,
    /// The service that manages it, if one does.
    pub owning_service: Option<String>,
    /// A resource policy is attached.
    pub has_policy: bool,
}

/// The calls only `enable` makes for the split layout (§19, `split.rs`): it creates the source
/// secret, tags the field secrets as its mirrors, and binds the user with the mirrors named.
#[async_trait]
pub trait LayoutAws {
    /// DescribeSecret and GetResourcePolicy by name or ARN; `None` when there is no such secret.
    async fn describe(&self, id: &str) -> Result<Option<SecretFacts>, AwsError>;

    /// CreateSecret holding `value`, under `kms_key_id` (`None`: the default key), with `tags`;
    /// returns its ARN. A name already taken answers `ResourceExistsException`: the secret is
    /// never adopted.
    async fn create_secret(
        &self,
        name: &str,
        value: &Sensitive,
        kms_key_id: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<String, AwsError>;

    /// TagResource of one tag on a secret.
    async fn tag_secret(&self, arn: &str, key: &str, value: &str) -> Result<(), AwsError>;

    /// TagUser with these tags, in one call (all or none).
    async fn tag_user(&self, user: &str, tags: &[(String, String)]) -> Result<(), AwsError>;
}

/// The AWS calls the fleet command makes: the SDK adapter (`sdk.rs`) makes them against AWS, the
/// in-memory fake of the tests (`tests/support/fake.rs`) against a world held in memory. Times are
/// seconds since the epoch.
#[async_trait]
pub trait FleetAws: LayoutAws + Send + Sync {
    /// Every secret of the account and Region (ListSecrets, every page).
    async fn list_secrets(&self) -> Result<Vec<SecretEntry>, AwsError>;

    /// The SecretString of a version (`None`: no value, or a binary secret).
    async fn value(
        &self,
        arn: &str,
        version: VersionRef<'_>,
    ) -> Result<Option<Sensitive>, AwsError>;

    /// BatchGetSecretValue of up to 20 secrets: the AWSCURRENT SecretString of each secret it
    /// answered for (`None`: no string). A secret it gave an error for is left out, to be read
    /// alone; `Err` when the call itself failed.
    async fn current_values(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, Option<Sensitive>>, AwsError>;

    /// When a version was created (ListSecretVersionIds); `None` when it is not listed.
    async fn version_created(&self, arn: &str, version_id: &str) -> Result<Option<i64>, AwsError>;

    /// The user's keys; `None` when the user does not exist.
    async fn user_keys(&self, user: &str) -> Result<Option<Vec<AccessKeyInfo>>, AwsError>;

    /// The user with its tags (GetUser); `None` when the user does not exist.
    async fn user(&self, user: &str) -> Result<Option<IamUser>, AwsError>;

    /// Binds `user` to the secret `secret_arn` (§15): TagUser with the binding tag.
    async fn bind(&self, user: &str, secret_arn: &str) -> Result<(), AwsError>;

    /// Who a key pair authenticates as (sts:GetCallerIdentity signed with it).
    async fn identity_of(
        &self,
        key_id: &str,
        secret_access_key: &Sensitive,
    ) -> Result<CallerIdentity, AwsError>;

    /// The key's owner and last use; `None` when no user of this account has the key.
    async fn last_used(&self, key_id: &str) -> Result<Option<LastUsed>, AwsError>;

    /// The users under an IAM path (names only).
    async fn users_on_path(&self, path_prefix: &str) -> Result<Vec<String>, AwsError>;

    /// RotateSecret. With a function and schedule: turns rotation on (and rotates now only when
    /// `immediately`). Returns the id of the version the rotation makes.
    async fn rotate(
        &self,
        arn: &str,
        configure: Option<(&str, &Schedule)>,
        immediately: bool,
    ) -> Result<String, AwsError>;

    /// The staging labels now, version id to labels.
    async fn stages(&self, arn: &str) -> Result<BTreeMap<String, Vec<String>>, AwsError>;

    /// Takes AWSPENDING off `version_id`.
    async fn remove_pending(&self, arn: &str, version_id: &str) -> Result<(), AwsError>;

    /// DeleteAccessKey.
    async fn delete_key(&self, user: &str, key_id: &str) -> Result<(), AwsError>;
}
