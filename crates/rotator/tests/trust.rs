//! §15, the trust model: keys are made, deleted or deactivated only for an IAM user bound to the
//! very secret being rotated. The refusals themselves are in the bad-input catalogue
//! (`bad_inputs.rs`); here, what a binding allows and what needs none.

mod support;

use iam_key_rotator::binding::BINDING_TAG;
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::event::Step;

use support::fake::FakeAws;
use support::*;

/// A user with a key and a secret holding it, the user not bound to it; a rotation started.
fn unbound(fake: &FakeAws) -> String {
    fake.add_user(USER, "/svc/");
    let (id, secret) = fake.add_key(USER);
    fake.create_secret(SECRET, &value_json(USER, &id, &secret), true);
    fake.start_rotation(SECRET).unwrap()
}

/// IAM keeps user tag keys without regard to case: a binding written in another case binds.
#[tokio::test(start_paused = true)]
async fn a_binding_tag_in_another_case_binds() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Delete));
    let (old_key, _) = setup(&fake);
    let arn = fake.secret(SECRET).arn;
    fake.tag_user(USER, &BINDING_TAG.to_uppercase(), &arn);
    assert_eq!(fake.user(USER).tags.len(), 1, "one tag, as IAM keeps it");
    rotate(&fake, &rotator, SECRET).await.unwrap();
    check_invariants(&fake, &rotator, SECRET, USER, Some(&old_key), &[]).await;
}

/// A test-only rotation (RotateImmediately=false) creates nothing, so it needs no binding: an
/// operator can check a secret before an administrator binds its user.
#[tokio::test(start_paused = true)]
async fn a_test_only_rotation_needs_no_binding() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Delete));
    let token = unbound(&fake);
    let before = fake.user(USER);
    step(&rotator, Step::TestSecret, SECRET, &token)
        .await
        .unwrap();
    assert_eq!(fake.user(USER), before);
}

/// The binding is read before any key call: a refused createSecret lists no key, let alone
/// creates one, and finishSecret refuses before it moves a label.
#[tokio::test(start_paused = true)]
async fn an_unbound_user_is_refused_before_any_key_call() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Delete));
    let token = unbound(&fake);
    fake.clear_calls();
    step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .expect_err("unbound");
    assert_eq!(
        fake.calls(),
        [
            "DescribeSecret",
            "GetSecretValue",
            "ListSecretVersionIds",
            "GetSecretValue",
            "GetUser"
        ]
    );

    fake.bind(USER, SECRET);
    for s in [Step::CreateSecret, Step::SetSecret, Step::TestSecret] {
        step(&rotator, s, SECRET, &token).await.unwrap();
    }
    fake.tag_user(
        USER,
        BINDING_TAG,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
    );
    fake.clear_calls();
    let err = step(&rotator, Step::FinishSecret, SECRET, &token)
        .await
        .expect_err("unbound since");
    assert_eq!(err.error_type(), "Permanent.UserNotBound");
    assert!(
        err.to_string().contains("secret:x"),
        "names the other secret: {err}"
    );
    assert!(!fake.calls().contains(&"UpdateSecretVersionStage"));
}

/// The refusal says who decides and gives the exact command, with this secret's full ARN.
#[tokio::test(start_paused = true)]
async fn the_refusal_gives_the_command_that_binds() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Keep));
    fake.add_user(USER, "/svc/");
    fake.create_secret(SECRET, &format!(r#"{{"UserName":"{USER}"}}"#), true);
    let token = fake.start_rotation(SECRET).unwrap();
    let err = assert_refused(
        &fake,
        &rotator,
        Step::CreateSecret,
        SECRET,
        &token,
        "Permanent.UserNotBound",
    )
    .await;
    let command = format!(
        "aws iam tag-user --user-name {USER} --tags Key={BINDING_TAG},Value={}",
        fake.secret(SECRET).arn
    );
    assert!(err.to_string().contains(&command), "{err}");
}
