//! An in-memory fake of Secrets Manager, IAM and STS, faithful where the contract depends on it:
//! the empty AWSPENDING placeholder, real CreatedDate per version, no overwrite of a pending
//! value, the 2-key limit, Inactive keys rejected by STS, and an emulated propagation delay.
//! It also logs every call and can fail a chosen call, for the error-path tests.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use iam_key_rotator::aws::{
    AccessKeyInfo, AwsError, CallerIdentity, Events, Iam, IamUser, KeyLastUse, KeyStatus,
    LifecycleEvent, MemberAccounts, NewAccessKey, Pending, SecretMetadata, SecretSummary,
    SecretsManager, Sts, VersionRef, AWSCURRENT, AWSPENDING, AWSPREVIOUS,
};
use iam_key_rotator::clock::Clock;
use iam_key_rotator::sensitive::Sensitive;
use iam_key_rotator::{Config, Rotator};

#[macro_use]
mod call {
    /// Runs `body` under the fault plan of `operation`: a `Before` fault fails without effect,
    /// an `After` fault fails after the effect.
    macro_rules! call {
        ($self:ident, $op:literal, |$state:ident| $body:expr) => {{
            let mut guard = $self.state.lock().unwrap();
            let fault = guard.enter($op);
            if let Some(Fault::Before(e)) = &fault {
                return Err(e.clone());
            }
            let $state: &mut State = &mut guard;
            let result = $body;
            match fault {
                Some(Fault::After(e)) => result.and(Err(e)),
                _ => result,
            }
        }};
    }
}

pub mod ssm;
pub use ssm::Parameter;

pub const ACCOUNT: &str = "123456789012";
/// The function the fake's secrets name as their rotation function.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:iam-key-rotator";
/// The function's execution role: the principal a member role trusts (§17).
pub const FUNCTION_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/iam-key-rotator-function";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub id: String,
    pub value: Option<String>,
    pub stages: Vec<String>,
    pub created: SystemTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    pub arn: String,
    pub name: String,
    pub rotation_enabled: bool,
    pub rotation_lambda_arn: Option<String>,
    pub last_rotated: Option<SystemTime>,
    pub versions: Vec<Version>,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub id: String,
    pub secret: String,
    pub status: KeyStatus,
    pub created: SystemTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub account: String,
    pub name: String,
    pub path: String,
    pub user_id: String,
    pub keys: Vec<Key>,
    pub tags: Vec<(String, String)>,
}

impl User {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:user{}{}",
            self.account, self.path, self.name
        )
    }
}

/// Everything the services hold: what "nothing changed" compares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct World {
    pub secrets: BTreeMap<String, Secret>,
    /// The users of the function's own account.
    pub users: BTreeMap<String, User>,
    /// Member accounts (§17), by id.
    pub members: BTreeMap<String, Member>,
    /// SSM parameters, by name (issue 23's mirrors).
    pub parameters: BTreeMap<String, Parameter>,
}

/// A member account: its users, and the role the function may assume there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Member {
    pub users: BTreeMap<String, User>,
    pub role: Option<MemberRoleSetup>,
}

/// The member role as deployed: its name, the external id its trust policy expects, and whether
/// it trusts the function's role at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRoleSetup {
    pub name: String,
    /// `/` or `/a/b/`.
    pub path: String,
    pub external_id: String,
    pub trusts_function: bool,
}

impl World {
    /// The users of `account` (the function's own for [`ACCOUNT`]).
    pub fn users_of(&mut self, account: &str) -> &mut BTreeMap<String, User> {
        if account == ACCOUNT {
            &mut self.users
        } else {
            &mut self.members.entry(account.to_owned()).or_default().users
        }
    }

    /// Every user of every account.
    pub fn all_users(&self) -> impl Iterator<Item = &User> {
        let members = self.members.values().flat_map(|m| m.users.values());
        self.users.values().chain(members)
    }
}

