//! §15 through the fleet: binding is an administrator's explicit act. `enable` binds only the
//! pairs `--bind` names, only once the secret's key pair authenticates as the user and no other
//! secret of any enabled Region of the run's accounts holds one of the user's keys; for any other
//! unbound user it prints the evidence and the command. `scan` marks a key held twice
//! `duplicate-key`. Over the in-memory organization (tests/support/org.rs).

mod support;

use std::sync::Arc;

use iam_key_fleet::bind::{check_binds, parse_bind, parse_bind_file, Bind};
use iam_key_fleet::estate::{scan_estate, Regions, Targets};
use iam_key_fleet::outcome::{Outcome, SecretOutcome};
use iam_key_fleet::report::ScanReport;
use iam_key_fleet::scan::scan;
use iam_key_fleet::select::Selection;
use iam_key_fleet::verdict::Verdict;
use iam_key_rotator::mirror::{FORMAT_TAG, MIRROR_OF_TAG};
use support::fake::{key_value, user_arn, FakeEstate, ACCOUNT};
use support::org::FakeOrg;
use support::{enable_in, scan_options, unchanged, DAY, NOW};

const HOME: &str = "us-east-1";
const ALICE_KEY: &str = "AKIAALICE1XXXXXXXXXX";

/// An organization whose home estate (ACCOUNT, us-east-1) holds alice's unbound secret, and a
/// second Region the attacker may write. Returns the org, the home estate and alice's secret.
fn world() -> (FakeOrg, Arc<FakeEstate>, String) {
    let mut org = FakeOrg::default();
    let home = org.estate(ACCOUNT, HOME);
    org.estate(ACCOUNT, "eu-west-1");
    home.key("alice", ALICE_KEY, NOW - 10 * DAY);
    let arn = home.secret(
        "app/prod/alice",
        &key_value("alice", ALICE_KEY),
        NOW - 10 * DAY,
    );
    (org, home, arn)
}

async fn scanned(estate: &FakeEstate) -> ScanReport {
    scan(estate, &Selection::default(), &scan_options(), &())
        .await
        .expect("the fake answers")
}

fn alice_bind(arn: &str) -> Vec<Bind> {
    vec![Bind {
        user_arn: user_arn("alice"),
        secret_arn: arn.into(),
    }]
}

/// `enable` of the home estate's secret named `name`, with `binds`, the org as its scope.
async fn run(org: &FakeOrg, home: &FakeEstate, binds: &[Bind], apply: bool) -> SecretOutcome {
    let report = scanned(home).await;
    let secrets: Vec<_> = report
        .secrets
        .into_iter()
        .filter(|s| s.name == "app/prod/alice")
        .collect();
    let mut outcomes = enable_in(org, home, &secrets, binds, apply).await;
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    outcomes.remove(0)
}

#[tokio::test]
async fn enable_binds_no_one_on_its_own_inference_and_prints_the_evidence() {
    let (org, home, arn) = world();
    for apply in [false, true] {
        let outcome = run(&org, &home, &[], apply).await;
        assert_eq!(outcome.outcome, Outcome::Skipped, "{}", outcome.detail);
        let bind = format!("--bind {}={arn}", user_arn("alice"));
        assert!(outcome.detail.contains(&bind), "{}", outcome.detail);
        assert!(
            outcome.detail.contains(&arn),
            "the evidence names the holders: {}",
            outcome.detail
        );
    }
    assert!(home.changes().is_empty(), "changed {:?}", home.changes());
}

#[tokio::test]
async fn enable_binds_a_named_pair_once_its_key_authenticates_and_a_dry_run_changes_nothing() {
    let (org, home, arn) = world();
    let binds = alice_bind(&arn);
    let planned = run(&org, &home, &binds, false).await;
    assert_eq!(planned.outcome, Outcome::WouldDo, "{}", planned.detail);
    assert!(
        home.changes().is_empty(),
        "a dry run changed {:?}",
        home.changes()
    );

    let done = run(&org, &home, &binds, true).await;
    assert_eq!(done.outcome, Outcome::Done, "{}", done.detail);
    let expected = vec![
        format!("TagUser alice {arn}"),
        format!("RotateSecret {arn} immediately=false"),
    ];
    assert_eq!(home.changes(), expected);
}

/// The attack: a leaked key pair stored in a secret of another Region, or of another account of
/// the run. Neither the evidence nor `--bind` lets the operator bind the user blindly.
#[tokio::test]
async fn enable_does_not_bind_a_user_whose_key_a_secret_elsewhere_holds() {
    for (account, region) in [(ACCOUNT, "eu-west-1"), ("222222222222", HOME)] {
        let (mut org, home, arn) = world();
        let elsewhere = org.estate(account, region);
        let copy = elsewhere.secret("attacker/copy", &key_value("alice", ALICE_KEY), NOW);
        assert!(copy.contains(region) && copy.contains(account));

        let evidence = run(&org, &home, &[], true).await;
        assert!(evidence.detail.contains(&copy), "{}", evidence.detail);

        let refused = run(&org, &home, &alice_bind(&arn), true).await;
        assert_eq!(refused.outcome, Outcome::Skipped, "{}", refused.detail);
        assert!(refused.detail.contains(&copy), "{}", refused.detail);
        assert!(home.changes().is_empty(), "changed {:?}", home.changes());
    }
}

