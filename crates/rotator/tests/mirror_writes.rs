//! The mirror writes of finishSecret and createSecret (issue 23, §19) over the fake: a mirror gets
//! the new key once it is AWSCURRENT and never before, only when the user names it and it claims
//! the source, in its own format; one not written keeps the previous key and reaches a person.

mod support;

use iam_key_rotator::aws::{AWSCURRENT, AWSPREVIOUS};
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::event::Step;
use iam_key_rotator::mirror_writes::{MIRROR_NOT_WRITTEN, MIRROR_REPAIRED, MIRROR_WRITTEN};

use support::fake::ssm::DEFAULT_SSM_KEY;
use support::fake::{error, FakeAws, Fault, World};
use support::mirrors::*;
use support::*;

const JSON_MIRROR: &str = "app1/production/deployer-copy";
const PARAMETER: &str = "/app1/production/credentials";

/// SECRET rotated under `action`, with two mirrors the user names: a JSON secret holding the
/// current key, and a credentials-file parameter (profile `ci`) holding it too.
fn fixture(action: PreviousKeyAction) -> (FakeAws, iam_key_rotator::Rotator, String) {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(action));
    let (id, secret) = setup(&fake);
    let json = value_json(USER, &id, &secret);
    let secret_arn = secret_claiming(&fake, JSON_MIRROR, "json", &json);
    let text = format!(
        "[ci]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\nregion = eu-west-1\n"
    );
    let parameter_arn = parameter_claiming(&fake, PARAMETER, "credentials-file", &text);
    with_profile(&fake, PARAMETER, "ci");
    name_mirror(&fake, 1, &secret_arn);
    name_mirror(&fake, 2, &parameter_arn);
    (fake, rotator, id)
}

fn parameter_key(fake: &FakeAws) -> String {
    let text = fake.parameter(PARAMETER).value;
    let line = text
        .lines()
        .find(|l| l.starts_with("aws_access_key_id"))
        .unwrap();
    line.rsplit(' ').next().unwrap().to_owned()
}

