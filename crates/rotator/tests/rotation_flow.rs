//! Whole rotations against the in-memory fake: the invariants of §10.1-4 after each one.

mod support;

use iam_key_rotator::aws::{KeyStatus, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::event::Step;

use support::fake::FakeAws;
use support::*;

async fn three_rotations(action: PreviousKeyAction) {
    let fake = FakeAws::new();
    let logs = LogCapture::start();
    let rotator = fake.rotator(config(action));
    let (mut old_key, _) = setup(&fake);
    for round in 0..3 {
        rotate(&fake, &rotator, SECRET)
            .await
            .unwrap_or_else(|e| panic!("rotation {round} under {action}: {e}"));
        check_invariants(&fake, &rotator, SECRET, USER, Some(&old_key), &[]).await;
        old_key = key_in(&fake, SECRET, AWSCURRENT).unwrap();
    }
    logs.assert_no_secret(&fake, "");
}

#[tokio::test(start_paused = true)]
async fn three_rotations_keep() {
    three_rotations(PreviousKeyAction::Keep).await;
}

#[tokio::test(start_paused = true)]
async fn three_rotations_deactivate() {
    three_rotations(PreviousKeyAction::Deactivate).await;
}

#[tokio::test(start_paused = true)]
async fn three_rotations_delete() {
    three_rotations(PreviousKeyAction::Delete).await;
}

/// §10.4: every step, run again and again after it succeeded, changes nothing more.
#[tokio::test(start_paused = true)]
async fn every_step_repeated_changes_nothing_more() {
    for action in [
        PreviousKeyAction::Keep,
        PreviousKeyAction::Deactivate,
        PreviousKeyAction::Delete,
    ] {
        let fake = FakeAws::new();
        let rotator = fake.rotator(config(action));
        let (old_key, _) = setup(&fake);
        rotate(&fake, &rotator, SECRET).await.unwrap();
        let token = fake.start_rotation(SECRET).unwrap();
        for s in Step::ALL {
            step(&rotator, s, SECRET, &token).await.unwrap();
            let after_first = fake.world();
            for _ in 0..3 {
                step(&rotator, s, SECRET, &token).await.unwrap();
                assert_eq!(
                    fake.world(),
                    after_first,
                    "{s} repeated under {action} changed something"
                );
            }
        }
        fake.complete_rotation(SECRET, &token);
        let previous = key_in(&fake, SECRET, AWSPREVIOUS);
        check_invariants(&fake, &rotator, SECRET, USER, previous.as_deref(), &[]).await;
        assert!(
            fake.user(USER).keys.iter().all(|k| k.id != old_key),
            "the first key is gone"
        );
    }
}

/// Secrets Manager's whole-rotation retry after a rotation that got all the way through.
#[tokio::test(start_paused = true)]
async fn whole_rotation_retried_after_success_changes_nothing() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Deactivate));
    let (old_key, _) = setup(&fake);
    let token = fake.start_rotation(SECRET).unwrap();
    for s in Step::ALL {
        step(&rotator, s, SECRET, &token).await.unwrap();
    }
    let done = fake.world();
    for s in Step::ALL {
        step(&rotator, s, SECRET, &token).await.unwrap();
    }
    assert_eq!(fake.world(), done);
    fake.complete_rotation(SECRET, &token);
    check_invariants(&fake, &rotator, SECRET, USER, Some(&old_key), &[]).await;
}

