//! The rules of contract §18, each as the hole it closes was found (issue 21): a test per finding
//! that failed on the code before the fix. The model (`crates/model`) checks them over every
//! interleaving; these pin each one in the fastest suite.

mod support;

use std::time::Duration;

use iam_key_rotator::aws::{KeyStatus, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::event::Step;
use iam_key_rotator::overrides::ACTION_TAG;
use iam_key_rotator::retire::decide::INACTIVE_SINCE_TAG;
use iam_key_rotator::retire::SweepReport;
use iam_key_rotator::{Config, Rotator};

use support::fake::{error, FakeAws, Fault, FUNCTION_ARN};
use support::*;

const HOUR: Duration = Duration::from_secs(3_600);
const DAY: Duration = Duration::from_secs(24 * 3_600);

fn retire(enforce: bool) -> Config {
    Config {
        retire_enforce_deadline: enforce,
        ..config(PreviousKeyAction::Retire)
    }
}

/// A bound user's secret rotated once: the rotator and the first key, now AWSPREVIOUS.
async fn rotated_once(fake: &FakeAws, config: Config) -> (Rotator, String) {
    let rotator = fake.rotator(config);
    let (first_key, _) = setup(fake);
    rotate(fake, &rotator, SECRET).await.unwrap();
    (rotator, first_key)
}

async fn sweep(rotator: &Rotator) -> SweepReport {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    rotator.sweep(FUNCTION_ARN, deadline).await.unwrap()
}

fn status(fake: &FakeAws, key_id: &str) -> Option<KeyStatus> {
    let keys = fake.user(USER).keys;
    keys.iter().find(|k| k.id == key_id).map(|k| k.status)
}

fn bookkeeping_tag(fake: &FakeAws) -> Option<String> {
    let tags = fake.secret(SECRET).tags;
    tags.into_iter()
        .find(|(k, _)| k == INACTIVE_SINCE_TAG)
        .map(|(_, v)| v)
}

/// A rotation refused because a consumer still uses the previous key: Secrets Manager's
/// placeholder stays in AWSPENDING, with no value.
async fn rotation_waiting_for(fake: &FakeAws, rotator: &Rotator, key: &str) -> String {
    fake.use_key(USER, key);
    let token = fake.start_rotation(SECRET).unwrap();
    let err = step(rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Transient.PreviousKeyInUse", "{err}");
    token
}

// ---- 1. A rotation waiting for the previous key never switches the alarm or the deadline off ----

#[tokio::test(start_paused = true)]
async fn the_alarm_fires_past_the_deadline_while_a_rotation_waits_for_the_key() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire(false)).await;
    rotation_waiting_for(&fake, &rotator, &first_key).await;
    fake.advance(7 * DAY);
    fake.use_key(USER, &first_key);
    let report = sweep(&rotator).await;
    assert_eq!(report.alarmed, 1, "{report:?}");
    let events = fake.events();
    let last = events.last().expect("an event");
    assert_eq!(last.detail_type, "Previous Access Key Still In Use");
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Active));
}

#[tokio::test(start_paused = true)]
async fn an_enforced_deadline_applies_while_a_rotation_waits_for_the_key() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire(true)).await;
    let token = rotation_waiting_for(&fake, &rotator, &first_key).await;
    fake.advance(7 * DAY);
    fake.use_key(USER, &first_key);
    let report = sweep(&rotator).await;
    assert_eq!(report.deactivated, 1, "{report:?}");
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Inactive));
    // The rotation still waits: the deactivated key is in its quarantine now.
    let err = step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Transient.PreviousKeyInQuarantine");
}

#[tokio::test(start_paused = true)]
async fn a_rotation_that_made_its_key_still_holds_the_sweep_off() {
    // Once the pending version holds a value the rotation is under way: the sweep waits for it.
    let fake = FakeAws::new();
    let (rotator, _) = rotated_once(&fake, retire(true)).await;
    fake.advance(2 * DAY);
    start_and_run_until(&fake, &rotator, SECRET, Step::SetSecret).await;
    let report = sweep(&rotator).await;
    assert_eq!(
        report.skipped.get("rotation-in-progress"),
        Some(&1),
        "{report:?}"
    );
}

// ---- 2. Bookkeeping dates are bounded; a reactivation restarts the idle time, not the rules ----

