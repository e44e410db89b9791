//! §17, cross-account rotation over the fake: the secret and the function in the central
//! account, the user in the member account its value names in AccountId, every IAM call made as
//! the member role. A member administrator's binding decides, as in one account; a role that
//! cannot be assumed refuses with the account and the role named, and nothing changes.

mod support;

use std::time::Duration;

use iam_key_rotator::aws::{KeyStatus, AWSCURRENT, AWSPREVIOUS};
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::event::Step;
use iam_key_rotator::member_role::MemberRole;
use iam_key_rotator::{Config, Rotator};

use support::fake::{FakeAws, MemberRoleSetup, ACCOUNT, FUNCTION_ARN};
use support::*;

const MEMBER_A: &str = "111111111111";
const MEMBER_B: &str = "222222222222";
const ROLE: &str = "iam-key-rotator-member";
const EXTERNAL_ID: &str = "org-rotation-7f3a";

fn member_config(action: PreviousKeyAction) -> Config {
    Config {
        member_role: Some(MemberRole {
            name: ROLE.into(),
            path: "/".into(),
            external_id: EXTERNAL_ID.into(),
        }),
        ..config(action)
    }
}

fn deployed_role() -> MemberRoleSetup {
    MemberRoleSetup {
        name: ROLE.into(),
        path: "/".into(),
        external_id: EXTERNAL_ID.into(),
        trusts_function: true,
    }
}

fn member_value(account: &str, user: &str, key_id: &str, secret: &str) -> String {
    serde_json::json!({"UserName": user, "AccountId": account, "AccessKeyId": key_id, "SecretAccessKey": secret})
        .to_string()
}

/// The fake with member account A (its role deployed) and the function configured for it.
fn with_member_a(action: PreviousKeyAction) -> (FakeAws, Rotator) {
    let fake = FakeAws::new();
    let rotator = fake.rotator(member_config(action));
    fake.add_member(MEMBER_A, Some(deployed_role()));
    (fake, rotator)
}

/// `step` of the rotation `token` of SECRET must fail with `error_type`, changing nothing.
async fn refused(
    fake: &FakeAws,
    rotator: &Rotator,
    step: Step,
    token: &str,
    error_type: &str,
) -> String {
    let err = assert_refused(fake, rotator, step, SECRET, token, error_type).await;
    err.to_string()
}

/// The user USER in `account` with one key, a secret `name` of the central account holding it
/// with AccountId, and the member administrator's binding. Returns the key id.
fn member_secret(fake: &FakeAws, account: &str, name: &str) -> String {
    fake.add_user_in(account, USER, "/svc/");
    let (id, secret) = fake.add_key_in(account, USER);
    fake.create_secret(name, &member_value(account, USER, &id, &secret), true);
    fake.bind_in(account, USER, name);
    id
}

#[tokio::test(start_paused = true)]
async fn users_in_two_member_accounts_are_rotated_each_in_its_own_account() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(member_config(PreviousKeyAction::Deactivate));
    fake.add_member(MEMBER_A, Some(deployed_role()));
    fake.add_member(MEMBER_B, Some(deployed_role()));
    // A user of the same name in the central account, with a key: never touched.
    fake.add_user(USER, "/svc/");
    fake.add_key(USER);
    let home_before = fake.user(USER);
    let key_a = member_secret(&fake, MEMBER_A, "team-a/ci");
    let key_b = member_secret(&fake, MEMBER_B, "team-b/ci");

    for (account, secret, old) in [
        (MEMBER_A, "team-a/ci", &key_a),
        (MEMBER_B, "team-b/ci", &key_b),
    ] {
        rotate(&fake, &rotator, secret).await.unwrap();
        check_invariants_in(&fake, &rotator, account, secret, USER, Some(old), &[]).await;
        // check_invariants_in proved the key answers as the member account's user.
        let value = fake
            .version_with(secret, AWSCURRENT)
            .unwrap()
            .value
            .unwrap();
        let value = parsed(&value);
        assert_eq!(
            value.account_id(),
            Some(account),
            "the value keeps AccountId"
        );
    }
    assert_eq!(
        fake.user(USER),
        home_before,
        "the central account's namesake is untouched"
    );
    assert_eq!(fake.user_in(MEMBER_A, USER).keys.len(), 2);
    assert!(fake.calls().contains(&"AssumeRole"));
}

