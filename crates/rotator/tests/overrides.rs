//! Per-secret settings by the secret's tags (§16): what they change, in a rotation and in the
//! sweep, and that a bad or unknown one is a clear error that changes nothing.

mod support;

use std::time::Duration;

use iam_key_rotator::aws::{KeyStatus, AWSPREVIOUS};
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::overrides::{effective, ACTION_TAG, DEADLINE_TAG, IDLE_TAG};
use iam_key_rotator::retire::decide::INACTIVE_SINCE_TAG;
use iam_key_rotator::Rotator;

use support::fake::{FakeAws, FUNCTION_ARN};
use support::*;

const HOUR: Duration = Duration::from_secs(3_600);
const DAY: Duration = Duration::from_secs(86_400);

fn config_of(action: PreviousKeyAction) -> iam_key_rotator::Config {
    config(action)
}

fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn tags_set_the_action_the_idle_time_and_the_deadline_of_their_secret() {
    let config = config(PreviousKeyAction::Keep);
    let (untagged, ignored) = effective(&config, &tags(&[("owner", "team-a")]));
    assert!(
        ignored.is_empty(),
        "a tag without our prefix is none of our business"
    );
    assert_eq!(untagged.action, PreviousKeyAction::Keep);
    assert_eq!(untagged.idle, config.retire_idle);

    let tagged = tags(&[
        (ACTION_TAG, "retire"),
        (IDLE_TAG, " 48 "),
        (DEADLINE_TAG, "10"),
        (
            INACTIVE_SINCE_TAG,
            "AKIAXXXXXXXXXXXXXXXX 2026-01-01T00:00:00Z",
        ),
    ]);
    let (settings, ignored) = effective(&config, &tagged);
    assert!(ignored.is_empty(), "{ignored:?}");
    assert_eq!(settings.action, PreviousKeyAction::Retire);
    assert_eq!(settings.idle, 48 * HOUR);
    assert_eq!(settings.deadline, 10 * DAY);

    // Unset, the deadline follows a longer idle time.
    let (long_idle, _) = effective(&config, &tags(&[(IDLE_TAG, "720")]));
    assert_eq!(long_idle.deadline, 30 * DAY);
}

