//! The sweep's pass over the mirrors (issue 23, §19) over the fake: it writes a mirror a step
//! could not write, repairs one written by hand, and under `retire` lets the previous key go only
//! once every mirror has held the current key.

mod support;

use std::time::Duration;

use iam_key_rotator::aws::{KeyStatus, AWSCURRENT, AWSPREVIOUS};
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::mirror::MIRROR_OF_TAG;
use iam_key_rotator::mirror_writes::{MIRROR_NOT_WRITTEN, MIRROR_REPAIRED, MIRROR_WRITTEN};
use iam_key_rotator::retire::SweepReport;
use iam_key_rotator::Rotator;

use support::fake::{error, FakeAws, Fault, FUNCTION_ARN};
use support::mirrors::*;
use support::*;

const HOUR: Duration = Duration::from_secs(3_600);
const MIRROR: &str = "app1/production/aws_access_key_id";

/// SECRET under `action`, with one mirror the user names: a secret holding the key id alone,
/// as the seed's split layout keeps it.
fn fixture(action: PreviousKeyAction) -> (FakeAws, Rotator, String) {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(action));
    let (id, _) = setup(&fake);
    let arn = secret_claiming(&fake, MIRROR, "access-key-id", &id);
    name_mirror(&fake, 1, &arn);
    (fake, rotator, id)
}

async fn sweep(rotator: &Rotator) -> SweepReport {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    rotator.sweep(FUNCTION_ARN, deadline).await.unwrap()
}

fn status(fake: &FakeAws, key_id: &str) -> Option<KeyStatus> {
    let keys = fake.user(USER).keys.into_iter();
    keys.into_iter().find(|k| k.id == key_id).map(|k| k.status)
}

fn count(fake: &FakeAws, detail_type: &str) -> usize {
    fake.events()
        .iter()
        .filter(|e| e.detail_type == detail_type)
        .count()
}

/// A rotation whose finishSecret could not write the mirror (SSM or Secrets Manager failing),
/// completed as Secrets Manager leaves it after the retries gave up.
async fn rotated_with_the_mirror_behind(fake: &FakeAws, rotator: &Rotator) {
    let token = start_and_run_until(
        fake,
        rotator,
        SECRET,
        iam_key_rotator::event::Step::FinishSecret,
    )
    .await;
    let failed = || {
        Fault::Before(error(
            "secretsmanager",
            "PutSecretValue",
            "InternalServiceError",
            500,
        ))
    };
    fake.fail("PutSecretValue", failed());
    let err = step(
        rotator,
        iam_key_rotator::event::Step::FinishSecret,
        SECRET,
        &token,
    )
    .await;
    assert_eq!(err.unwrap_err().error_type(), "Transient.MirrorNotWritten");
    fake.complete_rotation(SECRET, &token);
}