#[tokio::test(start_paused = true)]
async fn a_reactivation_tag_dated_in_the_future_is_ignored() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire(true)).await;
    let forged = format!("{first_key} reactivated 9999-01-01T00:00:00Z");
    fake.tag_secret_by_hand(SECRET, INACTIVE_SINCE_TAG, Some(&forged));
    fake.advance(7 * DAY);
    fake.use_key(USER, &first_key);
    let report = sweep(&rotator).await;
    assert_eq!(report.deactivated, 1, "{report:?}");
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Inactive));
}

#[tokio::test(start_paused = true)]
async fn an_inactive_since_tag_dated_in_the_future_is_replaced_by_now() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire(false)).await;
    fake.set_key_status(USER, &first_key, KeyStatus::Inactive);
    let forged = format!("{first_key} 9999-01-01T00:00:00Z");
    fake.tag_secret_by_hand(SECRET, INACTIVE_SINCE_TAG, Some(&forged));
    let report = sweep(&rotator).await;
    assert_eq!(report.marked_inactive, 1, "{report:?}");
    let tag = bookkeeping_tag(&fake).unwrap();
    assert!(!tag.contains("9999"), "{tag}");
    // The quarantine then runs from now: deleted once it and the floor are over.
    fake.advance(8 * DAY + HOUR);
    assert_eq!(sweep(&rotator).await.deleted, 1);
}

#[tokio::test(start_paused = true)]
async fn a_bookkeeping_date_before_the_promotion_is_ignored() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire(false)).await;
    fake.set_key_status(USER, &first_key, KeyStatus::Inactive);
    let forged = format!("{first_key} 2001-01-01T00:00:00Z");
    fake.tag_secret_by_hand(SECRET, INACTIVE_SINCE_TAG, Some(&forged));
    assert_eq!(sweep(&rotator).await.marked_inactive, 1);
    assert!(!bookkeeping_tag(&fake).unwrap().contains("2001"));
}

#[tokio::test(start_paused = true)]
async fn an_enforced_deadline_applies_from_a_reactivation() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire(true)).await;
    // Nobody uses it: deactivated once idle.
    fake.advance(25 * HOUR);
    assert_eq!(sweep(&rotator).await.deactivated, 1);
    // Two days on, a forgotten consumer shows up: a person reactivates the key for it.
    fake.advance(2 * DAY);
    fake.set_key_status(USER, &first_key, KeyStatus::Active);
    fake.use_key(USER, &first_key);
    let reactivated_at = fake.now();
    let report = sweep(&rotator).await;
    assert_eq!(report.waiting, 1, "{report:?}");
    assert!(bookkeeping_tag(&fake).unwrap().contains("reactivated"));

    // Seven days after the promotion, but not after the reactivation: still Active.
    fake.advance(5 * DAY);
    fake.use_key(USER, &first_key);
    let report = sweep(&rotator).await;
    assert_eq!(report.deactivated, 0, "{report:?}");
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Active));

    // Seven days after the reactivation, still in use: the enforced deadline applies.
    let since = fake.now().duration_since(reactivated_at).unwrap();
    fake.advance(7 * DAY - since);
    fake.use_key(USER, &first_key);
    let report = sweep(&rotator).await;
    assert_eq!(report.deactivated, 1, "{report:?}");
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Inactive));
}

// ---- 3. A rotation during the quarantine keeps the Inactive key ----

#[tokio::test(start_paused = true)]
async fn a_rotation_during_the_quarantine_keeps_the_key_and_says_until_when() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire(false)).await;
    fake.advance(25 * HOUR);
    assert_eq!(sweep(&rotator).await.deactivated, 1);
    fake.advance(2 * DAY);

    let token = fake.start_rotation(SECRET).unwrap();
    let err = assert_refused(
        &fake,
        &rotator,
        Step::CreateSecret,
        SECRET,
        &token,
        "Transient.PreviousKeyInQuarantine",
    )
    .await;
    let message = err.to_string();
    assert!(message.contains(&first_key), "{message}");
    assert!(
        message.contains("aws iam delete-access-key"),
        "gives the emergency command: {message}"
    );
    assert!(
        message.contains("quarantine ends no sooner than"),
        "{message}"
    );

    // Once the quarantine is over the retry goes ahead and the key makes room.
    fake.advance(6 * DAY);
    finish_rotation(&fake, &rotator, SECRET, &token)
        .await
        .unwrap();
    assert_eq!(status(&fake, &first_key), None);
}

