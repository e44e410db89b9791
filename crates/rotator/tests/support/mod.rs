//! What the rotation tests share: the in-memory fake, a Secrets Manager driver, the invariants of
//! §10, and a log capture.

#![allow(dead_code)]

pub mod fake;
pub mod mirrors;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use iam_key_rotator::aws::{KeyStatus, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::event::Step;
use iam_key_rotator::rotation::keys::LAST_USE_LAG;
use iam_key_rotator::secret_value::SecretValue;
use iam_key_rotator::sensitive::Sensitive;
use iam_key_rotator::{Config, RotationError, RotationEvent, Rotator};

use fake::FakeAws;

pub const USER: &str = "ci-deployer";
pub const SECRET: &str = "app1/production/deployer";

pub fn config(action: PreviousKeyAction) -> Config {
    Config {
        previous_key_action: action,
        ..Config::default()
    }
}

pub fn event(step: Step, secret: &str, token: &str) -> RotationEvent {
    RotationEvent {
        step,
        secret_id: secret.into(),
        token: token.into(),
        rotation_token: Some(Sensitive::new("rotation-token-a1b2c3d4e5f6-secret")),
    }
}

/// One step, with a Lambda that has 15 minutes left.
pub async fn step(
    rotator: &Rotator,
    step: Step,
    secret: &str,
    token: &str,
) -> Result<(), RotationError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(900);
    rotator.handle(&event(step, secret, token), deadline).await
}

/// A whole rotation as Secrets Manager runs it (§3): the placeholder, the four steps, stopping at
/// the first failure, and the AWSPENDING label removed after success. Returns the token.
pub async fn rotate(
    fake: &FakeAws,
    rotator: &Rotator,
    secret: &str,
) -> Result<String, RotationError> {
    let token = fake.start_rotation(secret).expect("rotation starts");
    finish_rotation(fake, rotator, secret, &token).await?;
    Ok(token)
}

/// A rotation started and run up to `until` (every step before it, each succeeding). Returns the
/// token.
pub async fn start_and_run_until(
    fake: &FakeAws,
    rotator: &Rotator,
    secret: &str,
    until: Step,
) -> String {
    let token = fake.start_rotation(secret).expect("rotation starts");
    for s in Step::ALL.into_iter().take_while(|s| *s != until) {
        step(rotator, s, secret, &token)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    token
}

/// Secrets Manager's retry of a rotation: all four steps again, with the same token.
pub async fn finish_rotation(
    fake: &FakeAws,
    rotator: &Rotator,
    secret: &str,
    token: &str,
) -> Result<(), RotationError> {
    for s in Step::ALL {
        step(rotator, s, secret, token).await?;
    }
    fake.complete_rotation(secret, token);
    Ok(())
}

/// Secrets Manager's retry of the whole rotation. A key the crashed attempt made and could not
/// store is an orphan younger than IAM's reporting lag: the retry waits it out (a `Transient`
/// error), and a later retry converges (§10.5: within the lag plus Secrets Manager's retries).
pub async fn retried(fake: &FakeAws, rotator: &Rotator, token: &str) -> Result<(), RotationError> {
    match finish_rotation(fake, rotator, SECRET, token).await {
        Err(e) if e.error_type() == "Transient.OrphanTooRecent" => {
            fake.advance(LAST_USE_LAG + Duration::from_secs(60));
            finish_rotation(fake, rotator, SECRET, token).await
        }
        done => done,
    }
}

/// The first attempt of the rotation `token` dies between CreateAccessKey and PutSecretValue, and
/// its rollback fails too: the new key is left, stored nowhere. Returns its id.
pub async fn orphan_of_a_failed_attempt(fake: &FakeAws, rotator: &Rotator, token: &str) -> String {
    let failed = |service, operation| {
        fake::Fault::Before(fake::error(service, operation, "InternalServiceError", 500))
    };
    fake.fail("PutSecretValue", failed("secretsmanager", "PutSecretValue"));
    fake.fail("DeleteAccessKey", failed("iam", "DeleteAccessKey"));
    let err = step(rotator, Step::CreateSecret, SECRET, token)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Transient.Aws.InternalServiceError");
    fake.user(USER).keys.last().expect("the orphan").id.clone()
}

/// How many AWS calls each step of a new rotation of SECRET makes, without faults.
pub async fn calls_per_step_of(fake: &FakeAws, rotator: &Rotator) -> [usize; 4] {
    let token = fake.start_rotation(SECRET).unwrap();
    let mut counts = [0; 4];
    for (i, s) in Step::ALL.into_iter().enumerate() {
        fake.clear_calls();
        step(rotator, s, SECRET, &token).await.unwrap();
        counts[i] = fake.calls().len();
    }
    counts
}

/// A user with one key and a secret holding it, rotation on, the user bound to the secret.
pub fn setup(fake: &FakeAws) -> (String, String) {
    fake.add_user(USER, "/svc/");
    let (id, secret) = fake.add_key(USER);
    fake.create_secret(SECRET, &value_json(USER, &id, &secret), true);
    fake.bind(USER, SECRET);
    (id, secret)
}

pub fn value_json(user: &str, key_id: &str, secret: &str) -> String {
    serde_json::json!({"UserName": user, "AccessKeyId": key_id, "SecretAccessKey": secret})
        .to_string()
}

pub fn parsed(raw: &str) -> SecretValue {
    SecretValue::parse(&Sensitive::new(raw)).expect("valid value")
}

/// The key id a labelled version holds.
pub fn key_in(fake: &FakeAws, secret: &str, stage: &str) -> Option<String> {
    let version = fake.version_with(secret, stage)?;
    parsed(version.value.as_deref()?)
        .access_key_id()
        .map(str::to_owned)
}

/// §10.1-3 after a completed rotation. `old_key` is the key AWSCURRENT held before it, `foreign`
/// keys the user had that are not ours.
pub async fn check_invariants(
    fake: &FakeAws,
    rotator: &Rotator,
    secret: &str,
    user: &str,
    old_key: Option<&str>,
    foreign: &[String],
) {
    check_invariants_in(fake, rotator, fake::ACCOUNT, secret, user, old_key, foreign).await;
}

/// [`check_invariants`] for a user of `account` (a member account's, §17).
pub async fn check_invariants_in(
    fake: &FakeAws,
    rotator: &Rotator,
    account: &str,
    secret: &str,
    user: &str,
    old_key: Option<&str>,
    foreign: &[String],
) {
    let state = fake.user_in(account, user);
    let current = key_in(fake, secret, AWSCURRENT).expect("AWSCURRENT holds a key");
    // 1. The current key is the user's, Active, and works.
    let key = state
        .keys
        .iter()
        .find(|k| k.id == current)
        .expect("current key is the user's");
    assert_eq!(key.status, KeyStatus::Active, "current key is Active");
    let value = parsed(
        fake.version_with(secret, AWSCURRENT)
            .unwrap()
            .value
            .as_deref()
            .unwrap(),
    );
    let identity = rotator
        .sts
        .caller_identity(&current, &value.secret_access_key().unwrap())
        .await
        .expect("the current key authenticates");
    assert_eq!(identity.arn, state.arn());
    // 2. Never more than two keys.
    assert!(state.keys.len() <= 2, "user has {} keys", state.keys.len());
    // 3. The new key is not the old one; AWSPREVIOUS holds the old one, in the state the action says.
    assert_ne!(
        Some(current.as_str()),
        old_key,
        "AWSCURRENT holds a new key"
    );
    let previous = key_in(fake, secret, AWSPREVIOUS);
    assert_eq!(
        previous.as_deref(),
        old_key,
        "AWSPREVIOUS holds the old key"
    );
    if let Some(old) = old_key {
        let old_state = state.keys.iter().find(|k| k.id == old).map(|k| k.status);
        let expected = match rotator.config.previous_key_action {
            PreviousKeyAction::Keep | PreviousKeyAction::Retire => Some(KeyStatus::Active),
            PreviousKeyAction::Deactivate => Some(KeyStatus::Inactive),
            PreviousKeyAction::Delete => None,
        };
        assert_eq!(old_state, expected, "the old key per PREVIOUS_KEY_ACTION");
    }
    for k in &state.keys {
        let referenced = Some(&k.id) == Some(&current) || previous.as_ref() == Some(&k.id);
        assert!(
            referenced || foreign.contains(&k.id),
            "key {} is neither referenced nor foreign",
            k.id
        );
    }
    for f in foreign {
        assert!(
            state.keys.iter().any(|k| &k.id == f),
            "foreign key {f} was touched"
        );
    }
    assert!(
        fake.version_with(secret, AWSPENDING).is_none(),
        "no AWSPENDING left after a completed rotation"
    );
}

/// Captures every log line of the current thread as JSON, as the function logs in Lambda.
///
/// One global subscriber writes each line to the buffer of the thread that logged it (each test
/// runs on its own thread, tokio's current-thread runtime included). A per-test scoped subscriber
/// would race: tracing caches per call site whether anyone listens, across all test threads.
pub struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { std::cell::RefCell::new(None) };
}