/// A value naming the secret's own account is the central user, reached without a role.
#[tokio::test(start_paused = true)]
async fn account_id_of_the_secrets_own_account_needs_no_role() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Delete));
    fake.add_user(USER, "/svc/");
    let (id, secret) = fake.add_key(USER);
    fake.create_secret(SECRET, &member_value(ACCOUNT, USER, &id, &secret), true);
    fake.bind(USER, SECRET);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    check_invariants(&fake, &rotator, SECRET, USER, Some(&id), &[]).await;
    assert!(!fake.calls().contains(&"AssumeRole"));
}

/// Each way into a member account that fails: the role not deployed, a trust policy that does
/// not trust the function, another external id, and no member role configured at all.
#[tokio::test(start_paused = true)]
async fn each_refusal_to_enter_names_the_account_and_the_role_and_changes_nothing() {
    let distrusting = MemberRoleSetup {
        trusts_function: false,
        ..deployed_role()
    };
    let other_id = MemberRoleSetup {
        external_id: "someone-else".into(),
        ..deployed_role()
    };
    let cases: [(&str, Option<MemberRoleSetup>, Config, &str); 4] = [
        (
            "no role",
            None,
            member_config(PreviousKeyAction::Delete),
            "MemberRoleRefused",
        ),
        (
            "no trust",
            Some(distrusting),
            member_config(PreviousKeyAction::Delete),
            "MemberRoleRefused",
        ),
        (
            "other external id",
            Some(other_id),
            member_config(PreviousKeyAction::Delete),
            "MemberRoleRefused",
        ),
        (
            "not configured",
            Some(deployed_role()),
            config(PreviousKeyAction::Delete),
            "CrossAccountNotConfigured",
        ),
    ];
    for (case, role, config, problem) in cases {
        let fake = FakeAws::new();
        let rotator = fake.rotator(config);
        fake.add_member(MEMBER_A, role);
        member_secret(&fake, MEMBER_A, SECRET);
        let token = fake.start_rotation(SECRET).unwrap();
        let error_type = format!("Permanent.{problem}");
        let message = refused(&fake, &rotator, Step::CreateSecret, &token, &error_type).await;
        assert!(message.contains(MEMBER_A), "{case}: {message}");
        if problem == "MemberRoleRefused" {
            let role_arn = format!("arn:aws:iam::{MEMBER_A}:role/{ROLE}");
            assert!(message.contains(&role_arn), "{case}: {message}");
            assert!(
                !message.contains(EXTERNAL_ID),
                "{case}: the external id is not shown"
            );
        }
        assert!(!fake.calls().contains(&"CreateAccessKey"), "{case}");
    }
}