/// Found by the model: createSecret decided to delete the Inactive previous key (its quarantine
/// over), and a person reactivated it for a consumer before the delete.
#[tokio::test(start_paused = true)]
async fn a_key_reactivated_while_create_secret_makes_room_is_kept() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire(false)).await;
    fake.set_key_status(USER, &first_key, KeyStatus::Inactive);
    assert_eq!(sweep(&rotator).await.marked_inactive, 1);
    fake.advance(8 * DAY + HOUR);
    let token = fake.start_rotation(SECRET).unwrap();
    let key = first_key.clone();
    // The first listing decides; the person acts just before the second, the re-read.
    fake.before_call("ListAccessKeys", 1, move |world| {
        let user = world.users.get_mut(USER).unwrap();
        let k = user.keys.iter_mut().find(|k| k.id == key).unwrap();
        k.status = KeyStatus::Active;
    });
    let err = step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Transient.PreviousKeyChanged", "{err}");
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Active));
}

/// Found by a review, then by the model: a person reactivates the key the sweep deactivated (a
/// consumer broke), and Secrets Manager's retry comes before the next sweep has recorded it.
#[tokio::test(start_paused = true)]
async fn a_key_reactivated_under_the_sweeps_record_is_in_use_for_create_secret() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire(false)).await;
    fake.advance(25 * HOUR);
    assert_eq!(sweep(&rotator).await.deactivated, 1);
    fake.set_key_status(USER, &first_key, KeyStatus::Active);
    let token = fake.start_rotation(SECRET).unwrap();
    let type_ = "Transient.PreviousKeyInUse";
    assert_refused(&fake, &rotator, Step::CreateSecret, SECRET, &token, type_).await;
}

/// Whoever may tag the secret can write a believable reactivation every day; past the longest
/// deadline a tag may set (90 days after the promotion) it postpones nothing.
#[tokio::test(start_paused = true)]
async fn a_reactivation_postpones_an_enforced_deadline_90_days_at_most() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire(true)).await;
    let reactivated_now = |fake: &FakeAws| {
        let now = iam_key_rotator::secret_value::format_date(fake.now());
        let forged = format!("{first_key} reactivated {now}");
        fake.tag_secret_by_hand(SECRET, INACTIVE_SINCE_TAG, Some(&forged));
    };
    fake.advance(30 * DAY);
    fake.use_key(USER, &first_key);
    reactivated_now(&fake);
    assert_eq!(sweep(&rotator).await.deactivated, 0, "within the horizon");
    fake.advance(61 * DAY);
    fake.use_key(USER, &first_key);
    reactivated_now(&fake);
    let report = sweep(&rotator).await;
    assert_eq!(report.deactivated, 1, "{report:?}");
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Inactive));
}

#[tokio::test(start_paused = true)]
async fn a_key_deactivated_by_hand_is_in_quarantine_too() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire(false)).await;
    fake.set_key_status(USER, &first_key, KeyStatus::Inactive);
    let token = fake.start_rotation(SECRET).unwrap();
    let type_ = "Transient.PreviousKeyInQuarantine";
    assert_refused(&fake, &rotator, Step::CreateSecret, SECRET, &token, type_).await;
}

#[tokio::test(start_paused = true)]
async fn under_deactivate_the_next_rotation_deletes_the_inactive_key_as_before() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, config(PreviousKeyAction::Deactivate)).await;
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Inactive));
    rotate(&fake, &rotator, SECRET).await.unwrap();
    assert_eq!(status(&fake, &first_key), None);
}

// ---- 4. A key younger than IAM's reporting lag is never proven unused ----

#[tokio::test(start_paused = true)]
async fn an_orphan_younger_than_the_lag_waits_then_goes() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(retire(false));
    setup(&fake);
    let token = fake.start_rotation(SECRET).unwrap();
    let orphan = orphan_of_a_failed_attempt(&fake, &rotator, &token).await;

    // Secrets Manager retries at once: the orphan may have been used in the last hours, as far
    // as IAM can tell yet.
    let err = assert_refused(
        &fake,
        &rotator,
        Step::CreateSecret,
        SECRET,
        &token,
        "Transient.OrphanTooRecent",
    )
    .await;
    assert!(err.to_string().contains(&orphan), "{err}");

    fake.advance(4 * HOUR + Duration::from_secs(60));
    finish_rotation(&fake, &rotator, SECRET, &token)
        .await
        .unwrap();
    assert_eq!(status(&fake, &orphan), None, "the proven orphan is deleted");
}

