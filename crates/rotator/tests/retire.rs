//! `PREVIOUS_KEY_ACTION=retire` (§16, issue 13's first part): finishSecret leaves the previous key
//! active, and the next rotation deletes it only once IAM shows it unused for RETIRE_IDLE_HOURS.
//! Two quick rotations can no longer cut off a consumer that still uses the old key.

mod support;

use std::time::Duration;

use iam_key_rotator::aws::{AWSCURRENT, AWSPREVIOUS};
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::event::Step;

use support::fake::FakeAws;
use support::*;

const HOUR: u64 = 3_600;

/// A bound user whose secret was rotated once under `retire` with `idle`: the rotator and the
/// first key, now AWSPREVIOUS.
async fn rotated_once(fake: &FakeAws, idle_hours: u64) -> (iam_key_rotator::Rotator, String) {
    let mut settings = config(PreviousKeyAction::Retire);
    settings.retire_idle = Duration::from_secs(idle_hours * HOUR);
    let rotator = fake.rotator(settings);
    let (first_key, _) = setup(fake);
    rotate(fake, &rotator, SECRET).await.unwrap();
    (rotator, first_key)
}

#[tokio::test(start_paused = true)]
async fn finish_secret_leaves_the_previous_key_active() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, 24).await;
    check_invariants(&fake, &rotator, SECRET, USER, Some(&first_key), &[]).await;
}

#[tokio::test(start_paused = true)]
async fn a_rotation_waits_while_the_previous_key_is_in_use_then_goes_ahead_once_it_is_idle() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, 24).await;
    // A consumer that has not read the secret again still signs with the first key.
    fake.use_key(USER, &first_key);
    fake.advance(Duration::from_secs(23 * HOUR));

    let token = fake.start_rotation(SECRET).unwrap();
    let err = assert_refused(
        &fake,
        &rotator,
        Step::CreateSecret,
        SECRET,
        &token,
        "Transient.PreviousKeyInUse",
    )
    .await;
    let message = err.to_string();
    assert!(message.contains(&first_key), "{message}");
    assert!(
        message.contains("by sts in us-east-1"),
        "names where it was used: {message}"
    );

    // The consumer moved: a day and more without a use. Secrets Manager's retry goes through.
    fake.advance(Duration::from_secs(2 * HOUR));
    finish_rotation(&fake, &rotator, SECRET, &token)
        .await
        .unwrap();
    let second_key = key_in(&fake, SECRET, AWSPREVIOUS).unwrap();
    check_invariants(&fake, &rotator, SECRET, USER, Some(&second_key), &[]).await;
    assert!(
        fake.user(USER).keys.iter().all(|k| k.id != first_key),
        "the idle first key made room"
    );
    assert_ne!(key_in(&fake, SECRET, AWSCURRENT).unwrap(), second_key);
}

#[tokio::test(start_paused = true)]
async fn a_previous_key_never_used_is_deleted_at_once() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, 24).await;
    rotate(&fake, &rotator, SECRET).await.unwrap();
    assert!(fake.user(USER).keys.iter().all(|k| k.id != first_key));
}

#[tokio::test(start_paused = true)]
async fn the_idle_time_is_the_configured_one() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, 48).await;
    fake.use_key(USER, &first_key);
    fake.advance(Duration::from_secs(30 * HOUR));
    let token = fake.start_rotation(SECRET).unwrap();
    let err = step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Transient.PreviousKeyInUse");
    assert!(err.to_string().contains("RETIRE_IDLE_HOURS=48"), "{err}");
}