struct ThreadSink;

impl Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(buffer) = c.borrow().as_ref() {
                buffer.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    pub fn start() -> Self {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .json()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(|| ThreadSink)
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        });
        let buffer = Arc::new(Mutex::new(Vec::new()));
        CAPTURE.with(|c| *c.borrow_mut() = Some(buffer.clone()));
        LogCapture { buffer }
    }

    pub fn lines(&self) -> Vec<serde_json::Value> {
        let text = String::from_utf8(self.buffer.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.buffer.lock().unwrap().clone()).unwrap()
    }

    /// §10.7: no secret the fake ever saw appears in the logs or in `extra` (error messages).
    pub fn assert_no_secret(&self, fake: &FakeAws, extra: &str) {
        let logs = self.text();
        assert!(!logs.is_empty(), "the capture saw the logs");
        for material in fake.secret_material() {
            for (label, text) in [("log", &logs), ("error", &extra.to_owned())] {
                assert!(
                    !text.contains(&material),
                    "secret material found in a {label}"
                );
            }
            // A secret value's key, as the fake issues them, is recognisable on its own too.
            if let Ok(v) = SecretValue::parse(&Sensitive::new(material.clone())) {
                if let Some(k) = v.secret_access_key() {
                    assert!(!logs.contains(k.expose()) && !extra.contains(k.expose()));
                }
            }
        }
        assert!(!logs.contains("rotation-token-a1b2c3d4e5f6-secret"));
    }
}

/// Runs a step that must fail with `error_type`, and checks that it changed nothing (§10.6) and
/// that its message holds no secret (§10.7).
pub async fn assert_refused(
    fake: &FakeAws,
    rotator: &Rotator,
    s: Step,
    secret: &str,
    token: &str,
    error_type: &str,
) -> RotationError {
    let before = fake.world();
    let err = step(rotator, s, secret, token)
        .await
        .expect_err("the step must fail");
    assert_eq!(err.error_type(), error_type, "{err}");
    assert_eq!(
        fake.world(),
        before,
        "a refused {s} changed something: {err}"
    );
    let message = err.to_string();
    assert!(
        message.contains(secret) && message.contains(s.as_str()),
        "{message}"
    );
    for material in fake.secret_material() {
        assert!(!message.contains(&material), "secret material in the error");
    }
    err
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        CAPTURE.with(|c| *c.borrow_mut() = None);
    }
}