// ---- 5. An invalid setting tag is ignored, loudly ----

#[tokio::test(start_paused = true)]
async fn an_unknown_setting_tag_is_ignored_with_an_error_line_and_an_event() {
    let capture = LogCapture::start();
    let fake = FakeAws::new();
    let rotator = fake.rotator(retire(false));
    let (first_key, _) = setup(&fake);
    fake.tag_secret_by_hand(SECRET, "iam-key-rotator:previous-key-actoin", Some("keep"));
    rotate(&fake, &rotator, SECRET).await.unwrap();
    assert_eq!(
        key_in(&fake, SECRET, AWSPREVIOUS).as_deref(),
        Some(&*first_key)
    );
    let ignored = capture.lines().into_iter().any(|line| {
        line["level"] == "ERROR"
            && line
                .to_string()
                .contains("iam-key-rotator:previous-key-actoin")
    });
    assert!(ignored, "an ERROR line names the tag");
    let events = fake.events();
    assert!(
        events
            .iter()
            .any(|e| e.detail_type == "Invalid Setting Tag Ignored"
                && e.detail["tagKey"] == "iam-key-rotator:previous-key-actoin"),
        "{events:?}"
    );

    // The sweep goes on too, with the function's settings.
    fake.advance(25 * HOUR);
    let report = sweep(&rotator).await;
    assert_eq!(report.deactivated, 1, "{report:?}");
}

#[tokio::test(start_paused = true)]
async fn a_harsher_action_tag_is_ignored_and_the_functions_action_applies() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(retire(false));
    let (first_key, _) = setup(&fake);
    fake.tag_secret_by_hand(SECRET, ACTION_TAG, Some("delete"));
    rotate(&fake, &rotator, SECRET).await.unwrap();
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Active));
}

// ---- 6. Swapped fields never put the secret access key into an error or a log ----

#[tokio::test(start_paused = true)]
async fn swapped_key_fields_are_refused_without_echoing_either() {
    let capture = LogCapture::start();
    let fake = FakeAws::new();
    let rotator = fake.rotator(retire(false));
    fake.add_user(USER, "/svc/");
    let (id, secret) = fake.add_key(USER);
    let swapped =
        serde_json::json!({"UserName": USER, "AccessKeyId": secret, "SecretAccessKey": id});
    fake.create_secret(SECRET, &swapped.to_string(), true);
    fake.bind(USER, SECRET);
    let token = fake.start_rotation(SECRET).unwrap();
    let type_ = "Permanent.InvalidSecretValue";
    let err = assert_refused(&fake, &rotator, Step::CreateSecret, SECRET, &token, type_).await;
    let message = err.to_string();
    assert!(message.contains("AccessKeyId"), "{message}");
    assert!(
        !message.contains(&secret) && !message.contains(&id),
        "{message}"
    );
    capture.assert_no_secret(&fake, &message);
}

// ---- 8. Rules an outside mutation check found unpinned ----

#[tokio::test(start_paused = true)]
async fn an_enforced_deadline_counts_from_the_promotion_forward() {
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire(true)).await;
    for _ in 0..6 {
        fake.advance(DAY);
        fake.use_key(USER, &first_key);
        let report = sweep(&rotator).await;
        assert_eq!(report.deactivated, 0, "{report:?}");
    }
    fake.advance(DAY);
    fake.use_key(USER, &first_key);
    assert_eq!(sweep(&rotator).await.deactivated, 1);
}

