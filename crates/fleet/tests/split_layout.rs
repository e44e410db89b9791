//! `enable` brings the seed's split layout under rotation (§19, issue 23): with the
//! administrator's `--bind USER_ARN=<ARN of <p>/aws_access_key_id>` and `--apply`, it creates
//! `<p>/aws` from the pair, tags both field secrets as its mirrors, binds the user and names them,
//! and turns rotation on; the scan then shows no `not-rotatable`. Never an adopted `<p>/aws`,
//! never a pair that does not authenticate as the user, never a user with other keys or tags of
//! ours, never a key held elsewhere too; a dry run changes nothing.

mod support;

use std::sync::Arc;

use iam_key_fleet::aws::{FleetAws, LayoutAws};
use iam_key_fleet::bind::{check_binds, Bind};
use iam_key_fleet::outcome::{Outcome, SecretOutcome};
use iam_key_fleet::report::ScanReport;
use iam_key_fleet::scan::scan;
use iam_key_fleet::select::Selection;
use iam_key_fleet::verdict::Verdict;
use iam_key_rotator::aws::{VersionRef, AWSCURRENT};
use iam_key_rotator::binding::BINDING_TAG;
use iam_key_rotator::mirror::{FORMAT_TAG, MIRROR_OF_TAG};
use support::fake::{key_value, secret_of, user_arn, FakeEstate, ACCOUNT};
use support::org::FakeOrg;
use support::{enable_in, scan_options, unchanged, DAY, NOW};

const KEY: &str = "AKIAALICE1XXXXXXXXXX";
const ID_FIELD: &str = "app/prod/aws_access_key_id";
const SECRET_FIELD: &str = "app/prod/aws_secret_access_key";
const SOURCE: &str = "app/prod/aws";

/// The seed's layout for alice: her key id and her secret, one secret each. Returns the org, the
/// home estate and the two fields' ARNs.
fn world() -> (FakeOrg, Arc<FakeEstate>, String, String) {
    world_named(ID_FIELD, SECRET_FIELD)
}

/// As [`world`], the two secrets so named.
fn world_named(id_name: &str, secret_name: &str) -> (FakeOrg, Arc<FakeEstate>, String, String) {
    let mut org = FakeOrg::default();
    let home = org.estate(ACCOUNT, "us-east-1");
    home.key("alice", KEY, NOW - 10 * DAY);
    let id = home.secret(id_name, KEY, NOW - 10 * DAY);
    let secret = home.secret(secret_name, &secret_of(KEY), NOW - 10 * DAY);
    (org, home, id, secret)
}

async fn scanned(estate: &FakeEstate) -> ScanReport {
    scan(estate, &Selection::default(), &scan_options(), &())
        .await
        .expect("the fake answers")
}

fn alice(arn: &str) -> Vec<Bind> {
    vec![Bind {
        user_arn: user_arn("alice"),
        secret_arn: arn.into(),
    }]
}

/// `enable` of every scanned secret, with `binds`; the outcome for the key id field.
async fn run(org: &FakeOrg, home: &FakeEstate, binds: &[Bind], apply: bool) -> SecretOutcome {
    let report = scanned(home).await;
    check_binds(binds, &report.secrets).expect("the bind names the layout's user");
    let outcomes = enable_in(org, home, &report.secrets, binds, apply).await;
    let field = outcomes.into_iter().find(|o| o.secret == ID_FIELD);
    field.expect("an outcome for the key id field")
}

async fn tags_of(home: &FakeEstate, arn: &str) -> Vec<(String, String)> {
    let found = home.describe(arn).await.expect("the fake answers");
    found.expect("the secret").tags
}

fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn a_dry_run_says_what_it_would_do_and_changes_nothing() {
    let (org, home, id, _) = world();
    let outcome = run(&org, &home, &alice(&id), false).await;
    unchanged(
        &home,
        &outcome,
        Outcome::WouldDo,
        &format!("create {SOURCE}"),
    );
    assert!(
        outcome.detail.contains("under the default key"),
        "{}",
        outcome.detail
    );
}