#[derive(Default)]
struct State {
    world: World,
    /// A logical clock: every change happens one second after the previous one.
    clock: u64,
    serial: u64,
    calls: Vec<&'static str>,
    /// Operation name -> errors to answer with, next call first.
    faults: HashMap<&'static str, Vec<Fault>>,
    /// How many GetCallerIdentity calls a new key fails before it works.
    propagation_attempts: u32,
    unpropagated: HashMap<String, u32>,
    /// Every secret the fake ever handed out or stored, to prove none reaches a log.
    secret_material: Vec<String>,
    rotation_tokens_received: Vec<Option<String>>,
    /// When set, GetCallerIdentity answers with this ARN whatever the key (a wrong identity).
    identity_override: Option<String>,
    crash: Option<Crash>,
    /// The lifecycle events put on the bus, in order.
    events: Vec<LifecycleEvent>,
    /// Changes to make just before a call: (operation, calls of it to let pass first, change).
    hooks: Vec<(&'static str, usize, Hook)>,
    /// Key id to every time it authenticated (as STS records it), and to the last use IAM has
    /// reported by hand (`report_uses`). Kept out of the World: "nothing changed" is about keys
    /// and secrets, not this record.
    uses: HashMap<String, Vec<SystemTime>>,
    reported: HashMap<String, SystemTime>,
    /// Keys of users the function's role does not cover (outside its UserPath): IAM answers
    /// GetAccessKeyLastUsed on them with AccessDenied.
    denied_keys: Vec<String>,
    /// How many times the function asked about one of them.
    denied_asked: usize,
    /// How late GetAccessKeyLastUsed shows a use (IAM's lag, up to hours): 0 unless set.
    report_lag: Duration,
    /// The clock moves only by `advance`, and a second for each key made.
    frozen: bool,
}

/// The calls that change something: what `crash_before_change` counts. GetCallerIdentity too:
/// IAM records the key's use.
const CHANGING: &[&str] = &[
    "GetCallerIdentity",
    "CreateAccessKey",
    "DeleteAccessKey",
    "UpdateAccessKey",
    "PutSecretValue",
    "PutParameter",
    "UpdateSecretVersionStage",
    "TagResource",
    "UntagResource",
    "PutEvents",
];

/// A process crash: the call `countdown` calls from now fails (before or after its effect), and
/// every call after it fails before reaching the service, as from a process that died.
#[derive(Clone, Copy)]
struct Crash {
    countdown: usize,
    after_effect: bool,
    crashed: bool,
    /// Only calls that change something count down.
    changes_only: bool,
}

type Hook = Box<dyn FnOnce(&mut World) + Send>;

#[derive(Clone)]
pub enum Fault {
    /// Fail without doing anything.
    Before(AwsError),
    /// Do the call, then fail as if the response was lost.
    After(AwsError),
}

#[derive(Clone, Default)]
pub struct FakeAws {
    state: Arc<Mutex<State>>,
}

pub fn error(service: &'static str, operation: &'static str, code: &str, status: u16) -> AwsError {
    AwsError::service(
        service,
        operation,
        Some(code),
        Some("fake error"),
        Some(status),
    )
}

fn not_found(service: &'static str, operation: &'static str, what: &str) -> AwsError {
    let code = if service == "iam" {
        "NoSuchEntity"
    } else {
        "ResourceNotFoundException"
    };
    AwsError::service(
        service,
        operation,
        Some(code),
        Some(&format!("{what} not found")),
        Some(404),
    )
}

impl State {
    /// A value to prove absent from every log. A key id alone (a mirror in the split layout holds
    /// one) is no secret: logs name key ids.
    pub(crate) fn remember_material(&mut self, value: &str) {
        let key_id = value.len() == 20
            && value.starts_with("AKIA")
            && value
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !key_id {
            self.secret_material.push(value.to_owned());
        }
    }

    /// The logical time now, without moving it.
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_790_000_000 + self.clock)
    }

    fn tick(&mut self) -> SystemTime {
        if !self.frozen {
            self.clock += 1;
        }
        self.now()
    }

    /// A key is dated a second after what came before it, frozen clock or not (createSecret
    /// waits for the next second before it creates one).
    fn tick_for_key(&mut self) -> SystemTime {
        self.clock += 1;
        self.now()
    }

    /// The last use IAM shows now: reported by hand, or older than the lag.
    fn reported_use(&self, key_id: &str) -> Option<SystemTime> {
        let now = self.now();
        let due = self.uses.get(key_id).into_iter().flatten();
        let due = due.filter(|u| **u + self.report_lag <= now).max().copied();
        due.max(self.reported.get(key_id).copied())
    }

    fn record_use(&mut self, key_id: &str, at: SystemTime) {
        self.uses.entry(key_id.to_owned()).or_default().push(at);
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}{:016}", self.serial)
    }

    /// Records the call and answers with an injected fault if one is due.
    fn enter(&mut self, operation: &'static str) -> Option<Fault> {
        self.calls.push(operation);
        if let Some(i) = self.hooks.iter().position(|(op, _, _)| *op == operation) {
            if self.hooks[i].1 == 0 {
                let (_, _, change) = self.hooks.remove(i);
                change(&mut self.world);
            } else {
                self.hooks[i].1 -= 1;
            }
        }
        if let Some(crash) = &mut self.crash {
            let dead = || AwsError::no_answer("fake", operation, "the process died".into());
            if crash.crashed {
                return Some(Fault::Before(dead()));
            }
            let counts = !crash.changes_only || CHANGING.contains(&operation);
            if counts && crash.countdown == 0 {
                crash.crashed = true;
                return Some(if crash.after_effect {
                    Fault::After(dead())
                } else {
                    Fault::Before(dead())
                });
            }
            if counts {
                crash.countdown -= 1;
            }
        }
        let faults = self.faults.get_mut(operation)?;
        if faults.is_empty() {
            None
        } else {
            Some(faults.remove(0))
        }
    }

    fn secret_mut(&mut self, id: &str, op: &'static str) -> Result<&mut Secret, AwsError> {
        self.world
            .secrets
            .values_mut()
            .find(|s| s.name == id || s.arn == id || partial_arn_of(&s.arn, id))
            .ok_or_else(|| not_found("secretsmanager", op, "secret"))
    }

    fn user_mut(
        &mut self,
        account: &str,
        name: &str,
        op: &'static str,
    ) -> Result<&mut User, AwsError> {
        if account != ACCOUNT && !self.world.members.contains_key(account) {
            return Err(not_found("iam", op, "user"));
        }
        let users = self.world.users_of(account);
        users
            .get_mut(name)
            .ok_or_else(|| not_found("iam", op, "user"))
    }
}

