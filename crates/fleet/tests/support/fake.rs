//! An in-memory estate behind [`FleetAws`]: secrets with labelled versions, IAM users with tags and
//! keys, the keys' last use. It answers as the SDK adapter does (`None` for a missing user or key,
//! `NoSuchEntity` for a missing key to delete, `InvalidClientTokenId` for a key pair that does not
//! authenticate) and records every call that changes something, so a test can assert what a
//! command did, or that a dry run did nothing.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use iam_key_fleet::aws::{
    FleetAws, LastUsed, LayoutAws, Rotation, Schedule, SecretEntry, SecretFacts,
};
use iam_key_rotator::aws::{
    AccessKeyInfo, AwsError, CallerIdentity, IamUser, KeyStatus, VersionRef, AWSCURRENT,
    AWSPENDING, AWSPREVIOUS,
};
use iam_key_rotator::binding::BINDING_TAG;
use iam_key_rotator::sensitive::Sensitive;

pub const ACCOUNT: &str = "111111111111";
pub const FUNCTION: &str = "arn:aws:lambda:us-east-1:111111111111:function:iam-key-rotator";

#[derive(Default)]
struct Version {
    labels: Vec<String>,
    value: Option<String>,
    created: i64,
}

#[derive(Default)]
struct Secret {
    name: String,
    tags: Vec<(String, String)>,
    /// A replica's primary Region.
    primary_region: Option<String>,
    /// A customer managed KMS key, and a resource policy.
    kms_key_id: Option<String>,
    has_policy: bool,
    /// Scheduled for deletion; managed by another service (RDS, App Runner...).
    deleted: bool,
    owning_service: Option<String>,
    rotation: Rotation,
    versions: BTreeMap<String, Version>,
}

struct Key {
    id: String,
    secret: String,
    active: bool,
    created: i64,
}

#[derive(Default)]
struct User {
    tags: Vec<(String, String)>,
    keys: Vec<Key>,
}

#[derive(Default)]
struct State {
    /// Where this estate is: ACCOUNT and us-east-1 unless made with `FakeEstate::at`.
    place: Option<(String, String)>,
    secrets: BTreeMap<String, Secret>,
    users: BTreeMap<String, User>,
    last_used: BTreeMap<String, (i64, String)>,
    changes: Vec<String>,
    next_version: usize,
    /// Every value read: "BatchGetSecretValue" or "GetSecretValue", in order.
    reads: Vec<&'static str>,
    /// BatchGetSecretValue is refused (AccessDenied), as for a caller without the permission.
    batch_refused: bool,
    /// The operations (CreateSecret, TagResource, TagUser) answered with an error: its code and
    /// HTTP status.
    denied: Vec<(&'static str, &'static str, u16)>,
    /// A consumer uses this key (at this time) right after the next RemovePending: a race.
    use_after_remove_pending: Option<(String, i64)>,
}

#[derive(Default)]
pub struct FakeEstate(Mutex<State>);

pub fn user_arn(user: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{user}")
}

/// A value holding `user`'s key pair `id`, as the function writes it.
pub fn key_value(user: &str, id: &str) -> String {
    serde_json::json!({"UserName": user, "AccessKeyId": id, "SecretAccessKey": secret_of(id)})
        .to_string()
}

pub fn secret_of(id: &str) -> String {
    format!("fake-secret-of-{id}")
}

fn not_found(service: &'static str, operation: &'static str) -> AwsError {
    AwsError::service(
        service,
        operation,
        Some("NoSuchEntity"),
        Some("not found"),
        Some(404),
    )
}

impl State {
    fn account(&self) -> &str {
        self.place
            .as_ref()
            .map_or(ACCOUNT, |(account, _)| account.as_str())
    }

    fn region(&self) -> &str {
        self.place
            .as_ref()
            .map_or("us-east-1", |(_, region)| region.as_str())
    }
}

impl FakeEstate {
    /// An estate of another account and Region (its secrets' ARNs and its users' say so).
    pub fn at(account: &str, region: &str) -> Self {
        let estate = FakeEstate::default();
        estate.state().place = Some((account.into(), region.into()));
        estate
    }

    /// `secret` is scheduled for deletion (`deleted`), or managed by `service`.
    pub fn retire_or_manage(&self, arn: &str, deleted: bool, service: Option<&str>) {
        let mut state = self.state();
        let secret = state.secrets.get_mut(arn).expect("a secret");
        secret.deleted = deleted;
        secret.owning_service = service.map(str::to_owned);
    }

