//! One test per rule of §5-§9, each against the in-memory fake.

mod support;

use std::time::Duration;

use iam_key_rotator::aws::{KeyStatus, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::event::Step;
use iam_key_rotator::rotation::keys::LAST_USE_LAG;

use support::fake::{error, FakeAws, Fault};
use support::*;

fn fixture(action: PreviousKeyAction) -> (FakeAws, iam_key_rotator::Rotator, String) {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(action));
    let (key, _) = setup(&fake);
    (fake, rotator, key)
}

fn count(fake: &FakeAws, op: &str) -> usize {
    fake.calls().iter().filter(|c| **c == op).count()
}

// ---- §5 checks before every step ----

#[tokio::test(start_paused = true)]
async fn every_step_refuses_a_secret_with_rotation_disabled() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let token = fake.start_rotation(SECRET).unwrap();
    fake.set_rotation_enabled(SECRET, false);
    for s in Step::ALL {
        let err = assert_refused(
            &fake,
            &rotator,
            s,
            SECRET,
            &token,
            "Permanent.RotationDisabled",
        )
        .await;
        assert!(
            err.to_string().contains("rotate-secret"),
            "says what to do: {err}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn every_step_refuses_a_token_that_is_not_a_version() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    fake.start_rotation(SECRET).unwrap();
    for s in Step::ALL {
        assert_refused(
            &fake,
            &rotator,
            s,
            SECRET,
            "00000000-aaaa-4bbb-8ccc-000000000000",
            "Permanent.VersionNotFound",
        )
        .await;
    }
}

#[tokio::test(start_paused = true)]
async fn every_step_refuses_a_version_that_is_not_pending() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    let previous = fake.version_with(SECRET, AWSPREVIOUS).unwrap().id;
    fake.start_rotation(SECRET).unwrap();
    for s in Step::ALL {
        let err = assert_refused(
            &fake,
            &rotator,
            s,
            SECRET,
            &previous,
            "Permanent.VersionNotPending",
        )
        .await;
        assert!(err.to_string().contains("AWSPREVIOUS"), "{err}");
    }
}

#[tokio::test(start_paused = true)]
async fn create_set_and_test_do_nothing_on_a_version_already_current() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Delete);
    let current = fake.version_with(SECRET, AWSCURRENT).unwrap().id;
    for s in [Step::CreateSecret, Step::SetSecret, Step::TestSecret] {
        fake.clear_calls();
        let before = fake.world();
        step(&rotator, s, SECRET, &current).await.unwrap();
        assert_eq!(fake.calls(), ["DescribeSecret"], "{s} only looked");
        assert_eq!(fake.world(), before);
    }
}

// ---- §6 createSecret ----

#[tokio::test(start_paused = true)]
async fn create_is_a_no_op_once_pending_holds_a_value() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let token = fake.start_rotation(SECRET).unwrap();
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap();
    let after = fake.world();
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap();
    assert_eq!(count(&fake, "CreateAccessKey"), 1);
    assert_eq!(fake.world(), after);
}