impl FakeAws {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn rotator(&self, config: Config) -> Rotator {
        Rotator {
            config,
            secrets: Arc::new(self.clone()),
            iam: Arc::new(self.iam_of(ACCOUNT)),
            members: Arc::new(self.clone()),
            sts: Arc::new(self.clone()),
            parameters: Arc::new(self.clone()),
            events: Arc::new(self.clone()),
            clock: Arc::new(self.clone()),
        }
    }

    // ---- set-up and inspection, as an operator would do it ----

    /// IAM of `account`, as the function or the member role sees it.
    pub fn iam_of(&self, account: &str) -> FakeIam {
        FakeIam {
            state: self.state.clone(),
            account: account.to_owned(),
        }
    }

    /// A member account with its member role (`None`: the role is not deployed there).
    pub fn add_member(&self, account: &str, role: Option<MemberRoleSetup>) {
        let mut s = self.state.lock().unwrap();
        s.world.members.entry(account.to_owned()).or_default().role = role;
    }

    pub fn add_user(&self, name: &str, path: &str) {
        self.add_user_in(ACCOUNT, name, path);
    }

    pub fn add_user_in(&self, account: &str, name: &str, path: &str) {
        let mut s = self.state.lock().unwrap();
        let user_id = s.next_id("AIDA");
        s.world.users_of(account).insert(
            name.into(),
            User {
                account: account.into(),
                name: name.into(),
                path: path.into(),
                user_id,
                keys: Vec::new(),
                tags: Vec::new(),
            },
        );
    }

    /// What an IAM administrator does to let `secret` rotate the user's keys (§15): TagUser with
    /// the binding tag, whose value is the secret's ARN. Like IAM, one value per key.
    pub fn bind(&self, user: &str, secret: &str) {
        let arn = self.secret(secret).arn;
        self.tag_user(user, iam_key_rotator::binding::BINDING_TAG, &arn);
    }

    /// Binds a user of a member account to a secret of the function's account (§17).
    pub fn bind_in(&self, account: &str, user: &str, secret: &str) {
        let arn = self.secret(secret).arn;
        self.tag_user_in(account, user, iam_key_rotator::binding::BINDING_TAG, &arn);
    }

    pub fn tag_user(&self, user: &str, key: &str, value: &str) {
        self.tag_user_in(ACCOUNT, user, key, value);
    }

    pub fn tag_user_in(&self, account: &str, user: &str, key: &str, value: &str) {
        let mut s = self.state.lock().unwrap();
        let tags = &mut s.world.users_of(account).get_mut(user).expect("user").tags;
        tags.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
        tags.push((key.into(), value.into()));
    }

    pub fn delete_user(&self, name: &str) {
        self.state.lock().unwrap().world.users.remove(name);
    }

    /// A key made outside the rotation (by an operator): already propagated.
    pub fn add_key(&self, user: &str) -> (String, String) {
        self.add_key_in(ACCOUNT, user)
    }

    pub fn add_key_in(&self, account: &str, user: &str) -> (String, String) {
        let mut s = self.state.lock().unwrap();
        let key = make_key(&mut s);
        let pair = (key.id.clone(), key.secret.clone());
        let users = s.world.users_of(account);
        users.get_mut(user).expect("user").keys.push(key);
        pair
    }

    pub fn set_key_status(&self, user: &str, key_id: &str, status: KeyStatus) {
        let mut s = self.state.lock().unwrap();
        let user = s.world.users.get_mut(user).expect("user");
        user.keys
            .iter_mut()
            .find(|k| k.id == key_id)
            .expect("key")
            .status = status;
    }

    /// A consumer authenticates with the key: IAM records its last use.
    /// Time passes: `by` of it, at once.
    pub fn advance(&self, by: Duration) {
        self.state.lock().unwrap().clock += by.as_secs();
    }

    pub fn use_key(&self, user: &str, key_id: &str) {
        let mut s = self.state.lock().unwrap();
        let owner = s
            .world
            .all_users()
            .find(|u| u.keys.iter().any(|k| k.id == key_id));
        assert_eq!(owner.map(|u| u.name.as_str()), Some(user));
        let now = s.tick();
        s.record_use(key_id, now);
    }

    pub fn remove_key(&self, user: &str, key_id: &str) {
        let mut s = self.state.lock().unwrap();
        s.world
            .users
            .get_mut(user)
            .expect("user")
            .keys
            .retain(|k| k.id != key_id);
    }