/// A mirror paired both ways (it claims the secret, and the administrator named it on the user)
/// holds the key by design (§19): it does not stop the binding. One that only claims the secret
/// (anyone may tag their own), or that the user names but which claims another source, is a
/// holder like any other.
#[tokio::test]
async fn enable_counts_a_mirror_paired_both_ways_as_the_secret_s_own() {
    let other_source = "arn:aws:secretsmanager:us-east-1:111111111111:secret:other/aws-AbCdEf";
    for (named, claims_this) in [(true, true), (false, true), (true, false)] {
        let (org, home, arn) = world();
        let field = home.secret("app/prod/alice_key_id", ALICE_KEY, NOW);
        let claimed = if claims_this {
            arn.as_str()
        } else {
            other_source
        };
        home.tag_secret(&field, MIRROR_OF_TAG, claimed);
        home.tag_secret(&field, FORMAT_TAG, "access-key-id");
        if named {
            home.tag_user("alice", "iam-key-rotator:mirror:1", &field);
        }
        let outcome = run(&org, &home, &alice_bind(&arn), true).await;
        match named && claims_this {
            true => assert_eq!(outcome.outcome, Outcome::Done, "{}", outcome.detail),
            false => {
                assert_eq!(outcome.outcome, Outcome::Skipped, "{}", outcome.detail);
                assert!(outcome.detail.contains(&field), "{}", outcome.detail);
            }
        }
    }
}

/// A copy the scan cannot classify (a key id deep in JSON, a credentials file with two profiles)
/// still counts as a holder: the claim check reads every key id written anywhere in a value.
#[tokio::test]
async fn enable_counts_a_copy_in_any_form() {
    let nested = serde_json::json!({"ci": [{"key": ALICE_KEY}]}).to_string();
    let file = format!(
        "[a]\naws_access_key_id = AKIAOTHERXXXXXXXXXXX\n[b]\naws_access_key_id = {ALICE_KEY}\n"
    );
    for copy in [nested, file] {
        let (org, home, arn) = world();
        let elsewhere = home.secret("team/notes", &copy, NOW);
        let refused = run(&org, &home, &alice_bind(&arn), true).await;
        assert_eq!(refused.outcome, Outcome::Skipped, "{}", refused.detail);
        assert!(refused.detail.contains(&elsewhere), "{}", refused.detail);
        assert!(home.changes().is_empty(), "changed {:?}", home.changes());
    }
}

/// The claim check always reads the credentials' own account, where the named secret is, even
/// when the run names other accounts only; a check that did not see the secret itself binds none.
#[tokio::test]
async fn enable_binds_nothing_when_the_claim_check_missed_the_secret_itself() {
    let (mut org, home, arn) = world();
    org.enabled.insert(ACCOUNT.into(), vec!["eu-west-1".into()]);
    let refused = run(&org, &home, &alice_bind(&arn), true).await;
    assert!(
        refused.detail.contains("did not find"),
        "{}",
        refused.detail
    );
    // It says how much it read: the one Region it was given.
    let read = "(1 account(s)/Region(s) read)";
    unchanged(&home, &refused, Outcome::Skipped, read);
}

/// An account that cannot be entered, or whose Regions cannot be listed, may hold the key.
#[tokio::test]
async fn enable_binds_nothing_while_part_of_the_run_cannot_be_read() {
    for regions_listed in [true, false] {
        let (mut org, home, arn) = world();
        org.estate("222222222222", HOME);
        let reason = "AccessDenied for 222222222222".to_owned();
        match regions_listed {
            true => org.refused.insert("222222222222".into(), reason.clone()),
            false => org
                .regions_refused
                .insert("222222222222".into(), reason.clone()),
        };
        let refused = run(&org, &home, &alice_bind(&arn), true).await;
        let says = "could not read every secret";
        assert!(refused.detail.contains(says), "{}", refused.detail);
        unchanged(&home, &refused, Outcome::Skipped, &reason);
    }
}

#[tokio::test]
async fn enable_does_not_bind_on_a_key_id_that_does_not_authenticate() {
    // The key id is the user's, but the stored secret access key is not: ids are not secret.
    let mut org = FakeOrg::default();
    let home = org.estate(ACCOUNT, HOME);
    home.key("alice", ALICE_KEY, NOW - 10 * DAY);
    let forged = serde_json::json!({"UserName": "alice", "AccessKeyId": ALICE_KEY, "SecretAccessKey": "guessed"});
    let arn = home.secret("app/prod/alice", &forged.to_string(), NOW);
    let failed = run(&org, &home, &alice_bind(&arn), true).await;
    assert_eq!(failed.outcome, Outcome::Failed);
    assert!(
        failed.detail.contains("does not authenticate"),
        "{}",
        failed.detail
    );
    assert!(
        !home.changes().iter().any(|c| c.starts_with("TagUser")),
        "{:?}",
        home.changes()
    );
}

