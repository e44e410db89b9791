//! The crash-retry matrix over the mirror writes (issue 23, §10.5): a rotation of a secret with
//! three mirrors (a JSON secret, a split-layout field, an SSM parameter holding a credentials
//! file), the process dying at every call of every step, before the call is sent and after its
//! effect. Then Secrets Manager's retry and one sweep: §10.1-3 hold, every mirror holds
//! AWSCURRENT's key, and no mirror ever held a key the user no longer has.

mod support;

use iam_key_rotator::aws::AWSCURRENT;
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::event::Step;
use iam_key_rotator::Rotator;

use support::fake::{FakeAws, FUNCTION_ARN};
use support::mirrors::*;
use support::*;

const JSON_MIRROR: &str = "app1/production/copy";
const ID_FIELD: &str = "app1/production/aws_access_key_id";
const PARAMETER: &str = "/app1/production/credentials";

/// SECRET rotated once under `action`, its three mirrors holding the current key.
async fn prepare(action: PreviousKeyAction) -> (FakeAws, Rotator, String) {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(action));
    let (id, secret) = setup(&fake);
    let json = secret_claiming(&fake, JSON_MIRROR, "json", &value_json(USER, &id, &secret));
    let field = secret_claiming(&fake, ID_FIELD, "access-key-id", &id);
    let text = format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n");
    let parameter = parameter_claiming(&fake, PARAMETER, "credentials-file", &text);
    for (n, arn) in [(1, &json), (2, &field), (3, &parameter)] {
        name_mirror(&fake, n, arn);
    }
    rotate(&fake, &rotator, SECRET)
        .await
        .expect("the earlier rotation");
    let current = key_in(&fake, SECRET, AWSCURRENT).unwrap();
    assert_eq!(
        mirror_keys(&fake),
        [current.clone(), current.clone(), current.clone()]
    );
    (fake, rotator, current)
}

/// The key id each mirror holds.
fn mirror_keys(fake: &FakeAws) -> [String; 3] {
    let text = fake.parameter(PARAMETER).value;
    let line = text
        .lines()
        .find(|l| l.starts_with("aws_access_key_id"))
        .unwrap();
    [
        key_of(&secret_mirror_value(fake, JSON_MIRROR)),
        secret_mirror_value(fake, ID_FIELD),
        line.rsplit(' ').next().unwrap().to_owned(),
    ]
}

async fn calls_per_step(action: PreviousKeyAction) -> [usize; 4] {
    let (fake, rotator, _) = prepare(action).await;
    calls_per_step_of(&fake, &rotator).await
}

#[tokio::test(start_paused = true)]
async fn a_crash_at_any_call_then_the_retry_and_a_sweep_leave_every_mirror_current() {
    let mut cells = 0;
    for action in [
        PreviousKeyAction::Keep,
        PreviousKeyAction::Retire,
        PreviousKeyAction::Deactivate,
        PreviousKeyAction::Delete,
    ] {
        let counts = calls_per_step(action).await;
        for (i, crashing) in Step::ALL.into_iter().enumerate() {
            for call in 0..counts[i] {
                for after_effect in [false, true] {
                    let when = if after_effect {
                        "after its effect"
                    } else {
                        "before it is sent"
                    };
                    let cell = format!("{action}, {crashing} call {call} {when}");
                    let (fake, rotator, old_key) = prepare(action).await;
                    let token = fake.start_rotation(SECRET).unwrap();
                    for s in &Step::ALL[..i] {
                        step(&rotator, *s, SECRET, &token).await.unwrap();
                    }
                    fake.crash_at(call, after_effect);
                    let _ = step(&rotator, crashing, SECRET, &token).await;
                    fake.clear_crash();
                    // What the mirrors hold right after the crash: never a key the user lacks.
                    let keys: Vec<String> =
                        fake.user(USER).keys.iter().map(|k| k.id.clone()).collect();
                    for held in mirror_keys(&fake) {
                        assert!(
                            keys.contains(&held),
                            "{cell}: a mirror holds a key the user lacks"
                        );
                    }
                    retried(&fake, &rotator, &token)
                        .await
                        .unwrap_or_else(|e| panic!("{cell}: the retry failed: {e}"));
                    let deadline =
                        tokio::time::Instant::now() + std::time::Duration::from_secs(300);
                    rotator.sweep(FUNCTION_ARN, deadline).await.unwrap();
                    check_invariants(&fake, &rotator, SECRET, USER, Some(&old_key), &[]).await;
                    let current = key_in(&fake, SECRET, AWSCURRENT).unwrap();
                    assert_eq!(
                        mirror_keys(&fake),
                        [current.clone(), current.clone(), current],
                        "{cell}"
                    );
                    cells += 1;
                }
            }
        }
    }
    println!("mirror crash-retry matrix (in-memory fake): {cells} cells run, {cells} passed");
    assert!(cells >= 100, "{cells} cells");
}