#[tokio::test]
async fn applied_the_layout_is_a_bound_source_with_its_fields_as_mirrors() {
    let (org, home, id, secret) = world();
    let outcome = run(&org, &home, &alice(&id), true).await;
    assert_eq!(outcome.outcome, Outcome::Done, "{}", outcome.detail);
    let source = home.describe(SOURCE).await.unwrap().expect("the source");
    let value = home.value(&source.arn, VersionRef::Stage(AWSCURRENT)).await;
    let value = value.unwrap().expect("a value");
    let parsed: serde_json::Value = serde_json::from_str(value.expose()).unwrap();
    let written: serde_json::Value = serde_json::from_str(&key_value("alice", KEY)).unwrap();
    assert_eq!(
        parsed, written,
        "the source holds the pair and names the user"
    );
    for (field, format) in [(&id, "access-key-id"), (&secret, "secret-access-key")] {
        let tags = tags_of(&home, field).await;
        assert_eq!(tag(&tags, MIRROR_OF_TAG), Some(source.arn.as_str()));
        assert_eq!(tag(&tags, FORMAT_TAG), Some(format));
    }
    let user = home.user("alice").await.unwrap().expect("alice");
    assert_eq!(tag(&user.tags, BINDING_TAG), Some(source.arn.as_str()));
    assert_eq!(
        tag(&user.tags, "iam-key-rotator:mirror:1"),
        Some(id.as_str())
    );
    assert_eq!(
        tag(&user.tags, "iam-key-rotator:mirror:2"),
        Some(secret.as_str())
    );
    assert!(source.rotation_enabled, "rotation is on");
    assert!(!outcome.detail.contains(&secret_of(KEY)));
    // The scan now: a rotatable source with its two mirrors, nothing not-rotatable.
    let report = scanned(&home).await;
    let verdicts: Vec<(&str, &Verdict)> = (report.secrets.iter())
        .map(|s| (s.name.as_str(), &s.verdict))
        .collect();
    assert!(
        verdicts.iter().all(|(_, v)| **v != Verdict::NotRotatable),
        "{verdicts:?}"
    );
    let listed = report
        .secrets
        .iter()
        .find(|s| s.name == SOURCE)
        .expect("the source");
    assert_eq!(listed.mirrors, [id.clone(), secret.clone()]);
    for name in [ID_FIELD, SECRET_FIELD] {
        let field = report.secrets.iter().find(|s| s.name == name);
        assert!(field.is_none_or(|f| f.verdict == Verdict::Mirror), "{name}");
    }
}

#[tokio::test]
async fn a_source_someone_else_made_is_never_adopted() {
    let (org, home, id, _) = world();
    home.secret(SOURCE, &key_value("alice", KEY), NOW);
    let outcome = run(&org, &home, &alice(&id), true).await;
    unchanged(&home, &outcome, Outcome::Skipped, "never adopted");
}

#[tokio::test]
async fn without_the_administrators_bind_the_layout_is_left_as_it_is() {
    let (org, home, _, _) = world();
    let outcome = run(&org, &home, &[], true).await;
    unchanged(&home, &outcome, Outcome::Skipped, SOURCE);
}

#[tokio::test]
async fn a_pair_that_does_not_authenticate_as_the_user_changes_nothing() {
    // Someone put alice's key id beside a secret of their own: binding would hand them the
    // source's next keys.
    let (org, home, id, _) = world();
    home.secret(
        SECRET_FIELD,
        "not-alices-secret-xxxxxxxxxxxxxxxxxxxxxx",
        NOW,
    );
    let outcome = run(&org, &home, &alice(&id), true).await;
    unchanged(&home, &outcome, Outcome::Failed, "nothing changed");
    assert!(!outcome.detail.contains("not-alices-secret"));
}

#[tokio::test]
async fn a_user_with_another_key_or_our_tags_is_left_to_an_administrator() {
    let (org, home, id, _) = world();
    home.key("alice", "AKIAALICE2XXXXXXXXXX", NOW - DAY);
    let outcome = run(&org, &home, &alice(&id), true).await;
    assert_eq!(outcome.outcome, Outcome::Skipped, "{}", outcome.detail);
    assert!(
        outcome.detail.contains("AKIAALICE2XXXXXXXXXX"),
        "{}",
        outcome.detail
    );

    // Any tag of ours, in any case: a mirror named by someone, a setting, a binding with a space.
    let theirs = "arn:aws:secretsmanager:us-east-1:111111111111:secret:attacker-AbCdEf";
    for key in [
        "IAM-Key-Rotator:Mirror:3",
        "iam-key-rotator:previous-key-action",
        " iam-key-rotator:secret",
    ] {
        let (org, home, id, _) = world();
        home.tag_user("alice", key, theirs);
        let outcome = run(&org, &home, &alice(&id), true).await;
        unchanged(
            &home,
            &outcome,
            Outcome::Skipped,
            &format!("{key}={theirs}"),
        );
    }
}