#[test]
fn a_bad_or_unknown_tag_is_ignored_naming_it_and_what_is_allowed() {
    let config = config(PreviousKeyAction::Retire);
    let cases = [
        (
            ACTION_TAG,
            "destroy",
            "retire (no harsher than the function's",
        ),
        (
            ACTION_TAG,
            "Retire",
            "retire (no harsher than the function's",
        ),
        // Harsher than the function's retire: whoever may tag is not trusted with consumers.
        (
            ACTION_TAG,
            "delete",
            "retire (no harsher than the function's",
        ),
        (ACTION_TAG, "keep", "retire (no harsher than the function's"),
        (IDLE_TAG, "8", "whole hours, 24 (the function's) to 720"),
        (IDLE_TAG, "", "whole hours, 24 (the function's) to 720"),
        (DEADLINE_TAG, "3", "whole days, 7 (the function's) to 90"),
        (
            "iam-key-rotator:previous-key-acton",
            "retire",
            "no such setting",
        ),
        (
            "iam-key-rotator:Previous-Key-Action",
            "retire",
            "no such setting",
        ),
        (
            "IAM-KEY-ROTATOR:previous-key-action",
            "retire",
            "no such setting",
        ),
    ];
    for (key, value, allowed) in cases {
        // Beside a valid tag, which still applies: only the bad one is ignored.
        let both = tags(&[(key, value), (IDLE_TAG, "30")]);
        let (settings, ignored) = effective(&config, &both);
        assert_eq!(settings.action, PreviousKeyAction::Retire, "{key}={value}");
        assert_eq!(settings.idle, 30 * HOUR, "{key}={value}");
        let [err] = ignored.as_slice() else {
            panic!("one tag ignored: {ignored:?}")
        };
        let message = err.to_string();
        assert!(message.contains("ignored"), "{message}");
        assert!(
            message.contains(key) && message.contains(allowed),
            "{message}"
        );
        assert!(!err.is_transient());
        assert_eq!(err.name(), "InvalidSecretTag");
    }
    // The deadline is never shorter than the idle time.
    let (settings, _) = effective(&config, &tags(&[(IDLE_TAG, "200"), (DEADLINE_TAG, "7")]));
    assert_eq!(settings.deadline, 200 * HOUR);

    // Under a harsher function, the gentler actions are all allowed.
    let delete = config_of(PreviousKeyAction::Delete);
    for gentler in ["deactivate", "keep", "retire"] {
        assert!(
            effective(&delete, &tags(&[(ACTION_TAG, gentler)]))
                .1
                .is_empty(),
            "{gentler}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_secret_tagged_keep_keeps_its_previous_key_under_a_delete_function() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Delete));
    let (first_key, _) = setup(&fake);
    fake.tag_secret_by_hand(SECRET, ACTION_TAG, Some("keep"));
    rotate(&fake, &rotator, SECRET).await.unwrap();
    // As under PREVIOUS_KEY_ACTION=keep: §10.1-3 with that action.
    let keep = fake.rotator(config(PreviousKeyAction::Keep));
    check_invariants(&fake, &keep, SECRET, USER, Some(&first_key), &[]).await;
}

#[tokio::test(start_paused = true)]
async fn a_bad_tag_changes_nothing_the_rotation_goes_on_with_the_functions_settings() {
    for value in ["delete", "destroy"] {
        let fake = FakeAws::new();
        let rotator = fake.rotator(config(PreviousKeyAction::Retire));
        let (first_key, _) = setup(&fake);
        fake.tag_secret_by_hand(SECRET, ACTION_TAG, Some(value));
        rotate(&fake, &rotator, SECRET).await.unwrap();
        check_invariants(&fake, &rotator, SECRET, USER, Some(&first_key), &[]).await;
        let ignored = fake.events();
        let ignored: Vec<_> = ignored
            .iter()
            .filter(|e| e.detail_type == "Invalid Setting Tag Ignored")
            .collect();
        assert_eq!(ignored.len(), 1, "one event per attempt: {ignored:?}");
        assert_eq!(ignored[0].detail["tagValue"], value);
    }
}

async fn rotated(fake: &FakeAws, action: PreviousKeyAction) -> (Rotator, String) {
    let rotator = fake.rotator(config(action));
    let (first_key, _) = setup(fake);
    rotate(fake, &rotator, SECRET).await.unwrap();
    (rotator, first_key)
}

async fn sweep(rotator: &Rotator) -> iam_key_rotator::retire::SweepReport {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    rotator.sweep(FUNCTION_ARN, deadline).await.unwrap()
}

fn status(fake: &FakeAws, key_id: &str) -> Option<KeyStatus> {
    let keys = fake.user(USER).keys;
    keys.iter().find(|k| k.id == key_id).map(|k| k.status)
}

#[tokio::test(start_paused = true)]
async fn the_sweep_follows_each_secrets_tags() {
    // A keep function, one secret tagged retire with a shorter idle time.
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated(&fake, PreviousKeyAction::Keep).await;
    assert_eq!(
        key_in(&fake, SECRET, AWSPREVIOUS).as_deref(),
        Some(&*first_key)
    );
    fake.tag_secret_by_hand(SECRET, ACTION_TAG, Some("retire"));
    fake.tag_secret_by_hand(SECRET, IDLE_TAG, Some("30"));
    fake.advance(29 * HOUR);
    assert_eq!(sweep(&rotator).await.waiting, 1);
    fake.advance(2 * HOUR);
    assert_eq!(sweep(&rotator).await.deactivated, 1);
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Inactive));
}

#[tokio::test(start_paused = true)]
async fn a_secret_with_a_harsher_or_bad_tag_is_swept_with_the_functions_settings() {
    for (key, value) in [(ACTION_TAG, "keep"), (IDLE_TAG, "soon")] {
        let fake = FakeAws::new();
        let (rotator, first_key) = rotated(&fake, PreviousKeyAction::Retire).await;
        fake.tag_secret_by_hand(SECRET, key, Some(value));
        fake.advance(2 * DAY);
        let report = sweep(&rotator).await;
        assert_eq!(report.deactivated, 1, "{report:?}");
        assert_eq!(status(&fake, &first_key), Some(KeyStatus::Inactive));
    }
}