    /// `secret` is a replica whose primary is in `primary_region`.
    pub fn make_replica(&self, arn: &str, primary_region: &str) {
        let mut state = self.state();
        state.secrets.get_mut(arn).expect("a secret").primary_region = Some(primary_region.into());
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0
            .lock()
            .expect("no test panics while holding the estate")
    }

    /// Gives `user` an active key made at `created`.
    pub fn key(&self, user: &str, id: &str, created: i64) {
        let mut state = self.state();
        let user = state.users.entry(user.into()).or_default();
        user.keys.push(Key {
            id: id.into(),
            secret: secret_of(id),
            active: true,
            created,
        });
    }

    /// The secret is under a customer managed KMS key `kms`, and a resource policy when `policy`.
    pub fn guard(&self, arn: &str, kms: Option<&str>, policy: bool) {
        let mut state = self.state();
        let secret = state.secrets.get_mut(arn).expect("a secret");
        secret.kms_key_id = kms.map(str::to_owned);
        secret.has_policy = policy;
    }

    /// The secret's KMS key.
    pub fn kms_key_of(&self, arn: &str) -> Option<String> {
        self.state().secrets[arn].kms_key_id.clone()
    }

    /// `operation` (CreateSecret, TagResource, TagUser) is answered AccessDenied from now on.
    pub fn deny(&self, operation: &'static str) {
        self.fail(operation, "AccessDenied", 403);
    }

    /// `operation` is answered with the error `code` and HTTP `status` from now on.
    pub fn fail(&self, operation: &'static str, code: &'static str, status: u16) {
        self.state().denied.push((operation, code, status));
    }

    fn refuse(&self, service: &'static str, operation: &'static str) -> Result<(), AwsError> {
        let state = self.state();
        match state.denied.iter().find(|(op, _, _)| *op == operation) {
            Some((_, code, status)) => Err(AwsError::service(
                service,
                operation,
                Some(code),
                Some("refused"),
                Some(*status),
            )),
            None => Ok(()),
        }
    }

    /// A tag on a secret, as its owner writes it.
    pub fn tag_secret(&self, arn: &str, key: &str, value: &str) {
        let mut state = self.state();
        let secret = state.secrets.get_mut(arn).expect("a secret");
        secret.tags.retain(|(k, _)| k != key);
        secret.tags.push((key.into(), value.into()));
    }

    /// A tag on a user, as an IAM administrator writes it.
    pub fn tag_user(&self, user: &str, key: &str, value: &str) {
        let mut state = self.state();
        let user = state.users.get_mut(user).expect("a user of the estate");
        user.tags.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
        user.tags.push((key.into(), value.into()));
    }

    pub fn tag_binding(&self, user: &str, secret_arn: &str) {
        let mut state = self.state();
        let user = state.users.get_mut(user).expect("a user of the estate");
        user.tags
            .retain(|(k, _)| !k.eq_ignore_ascii_case(BINDING_TAG));
        user.tags.push((BINDING_TAG.into(), secret_arn.into()));
    }

    pub fn use_key(&self, id: &str, at: i64) {
        self.state().last_used.insert(id.into(), (at, "s3".into()));
    }

    /// Someone uses key `id` at `at`, just after the next RemovePending takes effect.
    pub fn use_key_after_remove_pending(&self, id: &str, at: i64) {
        self.state().use_after_remove_pending = Some((id.into(), at));
    }

    /// A secret whose AWSCURRENT version (made at `created`) holds `value`; returns its ARN.
    pub fn secret(&self, name: &str, value: &str, created: i64) -> String {
        let mut state = self.state();
        let (region, account) = (state.region(), state.account());
        let arn = format!("arn:aws:secretsmanager:{region}:{account}:secret:{name}-AbCdEf");
        let secret = state.secrets.entry(arn.clone()).or_default();
        secret.name = name.into();
        secret.versions.insert(
            "v-initial".into(),
            Version {
                labels: vec![AWSCURRENT.into()],
                value: Some(value.into()),
                created,
            },
        );
        arn
    }