#[tokio::test(start_paused = true)]
async fn create_refuses_a_current_key_the_user_does_not_have() {
    let (fake, rotator, key) = fixture(PreviousKeyAction::Keep);
    fake.remove_key(USER, &key);
    let token = fake.start_rotation(SECRET).unwrap();
    let err = assert_refused(
        &fake,
        &rotator,
        Step::CreateSecret,
        SECRET,
        &token,
        "Permanent.KeyNotOwnedByUser",
    )
    .await;
    assert!(
        err.to_string().contains(&key) && err.to_string().contains(USER),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn create_refuses_an_inactive_current_key() {
    let (fake, rotator, key) = fixture(PreviousKeyAction::Keep);
    fake.set_key_status(USER, &key, KeyStatus::Inactive);
    let token = fake.start_rotation(SECRET).unwrap();
    assert_refused(
        &fake,
        &rotator,
        Step::CreateSecret,
        SECRET,
        &token,
        "Permanent.CurrentKeyInactive",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn create_deletes_the_previous_versions_key() {
    let (fake, rotator, first) = fixture(PreviousKeyAction::Keep);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    assert_eq!(
        key_in(&fake, SECRET, AWSPREVIOUS).as_deref(),
        Some(first.as_str())
    );
    let token = fake.start_rotation(SECRET).unwrap();
    let logs = LogCapture::start();
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap();
    let keys: Vec<String> = fake.user(USER).keys.into_iter().map(|k| k.id).collect();
    assert!(!keys.contains(&first), "the previous key is deleted");
    assert_eq!(keys.len(), 2);
    assert!(
        logs.text().contains("grace period is over"),
        "the decision is logged"
    );
}

/// Issue 12: a key made after the rotation started that IAM shows was used is not an orphan
/// (an orphan is a key nobody ever had): someone made it and gave it out. It is left alone.
#[tokio::test(start_paused = true)]
async fn create_leaves_a_key_made_after_the_start_alone_once_it_was_used() {
    let (fake, rotator, current) = fixture(PreviousKeyAction::Keep);
    let token = fake.start_rotation(SECRET).unwrap();
    let (someones, _) = fake.add_key(USER);
    fake.use_key(USER, &someones);
    let err = assert_refused(
        &fake,
        &rotator,
        Step::CreateSecret,
        SECRET,
        &token,
        "Permanent.NoFreeKeySlot",
    )
    .await;
    assert!(err.to_string().contains(&someones), "{err}");
    assert!(fake.user(USER).keys.iter().any(|k| k.id == current));
}

#[tokio::test(start_paused = true)]
async fn create_deletes_an_orphan_of_an_earlier_attempt_of_this_rotation() {
    let (fake, rotator, current) = fixture(PreviousKeyAction::Keep);
    let token = fake.start_rotation(SECRET).unwrap();
    let orphan = orphan_of_a_failed_attempt(&fake, &rotator, &token).await;
    assert_ne!(orphan, current);
    // Secrets Manager retries: the orphan is ours (made after the rotation started, stored nowhere)
    // once IAM's record, hours late, can prove nobody used it (lifecycle_rules.rs: before that).
    fake.advance(LAST_USE_LAG);
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap();
    let keys: Vec<String> = fake.user(USER).keys.into_iter().map(|k| k.id).collect();
    assert!(!keys.contains(&orphan), "orphan deleted");
    assert!(keys.contains(&current), "current key kept");
    assert_eq!(
        key_in(&fake, SECRET, AWSPENDING).as_ref(),
        keys.iter().find(|k| **k != current)
    );
    finish_rotation(&fake, &rotator, SECRET, &token)
        .await
        .unwrap();
    check_invariants(&fake, &rotator, SECRET, USER, Some(&current), &[]).await;
}

#[tokio::test(start_paused = true)]
async fn create_never_touches_a_key_made_before_the_rotation_started() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let (foreign, _) = fake.add_key(USER);
    let token = fake.start_rotation(SECRET).unwrap();
    let err = assert_refused(
        &fake,
        &rotator,
        Step::CreateSecret,
        SECRET,
        &token,
        "Permanent.NoFreeKeySlot",
    )
    .await;
    assert!(err.to_string().contains(&foreign), "names the key: {err}");
}

#[tokio::test(start_paused = true)]
async fn create_rolls_back_the_new_key_when_put_fails() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let token = fake.start_rotation(SECRET).unwrap();
    let before = fake.world();
    fake.fail(
        "PutSecretValue",
        Fault::Before(error(
            "secretsmanager",
            "PutSecretValue",
            "ThrottlingException",
            400,
        )),
    );
    let err = step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{}", err.error_type());
    assert_eq!(count(&fake, "CreateAccessKey"), 1);
    assert_eq!(count(&fake, "DeleteAccessKey"), 1);
    assert_eq!(
        fake.world(),
        before,
        "the new key is gone, pending still empty"
    );
}

#[tokio::test(start_paused = true)]
async fn create_keeps_the_new_key_when_put_took_effect_but_its_answer_was_lost() {
    let (fake, rotator, current) = fixture(PreviousKeyAction::Keep);
    let token = fake.start_rotation(SECRET).unwrap();
    fake.fail(
        "PutSecretValue",
        Fault::After(error(
            "secretsmanager",
            "PutSecretValue",
            "InternalServiceError",
            500,
        )),
    );
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap();
    assert_eq!(count(&fake, "DeleteAccessKey"), 0);
    let pending = key_in(&fake, SECRET, AWSPENDING).expect("stored");
    assert!(fake.user(USER).keys.iter().any(|k| k.id == pending));
    finish_rotation(&fake, &rotator, SECRET, &token)
        .await
        .unwrap();
    check_invariants(&fake, &rotator, SECRET, USER, Some(&current), &[]).await;
}

#[tokio::test(start_paused = true)]
async fn create_passes_the_rotation_token_to_put() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let token = fake.start_rotation(SECRET).unwrap();
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap();
    assert_eq!(
        fake.rotation_tokens_received(),
        [Some("rotation-token-a1b2c3d4e5f6-secret".to_owned())]
    );
}

#[tokio::test(start_paused = true)]
async fn create_refuses_a_current_value_that_is_not_a_secret_value() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let current = fake.version_with(SECRET, AWSCURRENT).unwrap().id;
    let token = fake.start_rotation(SECRET).unwrap();
    let logs = LogCapture::start();
    for (value, reason) in [
        ("AKIAIOSFODNN7EXAMPLE", "not valid JSON"),
        (r#"["a"]"#, "JSON array, not an object"),
        (r#"{"UserName": 7}"#, "UserName is a JSON number"),
        (
            r#"{"UserName": "u", "AccessKeyId": "AKIA1XXXXXXXXXXXXXXX"}"#,
            "no SecretAccessKey",
        ),
        (
            r#"{"AccessKeyId": "AKIA1XXXXXXXXXXXXXXX", "SecretAccessKey": "s3cr3t-value"}"#,
            "no UserName",
        ),
    ] {
        fake.set_value(SECRET, &current, Some(value));
        let expected = if reason == "no UserName" {
            "Permanent.NoUserName"
        } else {
            "Permanent.InvalidSecretValue"
        };
        let err = assert_refused(
            &fake,
            &rotator,
            Step::CreateSecret,
            SECRET,
            &token,
            expected,
        )
        .await;
        assert!(err.to_string().contains(reason), "{err}");
    }
    logs.assert_no_secret(&fake, "");
}

// ---- §7 setSecret ----

#[tokio::test(start_paused = true)]
async fn set_refuses_a_pending_value_for_another_user() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    fake.add_user("someone-else", "/");
    let (id, secret) = fake.add_key("someone-else");
    let token = fake.start_rotation(SECRET).unwrap();
    fake.set_value(
        SECRET,
        &token,
        Some(&value_json("someone-else", &id, &secret)),
    );
    assert_refused(
        &fake,
        &rotator,
        Step::SetSecret,
        SECRET,
        &token,
        "Permanent.UserMismatch",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn set_refuses_a_pending_key_that_is_gone_or_inactive() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let token = fake.start_rotation(SECRET).unwrap();
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap();
    let pending = key_in(&fake, SECRET, AWSPENDING).unwrap();
    fake.set_key_status(USER, &pending, KeyStatus::Inactive);
    let err = assert_refused(
        &fake,
        &rotator,
        Step::SetSecret,
        SECRET,
        &token,
        "Permanent.PendingKeyNotUsable",
    )
    .await;
    assert!(err.to_string().contains("Inactive"), "{err}");
    fake.remove_key(USER, &pending);
    let err = assert_refused(
        &fake,
        &rotator,
        Step::SetSecret,
        SECRET,
        &token,
        "Permanent.PendingKeyNotUsable",
    )
    .await;
    assert!(err.to_string().contains("does not have it"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn set_refuses_a_pending_version_without_a_value() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let token = fake.start_rotation(SECRET).unwrap();
    assert_refused(
        &fake,
        &rotator,
        Step::SetSecret,
        SECRET,
        &token,
        "Permanent.MissingValue",
    )
    .await;
}

// ---- §8 testSecret ----

#[tokio::test(start_paused = true)]
async fn test_fails_when_the_key_answers_as_someone_else() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let token = fake.start_rotation(SECRET).unwrap();
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap();
    fake.answer_identity_as("arn:aws:iam::123456789012:user/svc/intruder");
    let err = assert_refused(
        &fake,
        &rotator,
        Step::TestSecret,
        SECRET,
        &token,
        "Permanent.IdentityMismatch",
    )
    .await;
    assert!(err.to_string().contains("intruder"), "{err}");
    assert_eq!(
        count(&fake, "GetCallerIdentity"),
        1,
        "a wrong identity is not retried"
    );
}

#[tokio::test(start_paused = true)]
async fn test_waits_for_the_new_key_to_propagate() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    fake.set_propagation_attempts(8);
    let token = fake.start_rotation(SECRET).unwrap();
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap();
    let logs = LogCapture::start();
    let started = tokio::time::Instant::now();
    step(&rotator, Step::TestSecret, SECRET, &token)
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(count(&fake, "GetCallerIdentity"), 9);
    assert!(
        waited >= Duration::from_secs(8) && waited <= Duration::from_secs(9),
        "{waited:?}"
    );
    let attempts = logs.text().matches("test attempt failed").count();
    assert_eq!(attempts, 8, "one log line per failed attempt");
}

#[tokio::test(start_paused = true)]
async fn test_gives_up_at_the_propagation_timeout_and_deletes_nothing() {
    let fake = FakeAws::new();
    let mut cfg = config(PreviousKeyAction::Delete);
    cfg.propagation_timeout = Duration::from_secs(10);
    let rotator = fake.rotator(cfg);
    let (current, _) = setup(&fake);
    fake.set_propagation_attempts(15);
    let token = start_and_run_until(&fake, &rotator, SECRET, Step::TestSecret).await;
    let err = assert_refused(
        &fake,
        &rotator,
        Step::TestSecret,
        SECRET,
        &token,
        "Transient.KeyNotPropagated",
    )
    .await;
    let message = err.to_string();
    assert!(
        message.contains("11 attempts") && message.contains("InvalidClientTokenId"),
        "{message}"
    );
    // Secrets Manager retries the whole rotation; by then the key works.
    finish_rotation(&fake, &rotator, SECRET, &token)
        .await
        .unwrap();
    check_invariants(&fake, &rotator, SECRET, USER, Some(&current), &[]).await;
}

#[tokio::test(start_paused = true)]
async fn test_stops_before_the_lambda_times_out() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    fake.set_propagation_attempts(100);
    let token = fake.start_rotation(SECRET).unwrap();
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let lambda_deadline = started + Duration::from_secs(10);
    let err = rotator
        .handle(&event(Step::TestSecret, SECRET, &token), lambda_deadline)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Transient.KeyNotPropagated");
    let margin = rotator.config.deadline_margin;
    assert!(
        tokio::time::Instant::now() <= lambda_deadline - margin,
        "stopped within the margin"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(6),
        "used the time it had: {:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn test_retries_throttling_but_not_other_errors() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let token = fake.start_rotation(SECRET).unwrap();
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap();
    fake.fail(
        "GetCallerIdentity",
        Fault::Before(error("sts", "GetCallerIdentity", "Throttling", 400)),
    );
    step(&rotator, Step::TestSecret, SECRET, &token)
        .await
        .unwrap();
    assert_eq!(count(&fake, "GetCallerIdentity"), 2);

    fake.clear_calls();
    fake.fail(
        "GetCallerIdentity",
        Fault::Before(error(
            "sts",
            "GetCallerIdentity",
            "ExpiredTokenException",
            400,
        )),
    );
    let err = step(&rotator, Step::TestSecret, SECRET, &token)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Permanent.Aws.ExpiredTokenException");
    assert_eq!(count(&fake, "GetCallerIdentity"), 1);
}

// ---- §9 finishSecret ----

#[tokio::test(start_paused = true)]
async fn finish_moves_the_labels_and_leaves_awspending_to_the_service() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let old = fake.version_with(SECRET, AWSCURRENT).unwrap().id;
    let token = fake.start_rotation(SECRET).unwrap();
    for s in Step::ALL {
        step(&rotator, s, SECRET, &token).await.unwrap();
    }
    let mut stages = fake.version(SECRET, &token).stages;
    stages.sort();
    assert_eq!(stages, [AWSCURRENT, AWSPENDING], "AWSPENDING untouched");
    assert_eq!(fake.version(SECRET, &old).stages, [AWSPREVIOUS]);
}

async fn crash_between_label_move_and_key_action(
    action: PreviousKeyAction,
    expected: Option<KeyStatus>,
) {
    let (fake, rotator, old_key) = fixture(action);
    let token = start_and_run_until(&fake, &rotator, SECRET, Step::FinishSecret).await;
    // The label moves, but the answer is lost: finishSecret fails before the key action.
    fake.fail(
        "UpdateSecretVersionStage",
        Fault::After(error(
            "secretsmanager",
            "UpdateSecretVersionStage",
            "InternalServiceError",
            500,
        )),
    );
    step(&rotator, Step::FinishSecret, SECRET, &token)
        .await
        .unwrap_err();
    assert_eq!(
        key_in(&fake, SECRET, AWSPREVIOUS).as_deref(),
        Some(old_key.as_str())
    );
    let old_status = |f: &FakeAws| {
        f.user(USER)
            .keys
            .into_iter()
            .find(|k| k.id == old_key)
            .map(|k| k.status)
    };
    assert_eq!(
        old_status(&fake),
        Some(KeyStatus::Active),
        "the action did not run yet"
    );
    // The retry finds the version already current and re-applies the action, idempotently.
    finish_rotation(&fake, &rotator, SECRET, &token)
        .await
        .unwrap();
    assert_eq!(old_status(&fake), expected);
    let done = fake.world();
    step(&rotator, Step::FinishSecret, SECRET, &token)
        .await
        .unwrap();
    assert_eq!(fake.world(), done);
    check_invariants(&fake, &rotator, SECRET, USER, Some(&old_key), &[]).await;
}

#[tokio::test(start_paused = true)]
async fn finish_retry_deactivates_after_a_crash() {
    crash_between_label_move_and_key_action(
        PreviousKeyAction::Deactivate,
        Some(KeyStatus::Inactive),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn finish_retry_deletes_after_a_crash() {
    crash_between_label_move_and_key_action(PreviousKeyAction::Delete, None).await;
}

#[tokio::test(start_paused = true)]
async fn finish_with_a_previous_key_already_gone_succeeds() {
    // finishSecret does not list the keys first: IAM's NoSuchEntity is the "already gone".
    for action in [PreviousKeyAction::Delete, PreviousKeyAction::Deactivate] {
        let (fake, rotator, old_key) = fixture(action);
        let token = start_and_run_until(&fake, &rotator, SECRET, Step::FinishSecret).await;
        fake.remove_key(USER, &old_key);
        step(&rotator, Step::FinishSecret, SECRET, &token)
            .await
            .unwrap_or_else(|e| panic!("{action}: {e}"));
        assert_eq!(fake.version_with(SECRET, AWSCURRENT).unwrap().id, token);
    }
}

#[tokio::test(start_paused = true)]
async fn keep_makes_no_key_call_in_finish() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let token = start_and_run_until(&fake, &rotator, SECRET, Step::FinishSecret).await;
    fake.clear_calls();
    step(&rotator, Step::FinishSecret, SECRET, &token)
        .await
        .unwrap();
    // GetSecretValue: the value promoted, which the lifecycle event names. ListSecretVersionIds:
    // is AWSCURRENT still the version the rotation started from? PutEvents: the event. GetUser:
    // does the user name mirrors (§19)? It names none, so nothing more.
    assert_eq!(
        fake.calls(),
        [
            "DescribeSecret",
            "GetSecretValue",
            "ListSecretVersionIds",
            "UpdateSecretVersionStage",
            "PutEvents",
            "GetUser"
        ]
    );
}

/// Issue 12: a person writes a new AWSCURRENT value while the rotation waits for finishSecret.
/// Finishing would silently revert it; under every action, nothing moves and no key is touched.
#[tokio::test(start_paused = true)]
async fn finish_refuses_to_revert_a_current_written_during_the_rotation() {
    for action in [
        PreviousKeyAction::Keep,
        PreviousKeyAction::Deactivate,
        PreviousKeyAction::Delete,
    ] {
        let (fake, rotator, old_key) = fixture(action);
        let token = start_and_run_until(&fake, &rotator, SECRET, Step::FinishSecret).await;
        let secret = fake.user(USER).keys[0].secret.clone();
        let edit = fake.put_current_value(SECRET, &value_json(USER, &old_key, &secret));
        let err = assert_refused(
            &fake,
            &rotator,
            Step::FinishSecret,
            SECRET,
            &token,
            "Permanent.CurrentWrittenDuringRotation",
        )
        .await;
        assert!(err.to_string().contains(&edit), "{action}: {err}");
    }
}

/// A person fixes the secret by hand while a rotation is stuck before createSecret stored its key
/// (say, after KeyNotOwnedByUser): the retry must not make a key from a value about to be
/// reverted. createSecret refuses before any key exists.
#[tokio::test(start_paused = true)]
async fn create_refuses_when_a_current_was_written_since_the_rotation_started() {
    let (fake, rotator, old_key) = fixture(PreviousKeyAction::Delete);
    let token = fake.start_rotation(SECRET).unwrap();
    let secret = fake.user(USER).keys[0].secret.clone();
    fake.put_current_value(SECRET, &value_json(USER, &old_key, &secret));
    assert_refused(
        &fake,
        &rotator,
        Step::CreateSecret,
        SECRET,
        &token,
        "Permanent.CurrentWrittenDuringRotation",
    )
    .await;
}

/// finishSecret moved AWSCURRENT, its key action failed, and a person moved AWSCURRENT back to
/// the old version (a rollback): the rotation's version now carries AWSPREVIOUS. The retry must
/// not move AWSCURRENT off the restored version and then act on its key.
#[tokio::test(start_paused = true)]
async fn finish_refuses_after_a_rollback_by_hand() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Delete);
    let token = start_and_run_until(&fake, &rotator, SECRET, Step::FinishSecret).await;
    fake.fail(
        "DeleteAccessKey",
        Fault::Before(error("iam", "DeleteAccessKey", "ServiceFailure", 500)),
    );
    step(&rotator, Step::FinishSecret, SECRET, &token)
        .await
        .unwrap_err();
    let restored = fake.version_with(SECRET, AWSPREVIOUS).unwrap().id;
    fake.move_label(SECRET, AWSCURRENT, &restored);
    fake.move_label(SECRET, AWSPREVIOUS, &token);
    let err = assert_refused(
        &fake,
        &rotator,
        Step::FinishSecret,
        SECRET,
        &token,
        "Permanent.CurrentWrittenDuringRotation",
    )
    .await;
    assert!(err.to_string().contains("AWSPREVIOUS"), "{err}");
}

