//! The fixtures in events/: the good ones drive a whole rotation through the Lambda handler, the
//! bad ones get the error they are there to show. A fixture without an expectation fails.

mod support;

use std::path::Path;

use iam_key_rotator::aws::AWSCURRENT;
use iam_key_rotator::config::PreviousKeyAction;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::Value;

use support::fake::FakeAws;
use support::*;

const STEPS: [&str; 4] = [
    "create-secret",
    "set-secret",
    "test-secret",
    "finish-secret",
];
/// EventBridge's Scheduled Event, which the template's schedule sends: a sweep (§16).
const SWEEP: &str = "scheduled-sweep";
const BAD: [(&str, &str, &str); 5] = [
    (
        "bad-missing-token",
        "Permanent.InvalidEvent",
        "the field ClientRequestToken is missing",
    ),
    (
        "bad-unknown-step",
        "Permanent.InvalidEvent",
        "Step \"rotateSecret\" is not one of",
    ),
    (
        "bad-empty-secret-id",
        "Permanent.InvalidEvent",
        "the field SecretId is empty",
    ),
    (
        "bad-short-token",
        "Permanent.InvalidEvent",
        "ClientRequestToken is 2 characters long",
    ),
    (
        "bad-unknown-version",
        "Permanent.VersionNotFound",
        "is not a version of this secret",
    ),
];

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn every_fixture_has_an_expectation() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".json")
                .to_owned()
        })
        .collect();
    names.sort();
    let mut expected: Vec<String> = STEPS
        .iter()
        .chain(BAD.iter().map(|b| &b.0))
        .chain([&SWEEP])
        .map(|s| s.to_string())
        .collect();
    expected.sort();
    assert_eq!(names, expected);
}

#[test]
fn the_sweep_fixture_is_a_sweep() {
    assert!(matches!(
        iam_key_rotator::Invocation::parse(&fixture(SWEEP)),
        Ok(iam_key_rotator::Invocation::Sweep)
    ));
}

#[tokio::test(start_paused = true)]
async fn the_step_fixtures_rotate_the_demo_secret() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Keep));
    let first = fixture("create-secret");
    let secret = first["SecretId"].as_str().unwrap();
    let token = first["ClientRequestToken"].as_str().unwrap();
    fake.add_user(USER, "/");
    let (old_key, old_secret) = fake.add_key(USER);
    fake.create_secret(secret, &value_json(USER, &old_key, &old_secret), true);
    fake.bind(USER, secret);
    fake.start_rotation_with(secret, token).unwrap();

    let logs = LogCapture::start();
    for name in STEPS {
        let event = fixture(name);
        assert_eq!(
            (
                event["SecretId"].as_str(),
                event["ClientRequestToken"].as_str()
            ),
            (Some(secret), Some(token))
        );
        let context = Context::default();
        iam_key_rotator::handler(&rotator, LambdaEvent::new(event, context))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    fake.complete_rotation(secret, token);
    assert_eq!(fake.version_with(secret, AWSCURRENT).unwrap().id, token);
    check_invariants(&fake, &rotator, secret, USER, Some(&old_key), &[]).await;
    assert_eq!(
        fake.rotation_tokens_received(),
        [first["RotationToken"].as_str().map(str::to_owned)],
        "the fixture's RotationToken reached PutSecretValue"
    );
    logs.assert_no_secret(&fake, "");
}

#[tokio::test(start_paused = true)]
async fn the_bad_fixtures_get_their_error_and_change_nothing() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Keep));
    let secret = fixture("create-secret")["SecretId"]
        .as_str()
        .unwrap()
        .to_owned();
    fake.add_user(USER, "/");
    let (key, key_secret) = fake.add_key(USER);
    fake.create_secret(&secret, &value_json(USER, &key, &key_secret), true);
    fake.bind(USER, &secret);
    for (name, error_type, message) in BAD {
        let before = fake.world();
        let result = iam_key_rotator::handler(
            &rotator,
            LambdaEvent::new(fixture(name), Context::default()),
        )
        .await;
        let diagnostic = Diagnostic::from(result.expect_err(name));
        assert_eq!(diagnostic.error_type, error_type, "{name}");
        assert!(
            diagnostic.error_message.contains(message),
            "{name}: {}",
            diagnostic.error_message
        );
        assert_eq!(fake.world(), before, "{name} changed something");
    }
}