#[tokio::test(start_paused = true)]
async fn bootstrap_user_without_keys() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Keep));
    fake.add_user(USER, "/");
    fake.create_secret(SECRET, &format!(r#"{{"UserName":"{USER}"}}"#), true);
    fake.bind(USER, SECRET);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    check_invariants(&fake, &rotator, SECRET, USER, None, &[]).await;
    assert_eq!(fake.user(USER).keys.len(), 1);
    // The next rotations are ordinary ones.
    let first = key_in(&fake, SECRET, AWSCURRENT).unwrap();
    rotate(&fake, &rotator, SECRET).await.unwrap();
    check_invariants(&fake, &rotator, SECRET, USER, Some(&first), &[]).await;
}

#[tokio::test(start_paused = true)]
async fn bootstrap_user_with_a_key_leaves_that_key_alone() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Delete));
    fake.add_user(USER, "/");
    let (existing, _) = fake.add_key(USER);
    fake.create_secret(SECRET, &format!(r#"{{"UserName":"{USER}"}}"#), true);
    fake.bind(USER, SECRET);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    check_invariants(
        &fake,
        &rotator,
        SECRET,
        USER,
        None,
        std::slice::from_ref(&existing),
    )
    .await;
    // The key the user had is not ours: the next rotation has no room, says so, and changes nothing.
    let before = fake.world();
    let token = fake.start_rotation(SECRET).unwrap();
    let placeholder = fake.world();
    let err = step(&rotator, Step::CreateSecret, SECRET, &token)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Permanent.NoFreeKeySlot");
    assert!(err.to_string().contains(&existing), "{err}");
    assert_eq!(fake.world(), placeholder);
    assert_eq!(fake.user(USER), before.users[USER]);
}

#[tokio::test(start_paused = true)]
async fn credentials_file_naming_and_extra_fields_are_kept() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Keep));
    fake.add_user(USER, "/");
    let (id, secret) = fake.add_key(USER);
    let value = serde_json::json!({
        "UserName": USER,
        "aws_access_key_id": id,
        "aws_secret_access_key": secret,
        "region": "eu-west-1",
        "Status": "Active",
        "CreateDate": "2020-01-01T00:00:00Z",
        "owner": {"team": "ci"},
    });
    fake.create_secret(SECRET, &value.to_string(), true);
    fake.bind(USER, SECRET);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    check_invariants(&fake, &rotator, SECRET, USER, Some(&id), &[]).await;

    let raw = fake
        .version_with(SECRET, AWSCURRENT)
        .unwrap()
        .value
        .unwrap();
    let new: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let new_id = new["aws_access_key_id"].as_str().unwrap();
    assert_ne!(new_id, id);
    assert!(new.get("AccessKeyId").is_none(), "no second naming added");
    assert_eq!(new["region"], "eu-west-1");
    assert_eq!(new["owner"], serde_json::json!({"team": "ci"}));
    assert_eq!(new["Status"], "Active");
    assert_ne!(
        new["CreateDate"], "2020-01-01T00:00:00Z",
        "CreateDate refreshed"
    );
    let key = fake
        .user(USER)
        .keys
        .into_iter()
        .find(|k| k.id == new_id)
        .unwrap();
    assert_eq!(new["aws_secret_access_key"].as_str().unwrap(), key.secret);
    let keys: Vec<&str> = new
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "UserName",
            "aws_access_key_id",
            "aws_secret_access_key",
            "region",
            "Status",
            "CreateDate",
            "owner"
        ],
        "field order kept"
    );
}

#[tokio::test(start_paused = true)]
async fn both_namings_are_both_written() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Keep));
    fake.add_user(USER, "/");
    let (id, secret) = fake.add_key(USER);
    let value = serde_json::json!({
        "UserName": USER, "AccessKeyId": id, "SecretAccessKey": secret,
        "aws_access_key_id": id, "aws_secret_access_key": secret,
    });
    fake.create_secret(SECRET, &value.to_string(), true);
    fake.bind(USER, SECRET);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    let raw = fake
        .version_with(SECRET, AWSCURRENT)
        .unwrap()
        .value
        .unwrap();
    let new: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_ne!(new["AccessKeyId"], id.as_str());
    assert_eq!(new["AccessKeyId"], new["aws_access_key_id"]);
    assert_eq!(new["SecretAccessKey"], new["aws_secret_access_key"]);
}

#[tokio::test(start_paused = true)]
async fn user_name_from_template_when_the_value_has_none() {
    let fake = FakeAws::new();
    let mut cfg = config(PreviousKeyAction::Keep);
    cfg.user_name_template =
        Some(iam_key_rotator::user_name::UserNameTemplate::parse("{1}-{2}").unwrap());
    let rotator = fake.rotator(cfg);
    fake.add_user("app1-production", "/");
    let (id, secret) = fake.add_key("app1-production");
    let value = serde_json::json!({"AccessKeyId": id, "SecretAccessKey": secret});
    fake.create_secret("app1/production/deploy-key", &value.to_string(), true);
    fake.bind("app1-production", "app1/production/deploy-key");
    rotate(&fake, &rotator, "app1/production/deploy-key")
        .await
        .unwrap();
    check_invariants(
        &fake,
        &rotator,
        "app1/production/deploy-key",
        "app1-production",
        Some(&id),
        &[],
    )
    .await;
    let raw = fake
        .version_with("app1/production/deploy-key", AWSCURRENT)
        .unwrap()
        .value
        .unwrap();
    assert!(!raw.contains("UserName"), "the value keeps its shape");
}

/// §3: RotateImmediately=false runs testSecret alone, on a pending version without a value.
#[tokio::test(start_paused = true)]
async fn test_only_rotation_changes_no_key() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Delete));
    setup(&fake);
    let before = fake.world();
    let token = fake.start_rotation(SECRET).unwrap();
    fake.clear_calls();
    step(&rotator, Step::TestSecret, SECRET, &token)
        .await
        .unwrap();
    assert!(
        fake.calls().contains(&"GetCallerIdentity"),
        "the current key was tried"
    );
    assert_eq!(fake.world().users, before.users);
    assert!(fake.version(SECRET, &token).value.is_none());
    assert_eq!(fake.version(SECRET, &token).stages, [AWSPENDING]);
}

#[tokio::test(start_paused = true)]
async fn keep_gives_the_old_key_a_grace_period_until_the_next_rotation() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Keep));
    let (first, _) = setup(&fake);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    let user = fake.user(USER);
    assert_eq!(user.keys.len(), 2);
    assert!(user.keys.iter().all(|k| k.status == KeyStatus::Active));
    rotate(&fake, &rotator, SECRET).await.unwrap();
    assert!(
        fake.user(USER).keys.iter().all(|k| k.id != first),
        "deleted by the next createSecret"
    );
}