#[tokio::test]
async fn a_key_held_by_another_secret_too_is_not_bound() {
    let (org, home, id, _) = world();
    let copy = home.secret("elsewhere/copy", &key_value("alice", KEY), NOW);
    let outcome = run(&org, &home, &alice(&id), true).await;
    unchanged(&home, &outcome, Outcome::Skipped, &copy);
}

#[tokio::test]
async fn a_field_with_rotation_on_is_never_made_a_mirror() {
    let (org, home, id, _) = world();
    home.rotation_on(&id, None);
    let outcome = run(&org, &home, &alice(&id), true).await;
    unchanged(&home, &outcome, Outcome::Skipped, "rotation is on");
}

#[tokio::test]
async fn the_source_is_guarded_as_the_fields_are_or_the_layout_is_left_to_a_person() {
    // Under a customer managed key: the source is made under it, with the secret field's tags.
    let (org, home, id, secret) = world();
    let kms = "arn:aws:kms:us-east-1:111111111111:key/team-key";
    home.guard(&id, Some(kms), false);
    home.guard(&secret, Some(kms), false);
    home.tag_secret(&secret, "team", "payments");
    // Not AWS's own tags (not ours to write), nor ours (a setting is the source owner's to make).
    home.tag_secret(&secret, "aws:cloudformation:stack-name", "store");
    home.tag_secret(&secret, "iam-key-rotator:previous-key-action", "keep");
    let outcome = run(&org, &home, &alice(&id), false).await;
    assert!(
        outcome.detail.contains(kms),
        "the plan says: {}",
        outcome.detail
    );
    let outcome = run(&org, &home, &alice(&id), true).await;
    assert_eq!(outcome.outcome, Outcome::Done, "{}", outcome.detail);
    let source = home.describe(SOURCE).await.unwrap().expect("the source");
    assert_eq!(home.kms_key_of(&source.arn).as_deref(), Some(kms));
    assert_eq!(source.tags, [("team".to_owned(), "payments".to_owned())]);
    // A resource policy on a field, or two different keys: nothing is made.
    for (id_kms, policy) in [(Some(kms), true), (None, false)] {
        let (org, home, id, secret) = world();
        home.guard(&id, id_kms, false);
        home.guard(&secret, Some(kms), policy);
        let outcome = run(&org, &home, &alice(&id), true).await;
        assert_eq!(outcome.outcome, Outcome::Skipped, "{}", outcome.detail);
        assert_eq!(home.changes(), Vec::<String>::new());
    }
}

#[tokio::test]
async fn a_missing_or_already_claimed_secret_field_leaves_the_layout_alone() {
    let (org, home, id, secret) = world();
    home.tag_secret(&secret, MIRROR_OF_TAG, &id);
    let outcome = run(&org, &home, &alice(&id), true).await;
    assert_eq!(outcome.outcome, Outcome::Skipped, "{}", outcome.detail);
    assert!(
        outcome.detail.contains("claims a source"),
        "{}",
        outcome.detail
    );
    // Only the key id field (and a look-alike name): no pair to make a source of.
    let (org, home, id, _) = world_named(ID_FIELD, "app/prod/aws_secret_access_key_old");
    let outcome = run(&org, &home, &alice(&id), true).await;
    unchanged(&home, &outcome, Outcome::Skipped, "there is no");
}