// ---- §12 logs ----

#[tokio::test(start_paused = true)]
async fn every_log_line_names_secret_step_token_and_user() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Deactivate);
    let logs = LogCapture::start();
    let token = rotate(&fake, &rotator, SECRET).await.unwrap();
    let lines = logs.lines();
    assert!(lines.len() >= 6, "{} lines", lines.len());
    for line in &lines {
        let span = &line["span"];
        assert_eq!(span["secret"], SECRET, "{line}");
        assert_eq!(span["token"], token.as_str(), "{line}");
        assert!(
            Step::ALL.iter().any(|s| span["step"] == s.as_str()),
            "{line}"
        );
    }
    let decisions: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str())
        .collect();
    for expected in [
        "created access key",
        "stored the new access key in AWSPENDING",
        "deactivated the previous access key",
    ] {
        assert!(
            decisions.contains(&expected),
            "missing decision {expected:?} in {decisions:?}"
        );
    }
    let with_user = lines.iter().filter(|l| l["span"]["user"] == USER).count();
    assert!(with_user >= 3, "lines after the user is known carry it");
    logs.assert_no_secret(&fake, "");
}

// ---- the Lambda handler ----

#[tokio::test(start_paused = true)]
async fn the_handler_runs_a_step_and_maps_failures_to_diagnostics() {
    use lambda_runtime::{Context, Diagnostic, LambdaEvent};
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let token = fake.start_rotation(SECRET).unwrap();
    let invoke = |payload: serde_json::Value| {
        iam_key_rotator::handler(&rotator, LambdaEvent::new(payload, Context::default()))
    };
    let ok = invoke(
        serde_json::json!({"Step": "createSecret", "SecretId": SECRET, "ClientRequestToken": token}),
    );
    assert_eq!(ok.await.unwrap(), serde_json::Value::Null);
    assert!(key_in(&fake, SECRET, AWSPENDING).is_some());

    let before = fake.world();
    let bad = invoke(serde_json::json!({"Step": "setSecret", "SecretId": SECRET}));
    let diagnostic = Diagnostic::from(bad.await.unwrap_err());
    assert_eq!(diagnostic.error_type, "Permanent.InvalidEvent");
    assert!(diagnostic
        .error_message
        .contains("ClientRequestToken is missing"));
    assert_eq!(fake.world(), before);

    fake.fail(
        "DescribeSecret",
        Fault::Before(error(
            "secretsmanager",
            "DescribeSecret",
            "ThrottlingException",
            400,
        )),
    );
    let throttled = invoke(
        serde_json::json!({"Step": "setSecret", "SecretId": SECRET, "ClientRequestToken": token}),
    );
    let diagnostic = Diagnostic::from(throttled.await.unwrap_err());
    assert_eq!(diagnostic.error_type, "Transient.Aws.ThrottlingException");
    assert!(
        diagnostic
            .error_message
            .starts_with(&format!("setSecret of secret {SECRET}:")),
        "{}",
        diagnostic.error_message
    );
}

