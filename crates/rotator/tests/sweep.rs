//! The sweep (§16) over the fake: a previous key is deactivated once idle, deleted after its
//! quarantine, reported past its deadline; every secret that is not as this function's rotation
//! left it is left alone, with its reason.

mod support;

use std::time::Duration;

use iam_key_rotator::aws::{KeyStatus, AWSCURRENT, AWSPREVIOUS};
use iam_key_rotator::binding::BINDING_TAG;
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::retire::decide::INACTIVE_SINCE_TAG;
use iam_key_rotator::retire::SweepReport;
use iam_key_rotator::{Config, Rotator};

use support::fake::{FakeAws, FUNCTION_ARN};
use support::*;

const HOUR: Duration = Duration::from_secs(3_600);
const DAY: Duration = Duration::from_secs(24 * 3_600);

fn retire_config() -> Config {
    config(PreviousKeyAction::Retire)
}

/// A bound user's secret rotated once under `retire`: the rotator and the first key, now the
/// AWSPREVIOUS one, still Active.
async fn rotated_once(fake: &FakeAws, config: Config) -> (Rotator, String) {
    let rotator = fake.rotator(config);
    let (first_key, _) = setup(fake);
    rotate(fake, &rotator, SECRET).await.unwrap();
    assert_eq!(
        key_in(fake, SECRET, AWSPREVIOUS).as_deref(),
        Some(&*first_key)
    );
    (rotator, first_key)
}

async fn sweep(rotator: &Rotator) -> SweepReport {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    rotator.sweep(FUNCTION_ARN, deadline).await.unwrap()
}

fn status(fake: &FakeAws, key_id: &str) -> Option<KeyStatus> {
    let user = fake.user(USER);
    user.keys.iter().find(|k| k.id == key_id).map(|k| k.status)
}

fn inactive_tag(fake: &FakeAws) -> Option<String> {
    let tags = fake.secret(SECRET).tags;
    tags.into_iter()
        .find(|(k, _)| k == INACTIVE_SINCE_TAG)
        .map(|(_, v)| v)
}

/// The current key is untouched and works: the sweep never takes a consumer's working key.
fn current_key_active(fake: &FakeAws) {
    let current = key_in(fake, SECRET, AWSCURRENT).unwrap();
    assert_eq!(status(fake, &current), Some(KeyStatus::Active));
}

#[tokio::test(start_paused = true)]
async fn a_consumer_that_moves_at_once_has_its_old_key_deactivated_then_deleted() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire_config()).await;

    fake.advance(23 * HOUR);
    let report = sweep(&rotator).await;
    assert_eq!((report.secrets, report.waiting), (1, 1), "{report:?}");
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Active));

    fake.advance(2 * HOUR);
    let report = sweep(&rotator).await;
    assert_eq!(report.deactivated, 1, "{report:?}");
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Inactive));
    let tag = inactive_tag(&fake).expect("the quarantine is recorded on the secret");
    assert!(tag.starts_with(&format!("{first_key} ")), "{tag}");
    current_key_active(&fake);

    // Within the quarantine: nothing more.
    fake.advance(6 * DAY);
    let before = fake.world();
    assert_eq!(sweep(&rotator).await.waiting, 1);
    assert_eq!(fake.world(), before);

    fake.advance(DAY);
    let report = sweep(&rotator).await;
    assert_eq!(report.deleted, 1, "{report:?}");
    assert_eq!(status(&fake, &first_key), None);
    assert_eq!(inactive_tag(&fake), None, "the tag goes with its key");
    current_key_active(&fake);

    // §10.4: once settled, a sweep changes nothing.
    let before = fake.world();
    let report = sweep(&rotator).await;
    assert_eq!(report.settled, 1, "{report:?}");
    assert_eq!(fake.world(), before);
}

#[tokio::test(start_paused = true)]
async fn a_consumer_that_keeps_using_the_old_key_keeps_it() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire_config()).await;
    for _ in 0..5 {
        fake.advance(20 * HOUR);
        fake.use_key(USER, &first_key);
        let report = sweep(&rotator).await;
        assert_eq!(report.waiting, 1, "{report:?}");
        assert_eq!(status(&fake, &first_key), Some(KeyStatus::Active));
    }
}