#[tokio::test]
async fn a_failure_after_the_source_is_made_binds_no_one_and_says_how_to_undo() {
    let (org, home, id, secret) = world();
    home.deny("TagUser");
    let outcome = run(&org, &home, &alice(&id), true).await;
    assert_eq!(outcome.outcome, Outcome::Failed, "{}", outcome.detail);
    let source = home
        .describe(SOURCE)
        .await
        .unwrap()
        .expect("the source was made");
    let user = home.user("alice").await.unwrap().expect("alice");
    assert_eq!(tag(&user.tags, BINDING_TAG), None, "no one is bound");
    for undo in [
        format!("delete-secret --secret-id {}", source.arn),
        format!("untag-resource --secret-id {secret}"),
    ] {
        assert!(outcome.detail.contains(&undo), "{}", outcome.detail);
    }
    assert!(!outcome.detail.contains(&secret_of(KEY)));
    // Refused at CreateSecret: nothing changed, and it says so.
    let (org, home, id, _) = world();
    home.deny("CreateSecret");
    let outcome = run(&org, &home, &alice(&id), true).await;
    unchanged(&home, &outcome, Outcome::Failed, "nothing changed");
}

#[tokio::test]
async fn a_replica_a_field_being_deleted_or_one_another_service_manages_is_left_alone() {
    type Spoil = fn(&FakeEstate, &str);
    let cases: [(Spoil, &str); 3] = [
        (|home, arn| home.make_replica(arn, "eu-west-1"), "replica"),
        (
            |home, arn| home.retire_or_manage(arn, true, None),
            "deletion",
        ),
        (
            |home, arn| home.retire_or_manage(arn, false, Some("rds")),
            "another service",
        ),
    ];
    for (spoil, says) in cases {
        let (org, home, id, secret) = world();
        spoil(&home, &secret);
        let outcome = run(&org, &home, &alice(&id), true).await;
        unchanged(&home, &outcome, Outcome::Skipped, says);
    }
}

#[tokio::test]
async fn a_field_whose_arn_an_iam_tag_cannot_hold_leaves_the_layout_alone() {
    // A secret's ARN: 53 characters before its name, 7 after (`-` and the random suffix); the
    // secret field's is the layout's longest. 256 characters fit in a tag value, 257 do not.
    for (secret_arn_len, fits) in [(256, true), (257, false)] {
        let prefix = "p".repeat(secret_arn_len - 60 - "/aws_secret_access_key".len());
        let (org, home, id, secret) = world_named(
            &format!("{prefix}/aws_access_key_id"),
            &format!("{prefix}/aws_secret_access_key"),
        );
        assert_eq!(secret.len(), secret_arn_len);
        let report = scanned(&home).await;
        let outcomes = enable_in(&org, &home, &report.secrets, &alice(&id), true).await;
        let outcome = outcomes
            .into_iter()
            .find(|o| o.secret.ends_with("/aws_access_key_id"));
        let outcome = outcome.expect("an outcome for the key id field");
        match fits {
            true => assert_eq!(outcome.outcome, Outcome::Done, "{}", outcome.detail),
            false => unchanged(
                &home,
                &outcome,
                Outcome::Skipped,
                "longer than an IAM tag value",
            ),
        }
    }
}

#[tokio::test]
async fn create_secret_answering_exists_or_nothing_says_so_and_nothing_else_changes() {
    for (code, status, says) in [
        ("ResourceExistsException", 400, "it is never adopted"),
        ("InternalFailure", 500, "may exist; check it"),
    ] {
        let (org, home, id, _) = world();
        home.fail("CreateSecret", code, status);
        let outcome = run(&org, &home, &alice(&id), true).await;
        unchanged(&home, &outcome, Outcome::Failed, says);
    }
}

#[tokio::test]
async fn a_failed_tag_on_the_first_field_undoes_the_source_and_that_field_only() {
    let (org, home, id, secret) = world();
    home.deny("TagResource");
    let outcome = run(&org, &home, &alice(&id), true).await;
    assert_eq!(outcome.outcome, Outcome::Failed, "{}", outcome.detail);
    let source = home
        .describe(SOURCE)
        .await
        .unwrap()
        .expect("the source was made");
    assert!(outcome
        .detail
        .contains(&format!("delete-secret --secret-id {}", source.arn)));
    assert!(outcome
        .detail
        .contains(&format!("untag-resource --secret-id {id}")));
    assert!(!outcome
        .detail
        .contains(&format!("untag-resource --secret-id {secret}")));
    let user = home.user("alice").await.unwrap().expect("alice");
    assert_eq!(tag(&user.tags, BINDING_TAG), None, "no one is bound");
}