#[tokio::test(start_paused = true)]
async fn the_deletion_floor_holds_against_an_early_bookkeeping_date() {
    // The key was used until it was deactivated by hand; someone dates its quarantine back to
    // just after the promotion. The floor (last use + idle + quarantine) still stands.
    let fake = FakeAws::new();
    let (rotator, first_key) = rotated_once(&fake, retire(false)).await;
    let promoted = fake.now();
    fake.advance(3 * DAY);
    fake.use_key(USER, &first_key);
    fake.set_key_status(USER, &first_key, KeyStatus::Inactive);
    let early = iam_key_rotator::secret_value::format_date(promoted + HOUR);
    let forged = format!("{first_key} {early}");
    fake.tag_secret_by_hand(SECRET, INACTIVE_SINCE_TAG, Some(&forged));
    // Past tag + quarantine, before last use + idle + quarantine.
    fake.advance(7 * DAY);
    let report = sweep(&rotator).await;
    assert_eq!(report.deleted, 0, "{report:?}");
    assert_eq!(status(&fake, &first_key), Some(KeyStatus::Inactive));
    fake.advance(DAY + HOUR);
    assert_eq!(sweep(&rotator).await.deleted, 1);
}

#[test]
fn the_alarm_window_is_one_sweep_interval_a_day() {
    use iam_key_rotator::retire::decide::alarm_due;
    let deadline = std::time::UNIX_EPOCH + 1_000 * DAY;
    let second = Duration::from_secs(1);
    assert!(alarm_due(deadline, deadline, HOUR));
    assert!(alarm_due(deadline + HOUR - second, deadline, HOUR));
    assert!(!alarm_due(deadline + HOUR, deadline, HOUR));
    assert!(!alarm_due(deadline + DAY - second, deadline, HOUR));
    assert!(alarm_due(deadline + DAY, deadline, HOUR));
    assert!(alarm_due(
        deadline + 3 * DAY + HOUR - second,
        deadline,
        HOUR
    ));
}

#[tokio::test(start_paused = true)]
async fn an_unusable_labelled_version_means_no_key_counts_as_an_orphan() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(retire(false));
    setup(&fake);
    let token = fake.start_rotation(SECRET).unwrap();
    fake.fail(
        "PutSecretValue",
        Fault::Before(error(
            "secretsmanager",
            "PutSecretValue",
            "InternalFailure",
            500,
        )),
    );
    fake.fail(
        "DeleteAccessKey",
        Fault::Before(error("iam", "DeleteAccessKey", "InternalFailure", 500)),
    );
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap_err();
    let orphan = fake.user(USER).keys.last().unwrap().id.clone();
    // A version someone labelled by hand holds a value that does not parse: it might hold the
    // "orphan", so nothing proves that nobody has it.
    let other = fake.put_current_value(SECRET, "not json");
    fake.move_label(SECRET, "custom", &other);
    let current = fake.secret(SECRET).versions[0].id.clone();
    fake.move_label(SECRET, AWSCURRENT, &current);
    fake.advance(5 * HOUR);
    let type_ = "Permanent.NoFreeKeySlot";
    let err = assert_refused(&fake, &rotator, Step::CreateSecret, SECRET, &token, type_).await;
    assert!(err.to_string().contains(&orphan), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_failed_put_whose_pending_holds_another_key_rolls_the_new_key_back() {
    // A race: the put of our key fails, and AWSPENDING holds a key someone else stored there.
    let fake = FakeAws::new();
    let rotator = fake.rotator(retire(false));
    let (_, _) = setup(&fake);
    let token = fake.start_rotation(SECRET).unwrap();
    let (other_id, other_secret) = fake.add_key(USER);
    let theirs = value_json(USER, &other_id, &other_secret);
    let pending = token.clone();
    fake.before_call("PutSecretValue", 0, move |world| {
        let secret = world.secrets.values_mut().next().unwrap();
        let version = secret
            .versions
            .iter_mut()
            .find(|v| v.id == pending)
            .unwrap();
        version.value = Some(theirs);
    });
    fake.fail(
        "PutSecretValue",
        Fault::Before(error(
            "secretsmanager",
            "PutSecretValue",
            "ResourceExistsException",
            400,
        )),
    );
    let before: Vec<String> = fake.user(USER).keys.iter().map(|k| k.id.clone()).collect();
    // Two keys already (current and theirs): createSecret cannot make room, so give it one.
    assert_eq!(before.len(), 2);
    fake.remove_key(USER, &other_id);
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap_err();
    let after: Vec<String> = fake.user(USER).keys.iter().map(|k| k.id.clone()).collect();
    assert_eq!(
        after,
        vec![before[0].clone()],
        "the new key was rolled back"
    );
    assert!(fake.version_with(SECRET, AWSPENDING).is_some());
}