    pub fn create_secret(&self, name: &str, value: &str, rotation_enabled: bool) -> String {
        let mut s = self.state.lock().unwrap();
        let created = s.tick();
        let id = s.next_id("00000000-0000-4000-8000-");
        s.remember_material(value);
        let arn = format!("arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{name}-AbCdEf");
        s.world.secrets.insert(
            name.into(),
            Secret {
                arn,
                name: name.into(),
                rotation_enabled,
                rotation_lambda_arn: rotation_enabled.then(|| FUNCTION_ARN.to_owned()),
                last_rotated: None,
                tags: Vec::new(),
                versions: vec![Version {
                    id,
                    value: Some(value.into()),
                    stages: vec![AWSCURRENT.into()],
                    created,
                }],
            },
        );
        name.to_owned()
    }

    /// What Secrets Manager does before createSecret (§3): an empty AWSPENDING version whose id
    /// is the token. Refused while a previous rotation is not complete.
    pub fn start_rotation(&self, secret: &str) -> Result<String, String> {
        let token = {
            let mut s = self.state.lock().unwrap();
            s.next_id("7a9e1c2d-0000-4000-8000-")
        };
        self.start_rotation_with(secret, &token)
    }

    /// RotateSecret with the caller's ClientRequestToken.
    pub fn start_rotation_with(&self, secret: &str, token: &str) -> Result<String, String> {
        let token = token.to_owned();
        let mut s = self.state.lock().unwrap();
        let created = s.tick();
        let secret = s.world.secrets.get_mut(secret).expect("secret");
        if secret
            .versions
            .iter()
            .any(|v| has(v, AWSPENDING) && !has(v, AWSCURRENT))
        {
            return Err(
                "A previous rotation isn't complete. That rotation will be reattempted.".into(),
            );
        }
        for v in &mut secret.versions {
            v.stages.retain(|st| st != AWSPENDING);
        }
        secret.versions.push(Version {
            id: token.clone(),
            value: None,
            stages: vec![AWSPENDING.into()],
            created,
        });
        Ok(token)
    }

    /// After a successful finishSecret the service removes AWSPENDING itself (§3).
    pub fn complete_rotation(&self, secret: &str, token: &str) {
        let mut s = self.state.lock().unwrap();
        let now = s.tick();
        let secret = s.world.secrets.get_mut(secret).expect("secret");
        secret.last_rotated = Some(now);
        if let Some(v) = secret.versions.iter_mut().find(|v| v.id == token) {
            v.stages.retain(|st| st != AWSPENDING);
        }
        drop_unlabelled(secret);
    }

    /// RotateSecret naming another function (or none).
    pub fn set_rotation_function(&self, secret: &str, arn: Option<&str>) {
        let mut s = self.state.lock().unwrap();
        let secret = s.world.secrets.get_mut(secret).expect("secret");
        secret.rotation_lambda_arn = arn.map(str::to_owned);
    }

    /// A person's TagResource (or UntagResource with `None`) on a secret.
    pub fn tag_secret_by_hand(&self, secret: &str, key: &str, value: Option<&str>) {
        let mut s = self.state.lock().unwrap();
        let secret = s.world.secrets.get_mut(secret).expect("secret");
        set_tag(&mut secret.tags, key, value);
    }

    /// The time the function's clock reads now.
    pub fn now(&self) -> SystemTime {
        self.state.lock().unwrap().now()
    }

    pub fn set_rotation_enabled(&self, secret: &str, enabled: bool) {
        let mut s = self.state.lock().unwrap();
        s.world
            .secrets
            .get_mut(secret)
            .expect("secret")
            .rotation_enabled = enabled;
    }

    /// A person's PutSecretValue without stages: a new version takes AWSCURRENT, the old current
    /// becomes AWSPREVIOUS, AWSPENDING stays where it is. Returns the new version's id.
    pub fn put_current_value(&self, secret: &str, value: &str) -> String {
        let mut s = self.state.lock().unwrap();
        put_current(&mut s, secret, value, "PutSecretValue").expect("secret")
    }

    /// UpdateSecretVersionStage by hand: `stage` moves to `version_id`.
    pub fn move_label(&self, secret: &str, stage: &str, version_id: &str) {
        let mut s = self.state.lock().unwrap();
        let secret = s.world.secrets.get_mut(secret).expect("secret");
        for v in &mut secret.versions {
            v.stages.retain(|st| st != stage);
            if v.id == version_id {
                v.stages.push(stage.into());
            }
        }
    }

    /// Overwrites a version's value behind the function's back (bad input scenarios).
    pub fn set_value(&self, secret: &str, version_id: &str, value: Option<&str>) {
        let mut s = self.state.lock().unwrap();
        if let Some(v) = value {
            s.secret_material.push(v.to_owned());
        }
        let secret = s.world.secrets.get_mut(secret).expect("secret");
        secret
            .versions
            .iter_mut()
            .find(|v| v.id == version_id)
            .expect("version")
            .value = value.map(str::to_owned);
    }

    pub fn world(&self) -> World {
        self.state.lock().unwrap().world.clone()
    }

    pub fn user(&self, name: &str) -> User {
        self.world().users[name].clone()
    }

    pub fn user_in(&self, account: &str, name: &str) -> User {
        self.world().users_of(account)[name].clone()
    }