fn events_of(fake: &FakeAws, detail_type: &str) -> Vec<serde_json::Value> {
    let events = fake.events().into_iter();
    events
        .filter(|e| e.detail_type == detail_type)
        .map(|e| e.detail)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn every_named_mirror_gets_the_new_key_in_its_format_after_the_promotion() {
    let logs = LogCapture::start();
    let (fake, rotator, old_id) = fixture(PreviousKeyAction::Delete);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    let new_id = key_in(&fake, SECRET, AWSCURRENT).unwrap();
    assert_ne!(new_id, old_id);
    // The JSON mirror holds the whole pair, as the source does; the text keeps its other lines.
    let copy = secret_mirror_value(&fake, JSON_MIRROR);
    assert_eq!(key_of(&copy), new_id);
    let source = parsed(
        &fake
            .version_with(SECRET, AWSCURRENT)
            .unwrap()
            .value
            .unwrap(),
    );
    assert_eq!(
        parsed(&copy).secret_access_key(),
        source.secret_access_key()
    );
    assert_eq!(parameter_key(&fake), new_id);
    let parameter = fake.parameter(PARAMETER);
    assert!(parameter.value.ends_with("region = eu-west-1\n"));
    assert_eq!(
        (
            parameter.parameter_type.as_str(),
            parameter.key_id.as_deref()
        ),
        ("SecureString", Some(KMS_KEY))
    );
    // Under delete, the previous key went once both mirrors held the new one.
    assert!(fake.user(USER).keys.iter().all(|k| k.id != old_id));
    let written = events_of(&fake, MIRROR_WRITTEN);
    assert_eq!(written.len(), 2, "{written:?}");
    assert!(written.iter().all(|e| e["accessKeyId"] == new_id.as_str()));
    logs.assert_no_secret(&fake, "");
}

#[tokio::test(start_paused = true)]
async fn no_mirror_is_written_before_the_promotion() {
    let (fake, rotator, old_id) = fixture(PreviousKeyAction::Delete);
    let token = start_and_run_until(&fake, &rotator, SECRET, Step::FinishSecret).await;
    assert_eq!(key_of(&secret_mirror_value(&fake, JSON_MIRROR)), old_id);
    assert_eq!(parameter_key(&fake), old_id);
    // finishSecret refused (a person's edit of AWSCURRENT): still nothing written.
    let edited = fake
        .version_with(SECRET, AWSCURRENT)
        .unwrap()
        .value
        .unwrap();
    fake.put_current_value(SECRET, &edited);
    step(&rotator, Step::FinishSecret, SECRET, &token)
        .await
        .unwrap_err();
    assert_eq!(key_of(&secret_mirror_value(&fake, JSON_MIRROR)), old_id);
    assert_eq!(parameter_key(&fake), old_id);
    assert!(!fake.calls().contains(&"PutParameter"));
}

#[tokio::test(start_paused = true)]
async fn a_secret_that_claims_the_source_without_being_named_is_never_read_or_written() {
    // An attacker tags their own secret as a mirror of the source, hoping for the new key.
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    let theirs = "attacker/inbox";
    secret_claiming(&fake, theirs, "json", "{}");
    let before = fake.secret(theirs);
    fake.clear_calls();
    rotate(&fake, &rotator, SECRET).await.unwrap();
    assert_eq!(fake.secret(theirs), before);
    assert_eq!(secret_mirror_value(&fake, theirs), "{}");
}

#[tokio::test(start_paused = true)]
async fn a_mirror_not_written_keeps_the_previous_key_and_reaches_a_person() {
    for action in [PreviousKeyAction::Delete, PreviousKeyAction::Deactivate] {
        let (fake, rotator, old_id) = fixture(action);
        // The parameter no longer claims the source: the user names it, it does not agree.
        fake.tag_parameter_by_hand(PARAMETER, iam_key_rotator::mirror::MIRROR_OF_TAG, None);
        let token = start_and_run_until(&fake, &rotator, SECRET, Step::FinishSecret).await;
        let err = step(&rotator, Step::FinishSecret, SECRET, &token)
            .await
            .unwrap_err();
        assert_eq!(err.error_type(), "Transient.MirrorNotWritten", "{err}");
        assert!(
            err.to_string().contains(&fake.parameter(PARAMETER).arn()),
            "{err}"
        );
        // The promotion stands, the agreed mirror has the new key, the previous key is untouched.
        let new_id = key_in(&fake, SECRET, AWSCURRENT).unwrap();
        assert_eq!(key_of(&secret_mirror_value(&fake, JSON_MIRROR)), new_id);
        assert_eq!(parameter_key(&fake), old_id);
        let old = fake.user(USER).keys.into_iter().find(|k| k.id == old_id);
        assert_eq!(
            old.map(|k| k.status),
            Some(iam_key_rotator::aws::KeyStatus::Active),
            "{action}"
        );
        let alarm = events_of(&fake, MIRROR_NOT_WRITTEN);
        assert_eq!(alarm.len(), 1);
        assert_eq!(alarm[0]["refused"], true);
        assert_eq!(
            alarm[0]["mirrorArn"],
            fake.parameter(PARAMETER).arn().as_str()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_write_is_written_by_the_retry_which_then_acts_on_the_previous_key() {
    let (fake, rotator, old_id) = fixture(PreviousKeyAction::Delete);
    let token = start_and_run_until(&fake, &rotator, SECRET, Step::FinishSecret).await;
    let throttled = error("ssm", "PutParameter", "ThrottlingException", 400);
    fake.fail("PutParameter", Fault::Before(throttled));
    let err = step(&rotator, Step::FinishSecret, SECRET, &token)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Transient.MirrorNotWritten");
    assert!(fake.user(USER).keys.iter().any(|k| k.id == old_id));
    let alarm = events_of(&fake, MIRROR_NOT_WRITTEN);
    assert_eq!(alarm[0]["refused"], false);
    // Secrets Manager's retry: the version is AWSCURRENT already.
    step(&rotator, Step::FinishSecret, SECRET, &token)
        .await
        .unwrap();
    assert_eq!(
        parameter_key(&fake),
        key_in(&fake, SECRET, AWSCURRENT).unwrap()
    );
    assert!(fake.user(USER).keys.iter().all(|k| k.id != old_id));
    // The JSON mirror held the new key already: written once, not again.
    assert_eq!(events_of(&fake, MIRROR_WRITTEN).len(), 2);
}

/// A person puts the previous value back in AWSCURRENT (PutSecretValue of what AWSPREVIOUS
/// holds), straight into the world from a hook.
fn put_previous_back(world: &mut World) {
    let secret = world.secrets.get_mut(SECRET).unwrap();
    let has = |v: &support::fake::Version, stage: &str| v.stages.iter().any(|s| s == stage);
    let previous = secret
        .versions
        .iter()
        .find(|v| has(v, AWSPREVIOUS))
        .unwrap();
    let mut edited = previous.clone();
    for v in &mut secret.versions {
        let was_current = has(v, AWSCURRENT);
        v.stages.retain(|s| s != AWSCURRENT && s != AWSPREVIOUS);
        if was_current {
            v.stages.push(AWSPREVIOUS.into());
        }
    }
    edited.id = "00000000-hand-4000-8000-000000000001".into();
    edited.stages = vec![AWSCURRENT.into()];
    secret.versions.push(edited);
}

#[tokio::test(start_paused = true)]
async fn a_key_that_left_awscurrent_before_the_write_is_not_written() {
    let (fake, rotator, old_id) = fixture(PreviousKeyAction::Keep);
    let token = start_and_run_until(&fake, &rotator, SECRET, Step::FinishSecret).await;
    // DescribeSecret: the step's own, the JSON mirror's, then the check before the first write,
    // just before which a person puts the old value back. The pass starts over with it: the
    // mirrors hold it already, so nothing is written.
    fake.before_call("DescribeSecret", 2, put_previous_back);
    fake.clear_calls();
    let err = step(&rotator, Step::FinishSecret, SECRET, &token)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Transient.MirrorNotWritten");
    assert!(err.to_string().contains("AWSCURRENT moved"), "{err}");
    assert_eq!(
        key_in(&fake, SECRET, AWSCURRENT).as_deref(),
        Some(old_id.as_str())
    );
    assert_eq!(key_of(&secret_mirror_value(&fake, JSON_MIRROR)), old_id);
    assert_eq!(parameter_key(&fake), old_id);
    let calls = fake.calls();
    assert!(
        !calls.contains(&"PutParameter") && !calls.contains(&"PutSecretValue"),
        "{calls:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_write_that_lands_after_awscurrent_moved_is_overwritten_and_no_key_is_acted_on() {
    let (fake, rotator, old_id) = fixture(PreviousKeyAction::Delete);
    let token = start_and_run_until(&fake, &rotator, SECRET, Step::FinishSecret).await;
    // The new key reaches the JSON mirror; the old value is put back just as the parameter's
    // write (already checked) lands. The check after the last write sees the move, and the pass
    // writes the key AWSCURRENT holds now to both. The old key, current again, is not deleted.
    fake.before_call("PutParameter", 0, put_previous_back);
    let err = step(&rotator, Step::FinishSecret, SECRET, &token)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Transient.MirrorNotWritten");
    assert_eq!(
        key_in(&fake, SECRET, AWSCURRENT).as_deref(),
        Some(old_id.as_str())
    );
    assert_eq!(key_of(&secret_mirror_value(&fake, JSON_MIRROR)), old_id);
    assert_eq!(parameter_key(&fake), old_id);
    assert!(fake.user(USER).keys.iter().any(|k| k.id == old_id));
}

#[tokio::test(start_paused = true)]
async fn a_user_that_is_not_bound_names_no_mirror_and_nothing_is_reported() {
    // Whoever writes a value naming a user (here: the binding moved to another secret) must not
    // get the function to write, or report on, that user's mirrors.
    let (fake, rotator, old_id) = fixture(PreviousKeyAction::Keep);
    let token = start_and_run_until(&fake, &rotator, SECRET, Step::FinishSecret).await;
    fake.tag_user(
        USER,
        iam_key_rotator::binding::BINDING_TAG,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf",
    );
    step(&rotator, Step::FinishSecret, SECRET, &token)
        .await
        .unwrap();
    assert_eq!(key_of(&secret_mirror_value(&fake, JSON_MIRROR)), old_id);
    assert_eq!(parameter_key(&fake), old_id);
    let mirror_events = fake
        .events()
        .into_iter()
        .filter(|e| e.detail_type.starts_with("Mirror"));
    assert_eq!(mirror_events.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_parameter_under_another_kms_key_is_refused() {
    let (fake, rotator, old_id) = fixture(PreviousKeyAction::Keep);
    // Someone deleted the parameter and made it again, under SSM's own key, with the same tags.
    let text = fake.parameter(PARAMETER).value;
    let tags = fake.parameter(PARAMETER).tags;
    fake.delete_parameter(PARAMETER);
    fake.put_parameter_by_hand(PARAMETER, "SecureString", None, &text);
    for (k, v) in tags {
        fake.tag_parameter_by_hand(PARAMETER, &k, Some(&v));
    }
    let err = rotate(&fake, &rotator, SECRET).await.unwrap_err();
    assert_eq!(err.error_type(), "Transient.MirrorNotWritten");
    assert!(err.to_string().contains("KMS key"), "{err}");
    assert_eq!(parameter_key(&fake), old_id);
    assert_eq!(
        fake.parameter(PARAMETER).key_id.as_deref(),
        Some(DEFAULT_SSM_KEY)
    );
}

#[tokio::test(start_paused = true)]
async fn a_mirror_written_by_hand_is_repaired() {
    let (fake, rotator, _) = fixture(PreviousKeyAction::Keep);
    fake.put_current_value(
        JSON_MIRROR,
        "{\"AccessKeyId\":\"AKIAHANDWRITTEN00000\",\"SecretAccessKey\":\"x\"}",
    );
    rotate(&fake, &rotator, SECRET).await.unwrap();
    let new_id = key_in(&fake, SECRET, AWSCURRENT).unwrap();
    assert_eq!(key_of(&secret_mirror_value(&fake, JSON_MIRROR)), new_id);
    let repaired = events_of(&fake, MIRROR_REPAIRED);
    assert_eq!(repaired.len(), 1);
    assert_eq!(
        repaired[0]["mirrorArn"],
        fake.secret(JSON_MIRROR).arn.as_str()
    );
}

#[tokio::test(start_paused = true)]
async fn create_secret_deletes_a_kept_previous_key_only_once_every_mirror_held_the_current_one() {
    // Under keep the next rotation's createSecret deletes the previous key to make room. A mirror
    // that still holds it (its write failed, the sweep has not come) is written first, and the
    // deletion waits: its consumers had no time to move.
    let (fake, rotator, first_id) = fixture(PreviousKeyAction::Keep);
    fake.fail(
        "PutParameter",
        Fault::Before(error("ssm", "PutParameter", "InternalServerError", 500)),
    );
    rotate(&fake, &rotator, SECRET).await.unwrap_err();
    fake.complete_rotation(SECRET, &fake.version_with(SECRET, AWSCURRENT).unwrap().id);
    assert_eq!(parameter_key(&fake), first_id);
    assert_eq!(
        key_in(&fake, SECRET, AWSPREVIOUS).as_deref(),
        Some(first_id.as_str())
    );
    let token = fake.start_rotation(SECRET).unwrap();
    let err = step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Transient.MirrorNotWritten", "{err}");
    assert!(err.to_string().contains("time to move"), "{err}");
    assert!(fake.user(USER).keys.iter().any(|k| k.id == first_id));
    let second_id = key_in(&fake, SECRET, AWSCURRENT).unwrap();
    assert_eq!(parameter_key(&fake), second_id);
    // The retry finds every mirror holding the current key: the previous key goes.
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap();
    assert!(fake.user(USER).keys.iter().all(|k| k.id != first_id));
}

#[tokio::test(start_paused = true)]
async fn a_key_the_user_does_not_have_is_copied_nowhere() {
    // AWSCURRENT must hold a key of the user whose tags name the mirrors: here the new key is
    // deleted by hand between testSecret and finishSecret.
    let (fake, rotator, old_id) = fixture(PreviousKeyAction::Keep);
    let token = start_and_run_until(&fake, &rotator, SECRET, Step::FinishSecret).await;
    let pending = fake.version(SECRET, &token).value.unwrap();
    fake.remove_key(USER, &key_of(&pending));
    let err = step(&rotator, Step::FinishSecret, SECRET, &token)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Transient.MirrorNotWritten");
    assert!(err.to_string().contains("not a key of the user"), "{err}");
    assert_eq!(key_of(&secret_mirror_value(&fake, JSON_MIRROR)), old_id);
    assert_eq!(parameter_key(&fake), old_id);
}

#[tokio::test(start_paused = true)]
async fn a_target_named_by_a_partial_arn_is_not_written() {
    // `...:secret:app1/prod-mirror` looks like a full ARN (six characters after the last "-"),
    // but it is the name's own: AWS resolves it to whichever secret bears that name now, one made
    // again by someone else included. Only the ARN DescribeSecret gives names one secret.
    let (fake, rotator, old_id) = fixture(PreviousKeyAction::Keep);
    let full = secret_claiming(&fake, "app1/prod-mirror", "access-key-id", &old_id);
    let partial = full.strip_suffix("-AbCdEf").unwrap().to_owned();
    name_mirror(&fake, 3, &partial);
    let err = rotate(&fake, &rotator, SECRET).await.unwrap_err();
    assert_eq!(err.error_type(), "Transient.MirrorNotWritten");
    assert!(err.to_string().contains("full ARN"), "{err}");
    assert_eq!(secret_mirror_value(&fake, "app1/prod-mirror"), old_id);
}
