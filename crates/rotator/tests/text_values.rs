//! A source secret that holds a credentials-file or dotenv text instead of JSON (issue 23): it is
//! rotated in its own format, every other line kept, the user being the one USER_NAME_TEMPLATE
//! names or else its key's owner as IAM reports it, bound as for JSON (§15).

mod support;

use iam_key_rotator::aws::{AWSCURRENT, AWSPREVIOUS};
use iam_key_rotator::config::{Config, PreviousKeyAction};
use iam_key_rotator::event::Step;
use iam_key_rotator::user_name::UserNameTemplate;

use support::fake::FakeAws;
use support::*;

fn credentials_text(id: &str, secret: &str) -> String {
    format!("# written by the deploy job\n[tools]\nregion = eu-west-1\n\n[ci]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\nregion = us-east-1\n")
}

fn dotenv_text(id: &str, secret: &str) -> String {
    format!("LOG_LEVEL=info\nexport AWS_ACCESS_KEY_ID=\"{id}\"\nAWS_SECRET_ACCESS_KEY={secret}\n")
}

fn current_text(fake: &FakeAws) -> String {
    fake.version_with(SECRET, AWSCURRENT)
        .unwrap()
        .value
        .unwrap()
}

/// createSecret of a new rotation of SECRET, which must be refused with `error_type` (changing
/// nothing).
async fn create_refused(
    fake: &FakeAws,
    rotator: &iam_key_rotator::Rotator,
    error_type: &str,
) -> String {
    let token = fake.start_rotation(SECRET).unwrap();
    let err = assert_refused(
        fake,
        rotator,
        Step::CreateSecret,
        SECRET,
        &token,
        error_type,
    )
    .await;
    err.to_string()
}

async fn rotates_in_its_own_format(text: fn(&str, &str) -> String) {
    let fake = FakeAws::new();
    let logs = LogCapture::start();
    let rotator = fake.rotator(config(PreviousKeyAction::Keep));
    fake.add_user(USER, "/svc/");
    let (old_id, old_secret) = fake.add_key(USER);
    fake.create_secret(SECRET, &text(&old_id, &old_secret), true);
    fake.bind(USER, SECRET);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    check_invariants(&fake, &rotator, SECRET, USER, Some(&old_id), &[]).await;
    let new_id = key_in(&fake, SECRET, AWSCURRENT).unwrap();
    let new_secret = fake
        .user(USER)
        .keys
        .iter()
        .find(|k| k.id == new_id)
        .unwrap()
        .secret
        .clone();
    assert_eq!(
        current_text(&fake),
        text(&new_id, &new_secret),
        "every other line kept"
    );
    assert_eq!(
        key_in(&fake, SECRET, AWSPREVIOUS).as_deref(),
        Some(old_id.as_str())
    );
    logs.assert_no_secret(&fake, "");
}

#[tokio::test(start_paused = true)]
async fn a_credentials_file_is_rotated_as_a_credentials_file() {
    rotates_in_its_own_format(credentials_text).await;
}

#[tokio::test(start_paused = true)]
async fn a_dotenv_text_is_rotated_as_a_dotenv_text() {
    rotates_in_its_own_format(dotenv_text).await;
}

#[tokio::test(start_paused = true)]
async fn the_key_s_owner_must_be_bound_to_the_secret() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Keep));
    fake.add_user(USER, "/svc/");
    let (id, secret) = fake.add_key(USER);
    fake.create_secret(SECRET, &credentials_text(&id, &secret), true);
    // Someone who may write the secret put another user's key in it: its owner is not bound.
    let err = create_refused(&fake, &rotator, "Permanent.UserNotBound").await;
    assert!(err.contains(USER), "the key's owner is named: {err}");
}

#[tokio::test(start_paused = true)]
async fn the_template_names_the_user_before_the_key_s_owner() {
    let fake = FakeAws::new();
    let template = UserNameTemplate::parse("{1}-{2}").unwrap();
    let config = Config {
        user_name_template: Some(template),
        ..config(PreviousKeyAction::Keep)
    };
    let rotator = fake.rotator(config);
    // The template says app1-production; the text holds ci-deployer's key.
    fake.add_user("app1-production", "/svc/");
    fake.add_user(USER, "/svc/");
    let (id, secret) = fake.add_key(USER);
    fake.create_secret(SECRET, &dotenv_text(&id, &secret), true);
    fake.bind("app1-production", SECRET);
    create_refused(&fake, &rotator, "Permanent.KeyNotOwnedByUser").await;
}

#[tokio::test(start_paused = true)]
async fn a_text_holding_keys_of_two_profiles_is_refused() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Keep));
    fake.add_user(USER, "/svc/");
    let (id, secret) = fake.add_key(USER);
    let (other, other_secret) = fake.add_key(USER);
    let text = format!(
        "{}[second]\naws_access_key_id = {other}\naws_secret_access_key = {other_secret}\n",
        credentials_text(&id, &secret)
    );
    fake.create_secret(SECRET, &text, true);
    fake.bind(USER, SECRET);
    let err = create_refused(&fake, &rotator, "Permanent.InvalidSecretValue").await;
    assert!(err.contains("2 profiles"), "{err}");
}

/// Whoever may write the secret can label a version holding any key: the function asks IAM only
/// about AWSCURRENT's key, never about a labelled version's (IAM would deny it for a user outside
/// UserPath, and createSecret reads every labelled version for its evidence).
#[tokio::test(start_paused = true)]
async fn only_the_current_key_s_owner_is_asked_for() {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Keep));
    fake.add_user("outsider", "/other/");
    let (planted, planted_secret) = fake.add_key("outsider");
    fake.deny_last_used(&planted);
    fake.create_secret(SECRET, &dotenv_text(&planted, &planted_secret), true);
    let planted_version = fake.version_with(SECRET, AWSCURRENT).unwrap().id;
    fake.add_user(USER, "/svc/");
    for _ in 0..2 {
        let (id, secret) = fake.add_key(USER);
        fake.put_current_value(SECRET, &dotenv_text(&id, &secret));
    }
    fake.move_label(SECRET, "PLANTED", &planted_version);
    fake.bind(USER, SECRET);
    let previous = key_in_text(&fake, AWSPREVIOUS).unwrap();
    rotate(&fake, &rotator, SECRET).await.unwrap();
    assert_eq!(
        fake.denied_asked(),
        0,
        "IAM was asked about the planted key"
    );
    assert!(
        fake.user(USER).keys.iter().all(|k| k.id != previous),
        "the previous key made room"
    );
    assert!(
        fake.user("outsider").keys.iter().any(|k| k.id == planted),
        "the planted key is untouched"
    );
}

fn key_in_text(fake: &FakeAws, stage: &str) -> Option<String> {
    let value = fake.version_with(SECRET, stage)?.value?;
    parsed(&value).access_key_id().map(str::to_owned)
}