    /// Rotation on, with this function, last rotated at `last_rotated`.
    pub fn rotation_on(&self, arn: &str, last_rotated: Option<i64>) {
        let mut state = self.state();
        let rotation = &mut state.secrets.get_mut(arn).expect("a secret").rotation;
        rotation.enabled = true;
        rotation.function_arn = Some(FUNCTION.into());
        rotation.schedule = Some("rate(30 days)".into());
        rotation.last_rotated = last_rotated;
    }

    /// A version labelled AWSPREVIOUS, made at `created`, holding `value`.
    pub fn previous(&self, arn: &str, value: &str, created: i64) {
        let mut state = self.state();
        let secret = state.secrets.get_mut(arn).expect("a secret");
        let version = Version {
            labels: vec![AWSPREVIOUS.into()],
            value: Some(value.into()),
            created,
        };
        secret.versions.insert("v-previous".into(), version);
    }

    /// Deactivates (or reactivates) a key, as a person would.
    pub fn set_key_active(&self, user: &str, id: &str, active: bool) {
        let mut state = self.state();
        let user = state.users.get_mut(user).expect("a user of the estate");
        let key = user.keys.iter_mut().find(|k| k.id == id).expect("a key");
        key.active = active;
    }

    /// A version labelled AWSPENDING only, made at `created`, holding `value`.
    pub fn pending(&self, arn: &str, version: &str, value: Option<&str>, created: i64) {
        let mut state = self.state();
        state
            .secrets
            .get_mut(arn)
            .expect("a secret")
            .versions
            .insert(
                version.into(),
                Version {
                    labels: vec![AWSPENDING.into()],
                    value: value.map(str::to_owned),
                    created,
                },
            );
    }

    /// Every read of a value so far, by operation.
    pub fn reads(&self) -> Vec<&'static str> {
        self.state().reads.clone()
    }

    pub fn refuse_batches(&self) {
        self.state().batch_refused = true;
    }

    /// What changed, in order: "TagUser alice arn:...", "RotateSecret arn", ...
    pub fn changes(&self) -> Vec<String> {
        self.state().changes.clone()
    }

    pub fn key_ids(&self, user: &str) -> Vec<String> {
        self.state().users[user]
            .keys
            .iter()
            .map(|k| k.id.clone())
            .collect()
    }

    pub fn labels(&self, arn: &str) -> BTreeMap<String, Vec<String>> {
        self.state().secrets[arn]
            .versions
            .iter()
            .map(|(id, v)| (id.clone(), v.labels.clone()))
            .collect()
    }
}

fn version_of<'a>(secret: &'a Secret, which: VersionRef<'_>) -> Option<&'a Version> {
    let has = |v: &Version, stage: &str| v.labels.iter().any(|l| l == stage);
    match which {
        VersionRef::Stage(stage) => secret.versions.values().find(|v| has(v, stage)),
        VersionRef::Id(id) => secret.versions.get(id),
        VersionRef::IdAndStage(id, stage) => secret.versions.get(id).filter(|v| has(v, stage)),
    }
}

fn time(seconds: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds as u64)
}

#[async_trait]
impl FleetAws for FakeEstate {
    async fn list_secrets(&self) -> Result<Vec<SecretEntry>, AwsError> {
        Ok(self
            .state()
            .secrets
            .iter()
            .map(|(arn, s)| SecretEntry {
                arn: arn.clone(),
                name: s.name.clone(),
                primary_region: s.primary_region.clone(),
                tags: s.tags.clone(),
                rotation: s.rotation.clone(),
                versions: s
                    .versions
                    .iter()
                    .filter(|(_, v)| !v.labels.is_empty())
                    .map(|(id, v)| (id.clone(), v.labels.clone()))
                    .collect(),
            })
            .collect())
    }

    async fn value(
        &self,
        arn: &str,
        version: VersionRef<'_>,
    ) -> Result<Option<Sensitive>, AwsError> {
        let mut state = self.state();
        state.reads.push("GetSecretValue");
        let secret = state
            .secrets
            .get(arn)
            .ok_or_else(|| not_found("secretsmanager", "GetSecretValue"))?;
        let version = version_of(secret, version)
            .ok_or_else(|| not_found("secretsmanager", "GetSecretValue"))?;
        Ok(version.value.as_deref().map(Sensitive::new))
    }