    pub fn secret(&self, name: &str) -> Secret {
        self.world().secrets[name].clone()
    }

    pub fn version_with(&self, secret: &str, stage: &str) -> Option<Version> {
        self.secret(secret)
            .versions
            .into_iter()
            .find(|v| has(v, stage))
    }

    pub fn version(&self, secret: &str, id: &str) -> Version {
        self.secret(secret)
            .versions
            .into_iter()
            .find(|v| v.id == id)
            .expect("version")
    }

    pub fn events(&self) -> Vec<LifecycleEvent> {
        self.state.lock().unwrap().events.clone()
    }

    /// IAM denies the function GetAccessKeyLastUsed on this key, as its policy does for a user
    /// outside UserPath.
    pub fn deny_last_used(&self, key_id: &str) {
        self.state
            .lock()
            .unwrap()
            .denied_keys
            .push(key_id.to_owned());
    }

    /// How many times the function asked GetAccessKeyLastUsed about a denied key.
    pub fn denied_asked(&self) -> usize {
        self.state.lock().unwrap().denied_asked
    }

    pub fn calls(&self) -> Vec<&'static str> {
        self.state.lock().unwrap().calls.clone()
    }

    pub fn clear_calls(&self) {
        self.state.lock().unwrap().calls.clear();
    }

    /// Someone changes the world just before the call of `operation` that comes after `skip`
    /// others: a race with the function.
    pub fn before_call(
        &self,
        operation: &'static str,
        skip: usize,
        change: impl FnOnce(&mut World) + Send + 'static,
    ) {
        let hook: Hook = Box::new(change);
        self.state
            .lock()
            .unwrap()
            .hooks
            .push((operation, skip, hook));
    }

    pub fn fail(&self, operation: &'static str, fault: Fault) {
        let mut s = self.state.lock().unwrap();
        s.faults.entry(operation).or_default().push(fault);
    }

    /// The process dies at the `call`-th call from now (0-based): that call fails before its
    /// effect, or after it with the answer lost, and no later call reaches the service.
    pub fn crash_at(&self, call: usize, after_effect: bool) {
        self.state.lock().unwrap().crash = Some(Crash {
            countdown: call,
            after_effect,
            crashed: false,
            changes_only: false,
        });
    }

    /// The process dies before the `change`-th call (0-based) that changes something; every
    /// call after it fails too.
    pub fn crash_before_change(&self, change: usize) {
        self.state.lock().unwrap().crash = Some(Crash {
            countdown: change,
            after_effect: false,
            crashed: false,
            changes_only: true,
        });
    }

    /// Changes the world directly: a scenario's set-up.
    pub fn edit(&self, change: impl FnOnce(&mut World)) {
        change(&mut self.state.lock().unwrap().world);
    }

    /// From now on the clock moves only by `advance` (and a second for each key made).
    pub fn freeze_clock(&self) {
        self.state.lock().unwrap().frozen = true;
    }

    /// GetAccessKeyLastUsed shows a use only `lag` after it, unless `report_uses` came first.
    pub fn set_report_lag(&self, lag: Duration) {
        self.state.lock().unwrap().report_lag = lag;
    }

    /// IAM reports every use of `key_id` so far.
    pub fn report_uses(&self, key_id: &str) {
        let mut s = self.state.lock().unwrap();
        let last = s.uses.get(key_id).and_then(|u| u.iter().max().copied());
        if let Some(last) = last {
            s.reported.insert(key_id.to_owned(), last);
        }
    }

    /// What GetAccessKeyLastUsed shows of `key_id` now (no call recorded).
    pub fn last_use_shown(&self, key_id: &str) -> Option<SystemTime> {
        self.state.lock().unwrap().reported_use(key_id)
    }

    /// A consumer used `key_id` at `at` (a scenario's set-up).
    pub fn used_at(&self, key_id: &str, at: SystemTime) {
        self.state.lock().unwrap().record_use(key_id, at);
    }

    /// The logical clock's reading in seconds after its start.
    pub fn set_clock(&self, seconds: u64) {
        self.state.lock().unwrap().clock = seconds;
    }

    /// A new process: calls reach the service again.
    pub fn clear_crash(&self) {
        self.state.lock().unwrap().crash = None;
    }

    /// Every new key fails its first `attempts` GetCallerIdentity calls.
    pub fn set_propagation_attempts(&self, attempts: u32) {
        self.state.lock().unwrap().propagation_attempts = attempts;
    }

    pub fn answer_identity_as(&self, arn: &str) {
        self.state.lock().unwrap().identity_override = Some(arn.into());
    }

    pub fn rotation_tokens_received(&self) -> Vec<Option<String>> {
        self.state.lock().unwrap().rotation_tokens_received.clone()
    }

    /// Every secret value, secret access key and RotationToken the fake has seen.
    pub fn secret_material(&self) -> Vec<String> {
        let s = self.state.lock().unwrap();
        let mut all = s.secret_material.clone();
        for user in s.world.all_users() {
            all.extend(user.keys.iter().map(|k| k.secret.clone()));
        }
        all.extend(s.rotation_tokens_received.iter().flatten().cloned());
        all
    }
}

