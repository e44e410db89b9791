//! The lifecycle events (§16, `lifecycle.rs`) over the fake: one per promotion, deactivation,
//! deletion and daily still-in-use alarm, with ids and dates only; and a failed PutEvents never
//! fails the step or the sweep.

mod support;

use std::time::Duration;

use iam_key_rotator::aws::{KeyStatus, AWSCURRENT};
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::lifecycle::{DEACTIVATED, DELETED, ROTATED, STILL_IN_USE};
use iam_key_rotator::Rotator;

use support::fake::{error, FakeAws, Fault, FUNCTION_ARN};
use support::*;

const HOUR: Duration = Duration::from_secs(3_600);
const DAY: Duration = Duration::from_secs(86_400);

async fn sweep(rotator: &Rotator) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    rotator.sweep(FUNCTION_ARN, deadline).await.unwrap();
}

fn types(fake: &FakeAws) -> Vec<&'static str> {
    fake.events().iter().map(|e| e.detail_type).collect()
}

#[tokio::test(start_paused = true)]
async fn each_step_of_the_lifecycle_is_announced_with_ids_only() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Retire));
    let (first_key, _) = setup(&fake);
    let logs = LogCapture::start();
    rotate(&fake, &rotator, SECRET).await.unwrap();
    let (rotated,) = (fake.events()[0].clone(),);
    assert_eq!(rotated.detail_type, ROTATED);
    assert_eq!(rotated.secret_arn, fake.secret(SECRET).arn);
    let detail = &rotated.detail;
    assert_eq!(detail["userName"], USER);
    assert_eq!(
        detail["accessKeyId"],
        key_in(&fake, SECRET, AWSCURRENT).unwrap()
    );
    assert_eq!(detail["previousKeyAction"], "retire");

    fake.advance(25 * HOUR);
    sweep(&rotator).await;
    fake.advance(8 * DAY);
    sweep(&rotator).await;
    assert_eq!(types(&fake), [ROTATED, DEACTIVATED, DELETED]);
    let deactivated = &fake.events()[1].detail;
    assert_eq!(deactivated["accessKeyId"], first_key.as_str());
    assert_eq!(deactivated["reason"], "idle");

    // §10.7: no secret in any event.
    let all = serde_json::to_string(&fake.events().iter().map(|e| &e.detail).collect::<Vec<_>>())
        .unwrap();
    for material in fake.secret_material() {
        assert!(!all.contains(&material), "secret material in an event");
    }
    logs.assert_no_secret(&fake, &all);
}

#[tokio::test(start_paused = true)]
async fn a_key_in_use_past_the_deadline_is_announced_with_where_it_was_used() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Retire));
    let (first_key, _) = setup(&fake);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    for _ in 0..14 {
        fake.advance(12 * HOUR);
        fake.use_key(USER, &first_key);
    }
    sweep(&rotator).await;
    let events = fake.events();
    let in_use = events.last().unwrap();
    assert_eq!(in_use.detail_type, STILL_IN_USE);
    assert_eq!(in_use.detail["accessKeyId"], first_key.as_str());
    assert_eq!(in_use.detail["lastUsedService"], "sts");
    assert_eq!(in_use.detail["deadlineDays"], 7);
}

#[tokio::test(start_paused = true)]
async fn a_failed_putevents_fails_neither_the_rotation_nor_the_sweep() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Retire));
    let (first_key, _) = setup(&fake);
    let denied = || Fault::Before(error("events", "PutEvents", "AccessDeniedException", 400));
    fake.fail("PutEvents", denied());
    let logs = LogCapture::start();
    rotate(&fake, &rotator, SECRET).await.unwrap();
    check_invariants(&fake, &rotator, SECRET, USER, Some(&first_key), &[]).await;
    assert!(logs.text().contains("the lifecycle event was not sent"));

    fake.fail("PutEvents", denied());
    fake.advance(25 * HOUR);
    sweep(&rotator).await;
    let status = fake
        .user(USER)
        .keys
        .iter()
        .find(|k| k.id == first_key)
        .map(|k| k.status);
    assert_eq!(
        status,
        Some(KeyStatus::Inactive),
        "deactivated all the same"
    );
    assert!(fake.events().is_empty());
}