#[tokio::test(start_paused = true)]
async fn a_failure_is_logged_once_with_its_class_inside_the_rotation_span() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let token = fake.start_rotation(SECRET).unwrap();
    fake.set_rotation_enabled(SECRET, false);
    let logs = LogCapture::start();
    step(&rotator, Step::SetSecret, SECRET, &token)
        .await
        .unwrap_err();
    let lines = logs.lines();
    let failures: Vec<_> = lines.iter().filter(|l| l["level"] == "WARN").collect();
    assert_eq!(failures.len(), 1, "{lines:?}");
    assert_eq!(
        failures[0]["fields"]["error_type"],
        "Permanent.RotationDisabled"
    );
    assert_eq!(failures[0]["span"]["secret"], SECRET);
    assert_eq!(failures[0]["span"]["step"], "setSecret");
}

#[tokio::test(start_paused = true)]
async fn a_deadline_not_in_the_future_is_ignored_not_obeyed() {
    use lambda_runtime::{Context, LambdaEvent};
    // cargo lambda watch sends the timeout (600000) where the epoch deadline belongs.
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    fake.set_propagation_attempts(5);
    let token = fake.start_rotation(SECRET).unwrap();
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap();
    let mut context = Context::default();
    context.deadline = 600_000;
    let payload =
        serde_json::json!({"Step": "testSecret", "SecretId": SECRET, "ClientRequestToken": token});
    iam_key_rotator::handler(&rotator, LambdaEvent::new(payload, context))
        .await
        .expect("testSecret waits for the key as configured");
    assert_eq!(count(&fake, "GetCallerIdentity"), 6);
}