fn set_tag(tags: &mut Vec<(String, String)>, key: &str, value: Option<&str>) {
    tags.retain(|(k, _)| k != key);
    if let Some(value) = value {
        tags.push((key.to_owned(), value.to_owned()));
    }
}

/// PutSecretValue without stages: a new version takes AWSCURRENT, the old current becomes
/// AWSPREVIOUS, AWSPENDING stays where it is. Returns the new version's id.
fn put_current(
    s: &mut State,
    secret_id: &str,
    value: &str,
    op: &'static str,
) -> Result<String, AwsError> {
    let created = s.tick();
    let id = s.next_id("00000000-edit-4000-8000-");
    s.remember_material(value);
    let secret = s.secret_mut(secret_id, op)?;
    for v in &mut secret.versions {
        v.stages.retain(|st| st != AWSPREVIOUS);
        if has(v, AWSCURRENT) {
            v.stages.retain(|st| st != AWSCURRENT);
            v.stages.push(AWSPREVIOUS.into());
        }
    }
    secret.versions.push(Version {
        id: id.clone(),
        value: Some(value.into()),
        stages: vec![AWSCURRENT.into()],
        created,
    });
    Ok(id)
}

/// Whether `id` is `arn`'s partial ARN (without the "-" and six characters Secrets Manager adds),
/// which AWS resolves to the secret of that name.
fn partial_arn_of(arn: &str, id: &str) -> bool {
    arn.len() == id.len() + 7 && arn.starts_with(id) && arn.as_bytes()[id.len()] == b'-'
}

fn has(version: &Version, stage: &str) -> bool {
    version.stages.iter().any(|s| s == stage)
}

/// Secrets Manager keeps unlabelled versions for a while; the fake drops them, like a deprecation.
fn drop_unlabelled(secret: &mut Secret) {
    secret.versions.retain(|v| !v.stages.is_empty());
}

fn make_key(s: &mut State) -> Key {
    let created = s.tick_for_key();
    let id = s.next_id("AKIA");
    let secret = format!("fakeSecret/{}+wJalrXUtnFEMI", s.next_id("K"));
    s.secret_material.push(secret.clone());
    Key {
        id,
        secret,
        status: KeyStatus::Active,
        created,
    }
}

#[async_trait]
impl SecretsManager for FakeAws {
    async fn describe_secret(&self, secret_id: &str) -> Result<SecretMetadata, AwsError> {
        call!(self, "DescribeSecret", |s| {
            let secret = s.secret_mut(secret_id, "DescribeSecret")?;
            Ok(SecretMetadata {
                arn: secret.arn.clone(),
                name: secret.name.clone(),
                rotation_enabled: secret.rotation_enabled,
                rotation_lambda_arn: secret.rotation_lambda_arn.clone(),
                last_rotated: secret.last_rotated,
                versions: secret
                    .versions
                    .iter()
                    .map(|v| (v.id.clone(), v.stages.clone()))
                    .collect(),
                tags: secret.tags.clone(),
            })
        })
    }

    async fn list_secrets(&self) -> Result<Vec<SecretSummary>, AwsError> {
        call!(self, "ListSecrets", |s| {
            Ok(s.world
                .secrets
                .values()
                .map(|secret| SecretSummary {
                    arn: secret.arn.clone(),
                    rotation_enabled: secret.rotation_enabled,
                    rotation_lambda_arn: secret.rotation_lambda_arn.clone(),
                })
                .collect())
        })
    }

    async fn tag_secret(&self, secret_id: &str, key: &str, value: &str) -> Result<(), AwsError> {
        call!(self, "TagResource", |s| {
            let secret = s.secret_mut(secret_id, "TagResource")?;
            set_tag(&mut secret.tags, key, Some(value));
            Ok(())
        })
    }

    async fn untag_secret(&self, secret_id: &str, key: &str) -> Result<(), AwsError> {
        call!(self, "UntagResource", |s| {
            let secret = s.secret_mut(secret_id, "UntagResource")?;
            set_tag(&mut secret.tags, key, None);
            Ok(())
        })
    }

    async fn get_secret_value(
        &self,
        secret_id: &str,
        version: VersionRef<'_>,
    ) -> Result<Option<Sensitive>, AwsError> {
        call!(self, "GetSecretValue", |s| {
            let secret = s.secret_mut(secret_id, "GetSecretValue")?;
            let found = secret.versions.iter().find(|v| match version {
                VersionRef::Stage(stage) => has(v, stage),
                VersionRef::IdAndStage(id, stage) => v.id == id && has(v, stage),
                VersionRef::Id(id) => v.id == id,
            });
            // As AWS: a version without a value answers ResourceNotFoundException, which the
            // adapter turns into None.
            Ok(found.and_then(|v| v.value.clone()).map(Sensitive::new))
        })
    }