#[tokio::test]
async fn a_bind_must_name_a_selected_secret_and_its_own_user_once() {
    let (_, home, arn) = world();
    let report = scanned(&home).await;
    assert_eq!(check_binds(&alice_bind(&arn), &report.secrets), Ok(()));
    let wrong_user = vec![Bind {
        user_arn: user_arn("mallory"),
        secret_arn: arn.clone(),
    }];
    let error = check_binds(&wrong_user, &report.secrets).unwrap_err();
    assert!(
        error.contains("value is for") && error.contains("alice"),
        "{error}"
    );
    let unknown = alice_bind(&arn.replace("alice", "alicia"));
    let error = check_binds(&unknown, &report.secrets).unwrap_err();
    assert!(error.contains("not among the selected secrets"), "{error}");
    let twice = [alice_bind(&arn), alice_bind(&arn)].concat();
    let error = check_binds(&twice, &report.secrets).unwrap_err();
    assert!(error.contains("twice"), "{error}");
}

#[test]
fn bind_pairs_are_two_full_arns() {
    let user = "arn:aws:iam::111122223333:user/svc/ci";
    let secret = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/prod/ci-AbCdEf";
    let parsed = parse_bind(&format!("{user}={secret}")).expect("a pair");
    assert_eq!(
        (parsed.user_arn.as_str(), parsed.secret_arn.as_str()),
        (user, secret)
    );
    for bad in [
        "ci=app/prod/ci".to_owned(),
        user.to_string(),
        format!("arn:aws:iam::111122223333:role/x={secret}"),
        format!("{user}=arn:aws:ssm:eu-west-1:111122223333:parameter/x"),
        format!("arn:aws:iam::1111:user/ci={secret}"),
    ] {
        let error = parse_bind(&bad).unwrap_err();
        assert!(error.contains("USER_ARN=SECRET_ARN"), "{bad}: {error}");
    }
    let file = format!("# reviewed 2026-12-06\n\n{user}={secret}\n  \n");
    assert_eq!(parse_bind_file(&file).expect("one pair").len(), 1);
    let error = parse_bind_file(&format!("{user}={secret}\nnonsense\n")).unwrap_err();
    assert!(error.starts_with("line 2:"), "{error}");
}

/// A key pair in two secrets is `duplicate-key` in both, above `unbound`; across an estate too,
/// and a selection by that verdict finds them across targets.
#[tokio::test]
async fn scan_marks_a_key_held_twice_anywhere_in_the_run() {
    let (_, home, arn) = world();
    home.tag_binding("alice", &arn);
    let copy = home.secret("attacker/copy", &key_value("alice", ALICE_KEY), NOW);
    let report = scanned(&home).await;
    for secret in &report.secrets {
        assert_eq!(secret.verdict, Verdict::DuplicateKey, "{}", secret.name);
    }
    let finding = &report
        .secrets
        .iter()
        .find(|s| s.arn == arn)
        .unwrap()
        .findings[0];
    assert!(finding.detail.contains(&copy), "{}", finding.detail);

    // Across Regions: each Region's scan alone sees one holder; the estate's sees both.
    let (mut org, home, arn) = world();
    let elsewhere = org.estate(ACCOUNT, "eu-west-1");
    let far_copy = elsewhere.secret("attacker/copy", &key_value("alice", ALICE_KEY), NOW);
    assert!(scanned(&home)
        .await
        .secrets
        .iter()
        .all(|s| s.verdict != Verdict::DuplicateKey));
    let targets = Targets {
        accounts: vec![ACCOUNT.to_owned()],
        regions: Regions::Listed(vec![HOME.into(), "eu-west-1".into()]),
        home_region: HOME.into(),
        parallel: 2,
    };
    let options = scan_options();
    let every = Selection::default();
    let estate = scan_estate(&org, &targets, &every, &options, &()).await;
    let reports: Vec<_> = estate
        .targets
        .iter()
        .flat_map(|t| &t.scan.as_ref().expect("scanned").secrets)
        .collect();
    assert_eq!(reports.len(), 2);
    for report in &reports {
        let other = if report.arn == arn { &far_copy } else { &arn };
        let duplicate = report
            .findings
            .iter()
            .find(|f| f.verdict == Verdict::DuplicateKey);
        assert!(
            duplicate.is_some_and(|f| f.detail.contains(other.as_str())),
            "{report:?}"
        );
    }
    let only_duplicates = Selection {
        verdicts: vec![Verdict::DuplicateKey],
        ..Default::default()
    };
    let estate = scan_estate(&org, &targets, &only_duplicates, &options, &()).await;
    let found: Vec<&str> = estate
        .targets
        .iter()
        .flat_map(|t| &t.scan.as_ref().expect("scanned").secrets)
        .map(|s| s.arn.as_str())
        .collect();
    // The far copy's user is not in eu-west-1's IAM here: key-missing, worse, is its verdict.
    assert_eq!(found, vec![arn.as_str()]);
}