#[tokio::test(start_paused = true)]
async fn the_sweep_writes_a_mirror_a_rotation_could_not_whatever_the_action() {
    for action in [
        PreviousKeyAction::Keep,
        PreviousKeyAction::Retire,
        PreviousKeyAction::Delete,
    ] {
        let (fake, rotator, old_id) = fixture(action);
        rotated_with_the_mirror_behind(&fake, &rotator).await;
        assert_eq!(secret_mirror_value(&fake, MIRROR), old_id);
        let report = sweep(&rotator).await;
        assert_eq!(
            (report.mirrors_written, report.mirrors_not_written),
            (1, 0),
            "{action}: {report:?}"
        );
        let current = key_in(&fake, SECRET, AWSCURRENT).unwrap();
        assert_eq!(secret_mirror_value(&fake, MIRROR), current);
        assert_eq!(count(&fake, MIRROR_WRITTEN), 1);
        // A second sweep finds it holding the current key: nothing written.
        let report = sweep(&rotator).await;
        assert_eq!(
            report.mirrors_written + report.mirrors_repaired,
            0,
            "{report:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_sweep_repairs_a_mirror_written_by_hand() {
    let logs = LogCapture::start();
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    fake.put_current_value(MIRROR, "AKIAWRITTENBYHAND000");
    let report = sweep(&rotator).await;
    assert_eq!(report.mirrors_repaired, 1, "{report:?}");
    assert_eq!(
        secret_mirror_value(&fake, MIRROR),
        key_in(&fake, SECRET, AWSCURRENT).unwrap()
    );
    assert_eq!(count(&fake, MIRROR_REPAIRED), 1);
    logs.assert_no_secret(&fake, "");
}

#[tokio::test(start_paused = true)]
async fn retire_waits_for_every_mirror_to_have_held_the_current_key() {
    let (fake, rotator, old_id) = fixture(PreviousKeyAction::Retire);
    rotated_with_the_mirror_behind(&fake, &rotator).await;
    // The mirror no longer claims the source: nobody may write it, so its consumers keep the
    // previous key, idle or not.
    fake.tag_secret_by_hand(MIRROR, MIRROR_OF_TAG, None);
    fake.advance(30 * HOUR);
    let report = sweep(&rotator).await;
    assert_eq!(report.skipped.get("mirrors-behind"), Some(&1), "{report:?}");
    assert_eq!(report.mirrors_not_written, 1);
    assert_eq!(status(&fake, &old_id), Some(KeyStatus::Active));
    // Put right: the sweep writes it, and still waits (its consumers get time to move) ...
    let source = fake.secret(SECRET).arn;
    fake.tag_secret_by_hand(MIRROR, MIRROR_OF_TAG, Some(&source));
    let report = sweep(&rotator).await;
    assert_eq!(
        (report.mirrors_written, report.deactivated),
        (1, 0),
        "{report:?}"
    );
    assert_eq!(status(&fake, &old_id), Some(KeyStatus::Active));
    // ... and the next sweep retires the idle key by the usual rule.
    fake.advance(HOUR);
    let report = sweep(&rotator).await;
    assert_eq!(report.deactivated, 1, "{report:?}");
    assert_eq!(status(&fake, &old_id), Some(KeyStatus::Inactive));
    assert_eq!(
        key_in(&fake, SECRET, AWSPREVIOUS).as_deref(),
        Some(old_id.as_str())
    );
}

#[tokio::test(start_paused = true)]
async fn a_mirror_not_written_is_announced_by_the_sweep_once_a_day() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    fake.tag_secret_by_hand(MIRROR, MIRROR_OF_TAG, None);
    let before = count(&fake, MIRROR_NOT_WRITTEN);
    // 14:13 UTC: not the first sweep interval of the day.
    let report = sweep(&rotator).await;
    assert_eq!(report.mirrors_not_written, 1);
    assert_eq!(count(&fake, MIRROR_NOT_WRITTEN), before);
    // Just after midnight UTC: announced.
    let now = fake
        .now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    fake.advance(Duration::from_secs(86_400 - now % 86_400 + 60));
    sweep(&rotator).await;
    assert_eq!(count(&fake, MIRROR_NOT_WRITTEN), before + 1);
}

#[tokio::test(start_paused = true)]
async fn a_secret_this_function_does_not_rotate_has_its_mirrors_left_alone() {
    let (fake, rotator, old_id) = fixture(PreviousKeyAction::Keep);
    rotated_with_the_mirror_behind(&fake, &rotator).await;
    fake.set_rotation_function(
        SECRET,
        Some("arn:aws:lambda:us-east-1:123456789012:function:other"),
    );
    let report = sweep(&rotator).await;
    assert_eq!(report.mirrors_written, 0, "{report:?}");
    assert_eq!(secret_mirror_value(&fake, MIRROR), old_id);
}

#[tokio::test(start_paused = true)]
async fn a_hand_edit_that_pairs_the_user_s_key_id_with_another_secret_is_copied_nowhere() {
    // Whoever may write the source's value (not the mirrors) puts the user's key id beside a
    // secret of their choosing: the mirrors' consumers, in other teams, must not be broken by it.
    let logs = LogCapture::start();
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let json_arn = secret_claiming(&fake, "app1/production/copy", "json", "{}");
    name_mirror(&fake, 2, &json_arn);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    let current = key_in(&fake, SECRET, AWSCURRENT).unwrap();
    let copy = secret_mirror_value(&fake, "app1/production/copy");
    fake.put_current_value(SECRET, &value_json(USER, &current, "not-the-key-s-secret"));
    fake.put_current_value(MIRROR, "AKIAWRITTENBYHAND000");
    let report = sweep(&rotator).await;
    assert_eq!(
        (report.mirrors_repaired, report.mirrors_written),
        (0, 0),
        "{report:?}"
    );
    assert_eq!(report.mirrors_not_written, 2, "{report:?}");
    assert_eq!(secret_mirror_value(&fake, "app1/production/copy"), copy);
    assert_eq!(secret_mirror_value(&fake, MIRROR), "AKIAWRITTENBYHAND000");
    logs.assert_no_secret(&fake, "");
}

#[tokio::test(start_paused = true)]
async fn an_enforced_deadline_is_not_held_off_by_a_mirror_behind() {
    // A target's owner must not keep the previous key alive past an enforced deadline by keeping
    // their mirror behind (writing it by hand each hour, or removing its claim).
    let fake = FakeAws::new();
    let config = iam_key_rotator::Config {
        retire_enforce_deadline: true,
        ..config(PreviousKeyAction::Retire)
    };
    let deadline = config.retire_deadline;
    let rotator = fake.rotator(config);
    let (old_id, _) = setup(&fake);
    let arn = secret_claiming(&fake, MIRROR, "access-key-id", &old_id);
    name_mirror(&fake, 1, &arn);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    fake.tag_secret_by_hand(MIRROR, MIRROR_OF_TAG, None);
    // The previous key stays in use all along.
    for _ in 0..(deadline.as_secs() / HOUR.as_secs() / 6 + 2) {
        fake.use_key(USER, &old_id);
        fake.report_uses(&old_id);
        fake.advance(6 * HOUR);
    }
    let report = sweep(&rotator).await;
    assert_eq!(report.deactivated, 1, "{report:?}");
    assert_eq!(status(&fake, &old_id), Some(KeyStatus::Inactive));
}