    async fn put_pending_value(
        &self,
        secret_id: &str,
        pending: Pending<'_>,
    ) -> Result<(), AwsError> {
        let Pending {
            version_id,
            value,
            rotation_token,
        } = pending;
        call!(self, "PutSecretValue", |s| {
            s.rotation_tokens_received
                .push(rotation_token.map(|t| t.expose().to_owned()));
            s.secret_material.push(value.expose().to_owned());
            let created = s.tick();
            let secret = s.secret_mut(secret_id, "PutSecretValue")?;
            match secret.versions.iter_mut().find(|v| v.id == version_id) {
                Some(v) => match &v.value {
                    None => {
                        v.value = Some(value.expose().to_owned());
                        Ok(())
                    }
                    Some(existing) if existing == value.expose() => Ok(()),
                    Some(_) => Err(error(
                        "secretsmanager",
                        "PutSecretValue",
                        "ResourceExistsException",
                        400,
                    )),
                },
                None => {
                    for v in &mut secret.versions {
                        v.stages.retain(|st| st != AWSPENDING);
                    }
                    secret.versions.push(Version {
                        id: version_id.into(),
                        value: Some(value.expose().to_owned()),
                        stages: vec![AWSPENDING.into()],
                        created,
                    });
                    Ok(())
                }
            }
        })
    }

    async fn put_value(&self, secret_id: &str, value: &Sensitive) -> Result<(), AwsError> {
        call!(self, "PutSecretValue", |s| {
            put_current(s, secret_id, value.expose(), "PutSecretValue").map(drop)
        })
    }

    async fn move_current(
        &self,
        secret_id: &str,
        to_version: &str,
        from_version: Option<&str>,
    ) -> Result<(), AwsError> {
        call!(self, "UpdateSecretVersionStage", |s| {
            let secret = s.secret_mut(secret_id, "UpdateSecretVersionStage")?;
            let actual = secret
                .versions
                .iter()
                .find(|v| has(v, AWSCURRENT))
                .map(|v| v.id.clone());
            if !secret.versions.iter().any(|v| v.id == to_version) {
                return Err(not_found(
                    "secretsmanager",
                    "UpdateSecretVersionStage",
                    "version",
                ));
            }
            if actual.as_deref() == Some(to_version) {
                return Ok(());
            }
            if actual.as_deref() != from_version {
                return Err(error(
                    "secretsmanager",
                    "UpdateSecretVersionStage",
                    "InvalidParameterException",
                    400,
                ));
            }
            for v in &mut secret.versions {
                if Some(v.id.as_str()) == from_version {
                    v.stages.retain(|st| st != AWSCURRENT);
                    v.stages.push(AWSPREVIOUS.into());
                } else if v.id == to_version {
                    v.stages.retain(|st| st != AWSPREVIOUS);
                    v.stages.push(AWSCURRENT.into());
                } else {
                    v.stages.retain(|st| st != AWSPREVIOUS);
                }
            }
            drop_unlabelled(secret);
            Ok(())
        })
    }

    async fn versions_created(
        &self,
        secret_id: &str,
    ) -> Result<BTreeMap<String, SystemTime>, AwsError> {
        call!(self, "ListSecretVersionIds", |s| {
            let secret = s.secret_mut(secret_id, "ListSecretVersionIds")?;
            Ok(secret
                .versions
                .iter()
                .map(|v| (v.id.clone(), v.created))
                .collect())
        })
    }
}

/// IAM of one account of the fake.
#[derive(Clone)]
pub struct FakeIam {
    state: Arc<Mutex<State>>,
    account: String,
}

#[async_trait]
impl Iam for FakeIam {
    async fn get_user(&self, user_name: &str) -> Result<IamUser, AwsError> {
        call!(self, "GetUser", |s| {
            let user = s.user_mut(&self.account, user_name, "GetUser")?;
            Ok(IamUser {
                name: user.name.clone(),
                arn: user.arn(),
                user_id: user.user_id.clone(),
                tags: user.tags.clone(),
            })
        })
    }

    async fn list_access_keys(&self, user_name: &str) -> Result<Vec<AccessKeyInfo>, AwsError> {
        call!(self, "ListAccessKeys", |s| {
            let user = s.user_mut(&self.account, user_name, "ListAccessKeys")?;
            Ok(user
                .keys
                .iter()
                .map(|k| AccessKeyInfo {
                    id: k.id.clone(),
                    status: k.status,
                    created: k.created,
                })
                .collect())
        })
    }

    async fn create_access_key(&self, user_name: &str) -> Result<NewAccessKey, AwsError> {
        call!(self, "CreateAccessKey", |s| {
            if s.user_mut(&self.account, user_name, "CreateAccessKey")?
                .keys
                .len()
                >= 2
            {
                return Err(error("iam", "CreateAccessKey", "LimitExceeded", 409));
            }
            let key = make_key(s);
            let delay = s.propagation_attempts;
            s.unpropagated.insert(key.id.clone(), delay);
            s.user_mut(&self.account, user_name, "CreateAccessKey")?
                .keys
                .push(key.clone());
            Ok(NewAccessKey {
                id: key.id,
                secret: Sensitive::new(key.secret),
                status: key.status,
                created: key.created,
            })
        })
    }