#[tokio::test(start_paused = true)]
async fn a_consumer_that_moves_late_has_the_idle_time_counted_from_its_last_use() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire_config()).await;
    fake.advance(10 * HOUR);
    fake.use_key(USER, &first_key);
    fake.advance(20 * HOUR);
    sweep(&rotator).await;
    assert_eq!(
        status(&fake, &first_key),
        Some(KeyStatus::Active),
        "20 h idle"
    );
    fake.advance(5 * HOUR);
    assert_eq!(sweep(&rotator).await.deactivated, 1);
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Inactive));
}

/// Uses the old key twice a day for seven days: at the deadline it is still in use.
async fn in_use_until_the_deadline(fake: &FakeAws, first_key: &str) {
    for _ in 0..14 {
        fake.advance(12 * HOUR);
        fake.use_key(USER, first_key);
    }
}

#[tokio::test(start_paused = true)]
async fn past_the_deadline_a_key_in_use_raises_the_alarm_once_a_day_and_stays() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire_config()).await;
    in_use_until_the_deadline(&fake, &first_key).await;
    let logs = LogCapture::start();
    assert_eq!(sweep(&rotator).await.alarmed, 1);
    let alarm = logs
        .lines()
        .into_iter()
        .find(|l| l["level"] == "ERROR")
        .expect("the alarm is logged at ERROR");
    let text = alarm.to_string();
    assert!(
        text.contains(&first_key) && text.contains("by sts in us-east-1"),
        "{text}"
    );
    logs.assert_no_secret(&fake, "");

    // The next sweeps of the day stay quiet; the next day's first one alarms again.
    for _ in 0..23 {
        fake.advance(HOUR);
        fake.use_key(USER, &first_key);
        assert_eq!(sweep(&rotator).await.alarmed, 0);
    }
    fake.advance(HOUR);
    fake.use_key(USER, &first_key);
    assert_eq!(sweep(&rotator).await.alarmed, 1);
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Active));
}

#[tokio::test(start_paused = true)]
async fn past_the_deadline_an_enforced_deadline_deactivates_a_key_in_use() {
    let fake = FakeAws::new();
    let mut settings = retire_config();
    settings.retire_enforce_deadline = true;
    let (rotator, first_key) = rotated_once(&fake, settings).await;
    in_use_until_the_deadline(&fake, &first_key).await;
    assert_eq!(sweep(&rotator).await.deactivated, 1);
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Inactive));
    current_key_active(&fake);
}

#[tokio::test(start_paused = true)]
async fn a_key_a_person_reactivates_gets_a_whole_idle_time_again() {
    let mut settings = retire_config();
    settings.retire_enforce_deadline = true;
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, settings).await;
    fake.advance(7 * DAY);
    assert_eq!(sweep(&rotator).await.deactivated, 1);
    assert!(inactive_tag(&fake).is_some());

    // A forgotten consumer shows up; a person turns the key back on. IAM has not shown its use
    // yet (it reports hours late), and the deadline has passed, enforced: still the key stays.
    fake.set_key_status(USER, &first_key, KeyStatus::Active);
    assert_eq!(sweep(&rotator).await.waiting, 1);
    let tag = inactive_tag(&fake).unwrap();
    assert!(
        tag.starts_with(&format!("{first_key} reactivated ")),
        "{tag}"
    );
    fake.advance(23 * HOUR);
    assert_eq!(sweep(&rotator).await.waiting, 1);
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Active));

    // Unused a whole idle time after its reactivation, it is retired again, quarantine and all.
    fake.advance(2 * HOUR);
    assert_eq!(sweep(&rotator).await.deactivated, 1);
    let tag = inactive_tag(&fake).unwrap();
    assert!(!tag.contains("reactivated"), "{tag}");
}