/// The member administrator decides: a member user bound to another secret, or to none, is
/// refused, however the central secret names it.
#[tokio::test(start_paused = true)]
async fn a_member_user_not_bound_to_this_secret_is_refused() {
    for bind_to in [None, Some("team-a/other")] {
        let (fake, rotator) = with_member_a(PreviousKeyAction::Delete);
        fake.add_user_in(MEMBER_A, USER, "/svc/");
        let (id, secret) = fake.add_key_in(MEMBER_A, USER);
        fake.create_secret(SECRET, &member_value(MEMBER_A, USER, &id, &secret), true);
        if let Some(other) = bind_to {
            fake.create_secret(other, r#"{"UserName": "x"}"#, false);
            fake.bind_in(MEMBER_A, USER, other);
        }
        let token = fake.start_rotation(SECRET).unwrap();
        let message = refused(
            &fake,
            &rotator,
            Step::CreateSecret,
            &token,
            "Permanent.UserNotBound",
        )
        .await;
        assert!(message.contains(MEMBER_A), "{message}");
        // The command works as written, and says who runs it.
        let command = format!("aws iam tag-user --user-name {USER} --tags");
        assert!(message.contains(&command), "{message}");
        assert!(
            message.contains(&format!("administrator of account {MEMBER_A}")),
            "{message}"
        );
    }
}

/// MEMBER_ROLE_PATH is part of the role's ARN: the role at another path is not the one asked for.
#[tokio::test(start_paused = true)]
async fn the_member_role_is_assumed_at_its_path() {
    for (deployed_at, works) in [("/security/", true), ("/", false)] {
        let fake = FakeAws::new();
        let mut config = member_config(PreviousKeyAction::Delete);
        config.member_role.as_mut().unwrap().path = "/security/".into();
        let rotator = fake.rotator(config);
        let role = MemberRoleSetup {
            path: deployed_at.into(),
            ..deployed_role()
        };
        fake.add_member(MEMBER_A, Some(role));
        member_secret(&fake, MEMBER_A, SECRET);
        let rotated = rotate(&fake, &rotator, SECRET).await;
        assert_eq!(rotated.is_ok(), works, "role at {deployed_at}: {rotated:?}");
        if let Err(e) = rotated {
            let arn = format!("arn:aws:iam::{MEMBER_A}:role/security/{ROLE}");
            assert!(e.to_string().contains(&arn), "{e}");
        }
    }
}

/// A hand edit that moves AWSPENDING to another account mid-rotation is another user.
#[tokio::test(start_paused = true)]
async fn a_pending_value_naming_another_account_is_another_user() {
    let (fake, rotator) = with_member_a(PreviousKeyAction::Delete);
    fake.add_member(MEMBER_B, Some(deployed_role()));
    member_secret(&fake, MEMBER_A, SECRET);
    fake.add_user_in(MEMBER_B, USER, "/svc/");
    fake.bind_in(MEMBER_B, USER, SECRET);
    let token = start_and_run_until(&fake, &rotator, SECRET, Step::SetSecret).await;
    let pending = fake.version(SECRET, &token).value.unwrap();
    let moved = pending.replace(MEMBER_A, MEMBER_B);
    fake.set_value(SECRET, &token, Some(&moved));
    refused(
        &fake,
        &rotator,
        Step::SetSecret,
        &token,
        "Permanent.UserMismatch",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn an_account_id_that_is_not_12_digits_is_refused() {
    let ids = [
        r#""11111111111""#,
        r#""1111111111112""#,
        r#""11111111111a""#,
        r#""111111111111", "accountId": "222222222222""#,
        "111111111111",
        "null",
        r#""""#,
    ];
    for id in ids {
        let (fake, rotator) = with_member_a(PreviousKeyAction::Delete);
        fake.add_user_in(MEMBER_A, USER, "/svc/");
        let raw = format!(r#"{{"UserName": "{USER}", "AccountId": {id}}}"#);
        fake.create_secret(SECRET, &raw, true);
        fake.bind_in(MEMBER_A, USER, SECRET);
        let token = fake.start_rotation(SECRET).unwrap();
        let message = refused(
            &fake,
            &rotator,
            Step::CreateSecret,
            &token,
            "Permanent.InvalidSecretValue",
        )
        .await;
        assert!(message.contains("AccountId"), "{id}: {message}");
    }
}

/// testSecret expects the member account's user: a key answering as another identity (the
/// central namesake) fails the test.
#[tokio::test(start_paused = true)]
async fn the_new_key_must_answer_as_the_member_accounts_user() {
    let (fake, rotator) = with_member_a(PreviousKeyAction::Delete);
    member_secret(&fake, MEMBER_A, SECRET);
    fake.answer_identity_as(&format!("arn:aws:iam::{ACCOUNT}:user/svc/{USER}"));
    let token = start_and_run_until(&fake, &rotator, SECRET, Step::TestSecret).await;
    let err = step(&rotator, Step::TestSecret, SECRET, &token)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Permanent.IdentityMismatch", "{err}");
    assert!(err
        .to_string()
        .contains(&format!("arn:aws:iam::{MEMBER_A}:user/svc/{USER}")));
}

/// The sweep retires a member account's previous key through the role, and its event names the
/// account.
#[tokio::test(start_paused = true)]
async fn the_sweep_retires_a_member_accounts_previous_key() {
    let (fake, rotator) = with_member_a(PreviousKeyAction::Retire);
    let first = member_secret(&fake, MEMBER_A, SECRET);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    assert_eq!(key_in(&fake, SECRET, AWSPREVIOUS).as_deref(), Some(&*first));
    fake.advance(Duration::from_secs(25 * 3_600));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    let report = rotator.sweep(FUNCTION_ARN, deadline).await.unwrap();
    assert_eq!(report.deactivated, 1, "{report:?}");
    let keys = fake.user_in(MEMBER_A, USER).keys;
    let status = keys.iter().find(|k| k.id == first).map(|k| k.status);
    assert_eq!(status, Some(KeyStatus::Inactive));
    let event = fake.events().into_iter().last().unwrap();
    assert_eq!(event.detail["accountId"], MEMBER_A);
    assert_eq!(event.detail["accessKeyId"], first.as_str());
}

/// A role the sweep cannot assume is one failed secret, not the end of the sweep.
#[tokio::test(start_paused = true)]
async fn a_member_account_the_sweep_cannot_enter_is_one_failure() {
    let (fake, rotator) = with_member_a(PreviousKeyAction::Retire);
    fake.add_member(MEMBER_B, Some(deployed_role()));
    let first_a = member_secret(&fake, MEMBER_A, "team-a/ci");
    member_secret(&fake, MEMBER_B, "team-b/ci");
    rotate(&fake, &rotator, "team-a/ci").await.unwrap();
    rotate(&fake, &rotator, "team-b/ci").await.unwrap();
    fake.add_member(MEMBER_B, None); // the StackSet instance removed since
    fake.advance(Duration::from_secs(25 * 3_600));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    let report = rotator.sweep(FUNCTION_ARN, deadline).await.unwrap();
    assert_eq!((report.deactivated, report.failed), (1, 1), "{report:?}");
    let keys = fake.user_in(MEMBER_A, USER).keys;
    assert!(keys
        .iter()
        .any(|k| k.id == first_a && k.status == KeyStatus::Inactive));
}

fn config_from(vars: &[(&str, &str)]) -> Result<Config, String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        .map_err(|e| e.to_string())
}

#[test]
fn the_member_role_is_configured_whole_or_not_at_all() {
    assert_eq!(config_from(&[]).unwrap().member_role, None);
    let c = config_from(&[
        ("MEMBER_ROLE_NAME", ROLE),
        ("MEMBER_ROLE_PATH", "/security/"),
        ("MEMBER_ROLE_EXTERNAL_ID", EXTERNAL_ID),
    ])
    .unwrap();
    let role = c.member_role.unwrap();
    assert_eq!(
        role.arn("aws", MEMBER_A),
        format!("arn:aws:iam::{MEMBER_A}:role/security/{ROLE}")
    );
    assert_eq!(role.external_id, EXTERNAL_ID);
    type Vars<'a> = &'a [(&'a str, &'a str)];
    let bad: [(Vars, &str, &str); 5] = [
        (
            &[("MEMBER_ROLE_NAME", ROLE)],
            "MEMBER_ROLE_EXTERNAL_ID",
            "required with MEMBER_ROLE_NAME",
        ),
        (
            &[("MEMBER_ROLE_EXTERNAL_ID", EXTERNAL_ID)],
            "MEMBER_ROLE_EXTERNAL_ID",
            "set MEMBER_ROLE_NAME too",
        ),
        (
            &[
                ("MEMBER_ROLE_NAME", "a/b"),
                ("MEMBER_ROLE_EXTERNAL_ID", EXTERNAL_ID),
            ],
            "MEMBER_ROLE_NAME",
            "1 to 64",
        ),
        (
            &[
                ("MEMBER_ROLE_NAME", ROLE),
                ("MEMBER_ROLE_PATH", "security"),
                ("MEMBER_ROLE_EXTERNAL_ID", EXTERNAL_ID),
            ],
            "MEMBER_ROLE_PATH",
            "/name/",
        ),
        (
            &[
                ("MEMBER_ROLE_NAME", ROLE),
                ("MEMBER_ROLE_EXTERNAL_ID", "x y"),
            ],
            "MEMBER_ROLE_EXTERNAL_ID",
            "2 to 1224",
        ),
    ];
    for (vars, variable, allowed) in bad {
        let err = config_from(vars).unwrap_err();
        assert!(err.contains(variable) && err.contains(allowed), "{err}");
        assert!(
            !err.contains(EXTERNAL_ID),
            "the external id is not shown: {err}"
        );
    }
}

/// Under retire, a second rotation while the member's previous key is in use is refused; the
/// command to deactivate it works as written and says in which account it runs.
#[tokio::test(start_paused = true)]
async fn a_previous_key_in_use_names_its_account_and_a_working_command() {
    let (fake, rotator) = with_member_a(PreviousKeyAction::Retire);
    let first = member_secret(&fake, MEMBER_A, SECRET);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    fake.use_key(USER, &first);
    let token = fake.start_rotation(SECRET).unwrap();
    let message = refused(
        &fake,
        &rotator,
        Step::CreateSecret,
        &token,
        "Transient.PreviousKeyInUse",
    )
    .await;
    let command = format!("in account {MEMBER_A}: aws iam update-access-key --user-name {USER} --access-key-id {first}");
    assert!(message.contains(&command), "{message}");
}