    async fn current_values(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, Option<Sensitive>>, AwsError> {
        let mut state = self.state();
        state.reads.push("BatchGetSecretValue");
        assert!(arns.len() <= 20, "BatchGetSecretValue takes 20 ids at most");
        if state.batch_refused {
            let code = Some("AccessDeniedException");
            let op = "BatchGetSecretValue";
            return Err(AwsError::service(
                "secretsmanager",
                op,
                code,
                Some("denied"),
                Some(400),
            ));
        }
        let current = |arn: &String| {
            let secret = state.secrets.get(arn)?;
            let version = version_of(secret, VersionRef::Stage(AWSCURRENT));
            Some((
                arn.clone(),
                version.and_then(|v| v.value.as_deref().map(Sensitive::new)),
            ))
        };
        Ok(arns.iter().filter_map(current).collect())
    }

    async fn version_created(&self, arn: &str, version_id: &str) -> Result<Option<i64>, AwsError> {
        Ok(self.state().secrets[arn]
            .versions
            .get(version_id)
            .map(|v| v.created))
    }

    async fn user_keys(&self, user: &str) -> Result<Option<Vec<AccessKeyInfo>>, AwsError> {
        Ok(self.state().users.get(user).map(|u| {
            u.keys
                .iter()
                .map(|k| AccessKeyInfo {
                    id: k.id.clone(),
                    status: if k.active {
                        KeyStatus::Active
                    } else {
                        KeyStatus::Inactive
                    },
                    created: time(k.created),
                })
                .collect()
        }))
    }

    async fn user(&self, user: &str) -> Result<Option<IamUser>, AwsError> {
        let state = self.state();
        let arn = format!("arn:aws:iam::{}:user/{user}", state.account());
        Ok(state.users.get(user).map(|u| IamUser {
            name: user.into(),
            arn,
            user_id: format!("AIDA{}", user.to_uppercase()),
            tags: u.tags.clone(),
        }))
    }

    async fn bind(&self, user: &str, secret_arn: &str) -> Result<(), AwsError> {
        self.state()
            .changes
            .push(format!("TagUser {user} {secret_arn}"));
        self.tag_binding(user, secret_arn);
        Ok(())
    }

    async fn identity_of(
        &self,
        key_id: &str,
        secret_access_key: &Sensitive,
    ) -> Result<CallerIdentity, AwsError> {
        let state = self.state();
        let owner = state.users.iter().find(|(_, u)| {
            u.keys
                .iter()
                .any(|k| k.id == key_id && k.active && k.secret == secret_access_key.expose())
        });
        match owner {
            Some((name, _)) => Ok(CallerIdentity {
                account: state.account().into(),
                arn: format!("arn:aws:iam::{}:user/{name}", state.account()),
                user_id: format!("AIDA{}", name.to_uppercase()),
            }),
            None => Err(AwsError::service(
                "sts",
                "GetCallerIdentity",
                Some("InvalidClientTokenId"),
                Some("invalid"),
                Some(403),
            )),
        }
    }

    async fn last_used(&self, key_id: &str) -> Result<Option<LastUsed>, AwsError> {
        let state = self.state();
        let owner = state
            .users
            .iter()
            .find(|(_, u)| u.keys.iter().any(|k| k.id == key_id));
        Ok(owner.map(|(name, _)| {
            let used = state.last_used.get(key_id);
            LastUsed {
                user: Some(name.clone()),
                at: used.map(|(at, _)| *at),
                service: used.map(|(_, service)| service.clone()),
                region: used.map(|_| "eu-west-1".to_owned()),
            }
        }))
    }

    async fn users_on_path(&self, _path_prefix: &str) -> Result<Vec<String>, AwsError> {
        Ok(self.state().users.keys().cloned().collect())
    }

    /// Turns rotation on; rotating now is a rotation that succeeds at once (the function's
    /// own behaviour is tested in the rotator crate).
    async fn rotate(
        &self,
        arn: &str,
        configure: Option<(&str, &Schedule)>,
        immediately: bool,
    ) -> Result<String, AwsError> {
        let mut state = self.state();
        state
            .changes
            .push(format!("RotateSecret {arn} immediately={immediately}"));
        state.next_version += 1;
        let version_id = format!("v-rotated-{}", state.next_version);
        let secret = state
            .secrets
            .get_mut(arn)
            .ok_or_else(|| not_found("secretsmanager", "RotateSecret"))?;
        if let Some((function, schedule)) = configure {
            secret.rotation.enabled = true;
            secret.rotation.function_arn = Some(function.into());
            secret.rotation.schedule = Some(schedule.expression.clone());
        }
        if immediately {
            let value =
                version_of(secret, VersionRef::Stage(AWSCURRENT)).and_then(|v| v.value.clone());
            for version in secret.versions.values_mut() {
                version.labels.retain(|l| l != AWSPREVIOUS);
                for label in version.labels.iter_mut().filter(|l| *l == AWSCURRENT) {
                    *label = AWSPREVIOUS.into();
                }
            }
            secret.versions.insert(
                version_id.clone(),
                Version {
                    labels: vec![AWSCURRENT.into()],
                    value,
                    created: 0,
                },
            );
        }
        Ok(version_id)
    }

    async fn stages(&self, arn: &str) -> Result<BTreeMap<String, Vec<String>>, AwsError> {
        Ok(self.labels(arn))
    }

    async fn remove_pending(&self, arn: &str, version_id: &str) -> Result<(), AwsError> {
        let mut state = self.state();
        state
            .changes
            .push(format!("RemovePending {arn} {version_id}"));
        let version = state
            .secrets
            .get_mut(arn)
            .and_then(|s| s.versions.get_mut(version_id));
        version
            .ok_or_else(|| not_found("secretsmanager", "UpdateSecretVersionStage"))?
            .labels
            .retain(|l| l != AWSPENDING);
        if let Some((id, at)) = state.use_after_remove_pending.take() {
            state.last_used.insert(id, (at, "s3".into()));
        }
        Ok(())
    }

    async fn delete_key(&self, user: &str, key_id: &str) -> Result<(), AwsError> {
        let mut state = self.state();
        state
            .changes
            .push(format!("DeleteAccessKey {user} {key_id}"));
        let keys = &mut state
            .users
            .get_mut(user)
            .ok_or_else(|| not_found("iam", "DeleteAccessKey"))?
            .keys;
        let before = keys.len();
        keys.retain(|k| k.id != key_id);
        match keys.len() < before {
            true => Ok(()),
            false => Err(not_found("iam", "DeleteAccessKey")),
        }
    }
}

#[async_trait]
impl LayoutAws for FakeEstate {
    async fn describe(&self, id: &str) -> Result<Option<SecretFacts>, AwsError> {
        let state = self.state();
        let found = state
            .secrets
            .iter()
            .find(|(arn, s)| *arn == id || s.name == id);
        Ok(found.map(|(arn, s)| SecretFacts {
            arn: arn.clone(),
            name: s.name.clone(),
            rotation_enabled: s.rotation.enabled,
            tags: s.tags.clone(),
            kms_key_id: s.kms_key_id.clone(),
            primary_region: s.primary_region.clone(),
            deleted: s.deleted,
            owning_service: s.owning_service.clone(),
            has_policy: s.has_policy,
        }))
    }