#[tokio::test(start_paused = true)]
async fn a_previous_value_naming_the_current_key_is_never_retired() {
    // A person put the current value back by hand: AWSPREVIOUS and AWSCURRENT name one key.
    let fake = FakeAws::new();
    let (rotator, _) = rotated_once(&fake, retire_config()).await;
    let current = fake.version_with(SECRET, AWSCURRENT).unwrap();
    fake.put_current_value(SECRET, current.value.as_deref().unwrap());
    fake.advance(30 * DAY);
    let before = fake.world();
    let report = sweep(&rotator).await;
    assert_eq!(report.settled, 1, "{report:?}");
    assert_eq!(fake.world(), before);
    current_key_active(&fake);
}

#[tokio::test(start_paused = true)]
async fn a_hand_edit_that_puts_the_older_key_back_in_awscurrent_is_left_alone() {
    // AWSCURRENT names the old key again, so AWSPREVIOUS names the newer one, which the consumers
    // may well be using: the sweep does not retire it.
    left_alone(
        |fake, first_key| {
            let previous = fake.version_with(SECRET, AWSPREVIOUS).unwrap();
            let mut value: serde_json::Value =
                serde_json::from_str(previous.value.as_deref().unwrap()).unwrap();
            assert_eq!(value["AccessKeyId"], *first_key);
            value["SecretAccessKey"] = "not-the-real-one".into();
            fake.put_current_value(SECRET, &value.to_string());
        },
        "previous-key-newer-than-current",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn labels_moved_between_the_read_and_the_action_stop_it() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire_config()).await;
    fake.advance(2 * DAY);
    // A person puts a new value between the sweep's first read and its check before acting.
    let secret_arn = fake.secret(SECRET).arn;
    fake.before_call("DescribeSecret", 1, move |world| {
        let secret = world
            .secrets
            .values_mut()
            .find(|s| s.arn == secret_arn)
            .unwrap();
        for version in &mut secret.versions {
            version.stages.retain(|s| s != AWSPREVIOUS);
        }
    });
    let report = sweep(&rotator).await;
    assert_eq!(
        report.skipped.get("previous-key-changed-since-read"),
        Some(&1),
        "{report:?}"
    );
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Active));
}

#[tokio::test(start_paused = true)]
async fn a_lost_tag_restarts_the_quarantine_and_a_forged_one_cannot_shorten_it() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire_config()).await;
    // A person deactivates the old key at once, and someone forges a quarantine long over.
    fake.set_key_status(USER, &first_key, KeyStatus::Inactive);
    let forged = format!("{first_key} 2020-01-01T00:00:00Z");
    fake.tag_secret_by_hand(SECRET, INACTIVE_SINCE_TAG, Some(&forged));
    fake.advance(HOUR);
    // A date before the promotion is not believed: the quarantine starts now instead.
    assert_eq!(sweep(&rotator).await.marked_inactive, 1);
    assert_eq!(
        status(&fake, &first_key),
        Some(KeyStatus::Inactive),
        "the floor holds"
    );

    // The tag is lost: the quarantine starts again from the sweep that notices.
    fake.tag_secret_by_hand(SECRET, INACTIVE_SINCE_TAG, None);
    fake.advance(7 * DAY);
    assert_eq!(sweep(&rotator).await.marked_inactive, 1);
    fake.advance(6 * DAY);
    sweep(&rotator).await;
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Inactive));
    fake.advance(DAY);
    assert_eq!(sweep(&rotator).await.deleted, 1);
}

/// Sweeps a secret set up by `arrange` after a day and more without use, and checks it was left
/// alone with `reason`, its keys and labels unchanged.
async fn left_alone(arrange: impl FnOnce(&FakeAws, &str), reason: &str) {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire_config()).await;
    arrange(&fake, &first_key);
    fake.advance(2 * DAY);
    let before = fake.world();
    let report = sweep(&rotator).await;
    assert_eq!(report.skipped.get(reason), Some(&1), "{report:?}");
    assert_eq!(fake.world(), before, "{reason}: something changed");
}