    async fn access_key_last_used(&self, key_id: &str) -> Result<KeyLastUse, AwsError> {
        call!(self, "GetAccessKeyLastUsed", |s| {
            if s.denied_keys.iter().any(|k| k == key_id) {
                s.denied_asked += 1;
                return Err(error("iam", "GetAccessKeyLastUsed", "AccessDenied", 403));
            }
            let mut in_account = s.world.all_users().filter(|u| u.account == self.account);
            let (user, key) = in_account
                .find_map(|u| u.keys.iter().find(|k| k.id == key_id).map(|k| (u, k)))
                .ok_or_else(|| not_found("iam", "GetAccessKeyLastUsed", "access key"))?;
            let at = s.reported_use(&key.id);
            Ok(KeyLastUse {
                user: Some(user.name.clone()),
                at,
                service: at.map(|_| "sts".to_owned()),
                region: at.map(|_| "us-east-1".to_owned()),
            })
        })
    }

    async fn delete_access_key(&self, user_name: &str, key_id: &str) -> Result<(), AwsError> {
        call!(self, "DeleteAccessKey", |s| {
            let user = s.user_mut(&self.account, user_name, "DeleteAccessKey")?;
            let before = user.keys.len();
            user.keys.retain(|k| k.id != key_id);
            if user.keys.len() == before {
                return Err(not_found("iam", "DeleteAccessKey", "access key"));
            }
            Ok(())
        })
    }

    async fn update_access_key(
        &self,
        user_name: &str,
        key_id: &str,
        status: KeyStatus,
    ) -> Result<(), AwsError> {
        call!(self, "UpdateAccessKey", |s| {
            let user = s.user_mut(&self.account, user_name, "UpdateAccessKey")?;
            let key = user
                .keys
                .iter_mut()
                .find(|k| k.id == key_id)
                .ok_or_else(|| not_found("iam", "UpdateAccessKey", "access key"))?;
            key.status = status;
            Ok(())
        })
    }
}

#[async_trait]
impl Sts for FakeAws {
    async fn caller_identity(
        &self,
        access_key_id: &str,
        secret_access_key: &Sensitive,
    ) -> Result<CallerIdentity, AwsError> {
        call!(self, "GetCallerIdentity", |s| {
            let rejected = |code| Err(error("sts", "GetCallerIdentity", code, 403));
            if let Some(remaining) = s.unpropagated.get_mut(access_key_id) {
                if *remaining > 0 {
                    *remaining -= 1;
                    return rejected("InvalidClientTokenId");
                }
            }
            let found = s.world.all_users().find_map(|u| {
                u.keys
                    .iter()
                    .find(|k| k.id == access_key_id)
                    .map(|k| (u, k))
            });
            let Some((user, key)) = found else {
                return rejected("InvalidClientTokenId");
            };
            if key.secret != secret_access_key.expose() {
                return rejected("SignatureDoesNotMatch");
            }
            if key.status != KeyStatus::Active {
                return rejected("InvalidClientTokenId");
            }
            let key_id = key.id.clone();
            let arn = s.identity_override.clone().unwrap_or_else(|| user.arn());
            let user_id = user.user_id.clone();
            let account = user.account.clone();
            let now = s.tick();
            s.record_use(&key_id, now);
            Ok(CallerIdentity {
                account,
                arn,
                user_id,
            })
        })
    }
}

/// sts:AssumeRole as AWS judges it: the same AccessDenied whether the role is missing, does not
/// trust the function, or expects another external id.
#[async_trait]
impl MemberAccounts for FakeAws {
    async fn iam_as(&self, role_arn: &str, external_id: &str) -> Result<Arc<dyn Iam>, AwsError> {
        let account = role_arn.split(':').nth(4).unwrap_or_default().to_owned();
        let path_and_name = role_arn
            .split(":role")
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        call!(self, "AssumeRole", |s| {
            let role = s.world.members.get(&account).and_then(|m| m.role.as_ref());
            let allowed = role.is_some_and(|role| {
                let deployed = format!("{}{}", role.path, role.name);
                deployed == path_and_name && role.trusts_function && role.external_id == external_id
            });
            if !allowed {
                let message = format!("User: {FUNCTION_ROLE_ARN} is not authorized to perform: sts:AssumeRole on resource: {role_arn}");
                let code = Some("AccessDenied");
                return Err(AwsError::service(
                    "sts",
                    "AssumeRole",
                    code,
                    Some(&message),
                    Some(403),
                ));
            }
            let iam: Arc<dyn Iam> = Arc::new(self.iam_of(&account));
            Ok(iam)
        })
    }
}

#[async_trait]
impl Events for FakeAws {
    async fn put(&self, event: &LifecycleEvent) -> Result<(), AwsError> {
        call!(self, "PutEvents", |s| {
            s.events.push(event.clone());
            Ok(())
        })
    }
}

/// The function's clock is the fake's logical time, so `advance` lets a day pass.
impl Clock for FakeAws {
    fn now(&self) -> SystemTime {
        self.state.lock().unwrap().now()
    }
}