    async fn create_secret(
        &self,
        name: &str,
        value: &Sensitive,
        kms_key_id: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<String, AwsError> {
        self.refuse("secretsmanager", "CreateSecret")?;
        if self.state().secrets.values().any(|s| s.name == name) {
            return Err(AwsError::service(
                "secretsmanager",
                "CreateSecret",
                Some("ResourceExistsException"),
                Some("the secret exists"),
                Some(400),
            ));
        }
        self.state().changes.push(format!("CreateSecret {name}"));
        let arn = self.secret(name, value.expose(), 0);
        let mut state = self.state();
        let secret = state.secrets.get_mut(&arn).expect("just made");
        secret.kms_key_id = kms_key_id.map(str::to_owned);
        secret.tags = tags.to_vec();
        Ok(arn)
    }

    async fn tag_secret(&self, arn: &str, key: &str, value: &str) -> Result<(), AwsError> {
        self.refuse("secretsmanager", "TagResource")?;
        let known = self.state().secrets.contains_key(arn);
        if !known {
            return Err(not_found("secretsmanager", "TagResource"));
        }
        let change = format!("TagResource {arn} {key}={value}");
        self.state().changes.push(change);
        FakeEstate::tag_secret(self, arn, key, value);
        Ok(())
    }

    async fn tag_user(&self, user: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        self.refuse("iam", "TagUser")?;
        let known = self.state().users.contains_key(user);
        if !known {
            return Err(not_found("iam", "TagUser"));
        }
        for (key, value) in tags {
            self.state()
                .changes
                .push(format!("TagUser {user} {key}={value}"));
            FakeEstate::tag_user(self, user, key, value);
        }
        Ok(())
    }
}