#[tokio::test(start_paused = true)]
async fn an_unbound_user_is_left_alone() {
    left_alone(
        |fake, _| {
            fake.tag_user(
                USER,
                BINDING_TAG,
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf",
            )
        },
        "user-not-bound",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_rotation_that_made_its_key_is_left_alone() {
    left_alone(
        |fake, _| {
            let token = fake.start_rotation(SECRET).unwrap();
            let current = fake.version_with(SECRET, AWSCURRENT).unwrap();
            fake.set_value(SECRET, &token, current.value.as_deref());
        },
        "rotation-in-progress",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_rotation_that_starts_while_the_sweep_decides_stops_it_before_it_acts() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire_config()).await;
    fake.advance(2 * DAY);
    // Between the sweep's first read of the secret and its check just before it acts, a rotation
    // starts and its createSecret stores a value in AWSPENDING.
    let value = fake.version_with(SECRET, AWSCURRENT).unwrap().value;
    fake.before_call("DescribeSecret", 1, |world| {
        let secret = world.secrets.get_mut(SECRET).unwrap();
        secret.versions.push(support::fake::Version {
            id: "race-0000-4000-8000-000000000001".into(),
            value,
            stages: vec!["AWSPENDING".into()],
            created: std::time::UNIX_EPOCH,
        });
    });
    let report = sweep(&rotator).await;
    assert_eq!(
        report.skipped.get("rotation-in-progress"),
        Some(&1),
        "{report:?}"
    );
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Active));
    assert_eq!(inactive_tag(&fake), None);
}

#[tokio::test(start_paused = true)]
async fn a_secret_whose_current_key_is_inactive_is_left_alone() {
    left_alone(
        |fake, _| {
            let current = key_in(fake, SECRET, AWSCURRENT).unwrap();
            fake.set_key_status(USER, &current, KeyStatus::Inactive);
        },
        "current-key-not-active",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_previous_value_naming_another_user_is_left_alone() {
    left_alone(
        |fake, first_key| {
            fake.add_user("someone-else", "/svc/");
            let previous = fake.version_with(SECRET, AWSPREVIOUS).unwrap();
            let value = value_json("someone-else", first_key, "x");
            fake.set_value(SECRET, &previous.id, Some(&value));
        },
        "previous-and-current-users-differ",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_previous_value_naming_another_users_key_touches_nothing() {
    let fake = FakeAws::new();
    let (rotator, _) = rotated_once(&fake, retire_config()).await;
    fake.add_user("someone-else", "/svc/");
    let (theirs, _) = fake.add_key("someone-else");
    let previous = fake.version_with(SECRET, AWSPREVIOUS).unwrap();
    fake.set_value(SECRET, &previous.id, Some(&value_json(USER, &theirs, "x")));
    fake.advance(2 * DAY);
    let before = fake.world();
    let report = sweep(&rotator).await;
    assert_eq!(
        report.settled, 1,
        "not the user's key: nothing to retire: {report:?}"
    );
    assert_eq!(fake.world(), before);
}

#[tokio::test(start_paused = true)]
async fn secrets_of_another_function_or_with_rotation_off_are_not_visited() {
    for arrange in [
        |fake: &FakeAws| {
            fake.set_rotation_function(
                SECRET,
                Some("arn:aws:lambda:us-east-1:123456789012:function:other"),
            )
        },
        |fake: &FakeAws| fake.set_rotation_enabled(SECRET, false),
    ] {
        let fake = FakeAws::new();
        let (rotator, _) = rotated_once(&fake, retire_config()).await;
        arrange(&fake);
        fake.advance(2 * DAY);
        let before = fake.world();
        let report = sweep(&rotator).await;
        assert_eq!((report.secrets, report.visited), (0, 0), "{report:?}");
        assert_eq!(fake.world(), before);
    }
}

#[tokio::test(start_paused = true)]
async fn under_another_previous_key_action_the_sweep_changes_nothing() {
    let fake = FakeAws::new();
    let (_, _) = rotated_once(&fake, retire_config()).await;
    let keep = fake.rotator(config(PreviousKeyAction::Keep));
    fake.advance(2 * DAY);
    let before = fake.world();
    let report = sweep(&keep).await;
    assert_eq!(
        report.skipped.get("previous-key-action-is-not-retire"),
        Some(&1)
    );
    assert_eq!(fake.world(), before);
}

#[tokio::test(start_paused = true)]
async fn a_sweep_without_time_left_reaches_nothing_and_says_so() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire_config()).await;
    fake.advance(2 * DAY);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let report = rotator.sweep(FUNCTION_ARN, deadline).await.unwrap();
    assert_eq!((report.visited, report.cut_short), (0, 1), "{report:?}");
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Active));
}

#[tokio::test(start_paused = true)]
async fn a_failed_listing_fails_the_sweep_and_a_failed_secret_does_not() {
    use support::fake::{error, Fault};
    let fake = FakeAws::new();
    let (rotator, _) = rotated_once(&fake, retire_config()).await;
    fake.fail(
        "ListSecrets",
        Fault::Before(error(
            "secretsmanager",
            "ListSecrets",
            "ThrottlingException",
            400,
        )),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    let err = rotator.sweep(FUNCTION_ARN, deadline).await.unwrap_err();
    assert!(err.is_transient(), "{err}");

    fake.fail(
        "GetAccessKeyLastUsed",
        Fault::Before(error("iam", "GetAccessKeyLastUsed", "ServiceFailure", 500)),
    );
    let report = sweep(&rotator).await;
    assert_eq!((report.visited, report.failed), (1, 1), "{report:?}");
}

#[test]
fn a_scheduled_event_is_a_sweep_and_anything_else_a_rotation_event() {
    use iam_key_rotator::Invocation;
    use serde_json::json;
    let scheduled = json!({
        "version": "0", "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-12-03T15:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/sweep"], "detail": {}
    });
    assert!(matches!(
        Invocation::parse(&scheduled),
        Ok(Invocation::Sweep)
    ));
    // Another source, or another detail type, is no sweep: it must be a rotation event.
    for (field, value) in [("source", "my.app"), ("detail-type", "Object Created")] {
        let mut other = scheduled.clone();
        other[field] = json!(value);
        let err = Invocation::parse(&other).unwrap_err();
        assert_eq!(err.error_type(), "Permanent.InvalidEvent", "{err}");
        assert!(err.to_string().contains("Step is missing"), "{err}");
    }
}

#[test]
fn the_function_arn_is_the_runtimes_without_qualifier_or_else_the_emulated_one() {
    use iam_key_rotator::own_function_arn;
    let arn = "arn:aws:lambda:eu-west-1:123456789012:function:iam-key-rotator";
    assert_eq!(own_function_arn(arn, None).unwrap(), arn);
    assert_eq!(own_function_arn(&format!("{arn}:live"), None).unwrap(), arn);
    assert_eq!(
        own_function_arn(&format!("{arn}:$LATEST"), Some("x")).unwrap(),
        arn,
        "a real ARN wins"
    );
    assert_eq!(own_function_arn("function-arn", Some(arn)).unwrap(), arn);
    let err = own_function_arn("function-arn", None).unwrap_err();
    assert!(err.to_string().contains("EMULATED_FUNCTION_ARN"), "{err}");
}

#[test]
fn the_sweep_start_moves_round_the_list_and_stays_inside_it() {
    use iam_key_rotator::retire::start_offset;
    assert_eq!(start_offset(0, 7), 0);
    for len in [1, 2, 3, 10, 12, 999, 1_000] {
        let first_tick = 493_000 + len as u64;
        let mut starts: Vec<usize> = (first_tick..first_tick + len as u64)
            .map(|tick| start_offset(len, tick))
            .collect();
        // Two sweeps in a row never start at the same place (but for a single secret)...
        if len > 1 {
            assert!(starts.windows(2).all(|w| w[0] != w[1]), "{len}: {starts:?}");
        }
        // ...and over `len` sweeps every secret is a start once.
        starts.sort();
        assert_eq!(starts, (0..len).collect::<Vec<_>>(), "{len}");
    }
}
