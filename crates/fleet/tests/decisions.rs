//! The fleet's decisions (scan, rotate, unstick; enable in binding.rs) over the in-memory estate: fast, and
//! beside the end-to-end tests (tests/e2e/test_fleet.py) that run the same commands against the
//! local AWS stack. Each test sets up the one situation a rule is about and asserts both what the
//! command reports and what it changed.

mod support;

use std::time::Duration;

use iam_key_fleet::outcome::{Outcome, SecretOutcome};
use iam_key_fleet::report::{ScanReport, SecretReport};
use iam_key_fleet::rotate::{rotate, RotateOptions};
use iam_key_fleet::scan::scan;
use iam_key_fleet::select::Selection;
use iam_key_fleet::unstick;
use iam_key_fleet::verdict::Verdict;
use iam_key_rotator::aws::AWSCURRENT;
use support::fake::{key_value, FakeEstate};
use support::{scan_options, DAY, NOW};

async fn scan_all(estate: &FakeEstate) -> ScanReport {
    scan(estate, &Selection::default(), &scan_options(), &())
        .await
        .expect("the fake answers")
}

fn report<'a>(scan: &'a ScanReport, name: &str) -> &'a SecretReport {
    scan.secrets
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{name} not in the scan"))
}

/// alice's secret holds her only key; her user is bound to it unless `bound` is false.
fn alice(estate: &FakeEstate, bound: bool) -> String {
    estate.key("alice", "AKIAALICE1XXXXXXXXXX", NOW - 10 * DAY);
    let arn = estate.secret(
        "app/prod/alice",
        &key_value("alice", "AKIAALICE1XXXXXXXXXX"),
        NOW - 10 * DAY,
    );
    if bound {
        estate.tag_binding("alice", &arn);
    }
    arn
}

fn only(outcomes: &[SecretOutcome]) -> &SecretOutcome {
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    &outcomes[0]
}

#[tokio::test]
async fn scan_tells_a_bound_user_from_an_unbound_one_and_ignores_unrelated_secrets() {
    let estate = FakeEstate::default();
    let alice_arn = alice(&estate, true);
    estate.key("bob", "AKIABOB1XXXXXXXXXXXX", NOW - 10 * DAY);
    estate.secret(
        "app/prod/bob",
        &key_value("bob", "AKIABOB1XXXXXXXXXXXX"),
        NOW - 10 * DAY,
    );
    estate.secret("app/prod/db", r#"{"host":"db","port":5432}"#, NOW);

    let scan = scan_all(&estate).await;
    assert_eq!(
        scan.secrets.len(),
        2,
        "the database secret holds no AWS key"
    );
    assert_eq!(
        report(&scan, "app/prod/alice").bound_to.as_deref(),
        Some(alice_arn.as_str())
    );
    assert_ne!(report(&scan, "app/prod/alice").verdict, Verdict::Unbound);
    assert_eq!(report(&scan, "app/prod/bob").verdict, Verdict::Unbound);
    assert_eq!(report(&scan, "app/prod/bob").bound_to, None);
    assert!(estate.changes().is_empty(), "a scan changes nothing");
}

#[tokio::test]
async fn scan_names_the_keys_no_version_holds() {
    let estate = FakeEstate::default();
    alice(&estate, true);
    estate.key("alice", "AKIAHANDMADEXXXXXXXX", NOW - DAY);
    let scan = scan_all(&estate).await;
    let alice = report(&scan, "app/prod/alice");
    assert_eq!(alice.foreign_keys, vec!["AKIAHANDMADEXXXXXXXX".to_owned()]);
    assert!(alice
        .findings
        .iter()
        .any(|f| f.verdict == Verdict::ForeignKeys));
}

fn rotate_options(apply: bool, force: bool) -> RotateOptions {
    RotateOptions {
        concurrency: 2,
        timeout: Duration::from_secs(5),
        poll_interval: Duration::from_millis(1),
        apply,
        min_interval_seconds: DAY,
        force,
        retire_idle_seconds: DAY,
        now: NOW,
    }
}

#[tokio::test]
async fn rotate_is_a_dry_run_without_apply_and_rotates_with_it() {
    let estate = FakeEstate::default();
    let arn = alice(&estate, true);
    estate.rotation_on(&arn, Some(NOW - 10 * DAY));
    let scan = scan_all(&estate).await;

    let planned = rotate(&estate, &scan.secrets, rotate_options(false, false), |_| {}).await;
    assert_eq!(only(&planned).outcome, Outcome::WouldDo);
    assert!(estate.changes().is_empty());

    let done = rotate(&estate, &scan.secrets, rotate_options(true, false), |_| {}).await;
    assert_eq!(only(&done).outcome, Outcome::Done, "{}", only(&done).detail);
    assert_eq!(
        estate.changes(),
        vec![format!("RotateSecret {arn} immediately=true")]
    );
    assert!(estate
        .labels(&arn)
        .iter()
        .any(|(v, l)| v.starts_with("v-rotated") && l.iter().any(|l| l == AWSCURRENT)));
}

#[tokio::test]
async fn rotate_leaves_a_secret_rotated_within_the_interval_unless_forced() {
    let estate = FakeEstate::default();
    let arn = alice(&estate, true);
    estate.rotation_on(&arn, Some(NOW - 3_600));
    let scan = scan_all(&estate).await;

    let skipped = rotate(&estate, &scan.secrets, rotate_options(true, false), |_| {}).await;
    assert_eq!(only(&skipped).outcome, Outcome::Skipped);
    assert!(only(&skipped).detail.contains("--min-interval"));
    assert!(estate.changes().is_empty());

    let forced = rotate(&estate, &scan.secrets, rotate_options(true, true), |_| {}).await;
    assert_eq!(only(&forced).outcome, Outcome::Done);
}

/// alice's secret, rotated 40 days ago, with her older key `OLD` in AWSPREVIOUS, Active or not.
fn alice_with_previous(estate: &FakeEstate, active: bool) -> String {
    const OLD: &str = "AKIAOLDXXXXXXXXXXXXX";
    let arn = alice(estate, true);
    estate.rotation_on(&arn, Some(NOW - 40 * DAY));
    estate.key("alice", OLD, NOW - 80 * DAY);
    estate.set_key_active("alice", OLD, active);
    estate.previous(&arn, &key_value("alice", OLD), NOW - 80 * DAY);
    arn
}

/// §18: an Inactive previous key is in its quarantine under `retire`: createSecret would refuse,
/// so `rotate` leaves the secret, `--force` or not (it forces the interval only).
#[tokio::test]
async fn rotate_leaves_a_secret_whose_previous_key_is_in_quarantine_even_forced() {
    let estate = FakeEstate::default();
    alice_with_previous(&estate, false);
    let scan = scan_all(&estate).await;
    for force in [false, true] {
        let skipped = rotate(&estate, &scan.secrets, rotate_options(true, force), |_| {}).await;
        assert_eq!(only(&skipped).outcome, Outcome::Skipped);
        let detail = &only(&skipped).detail;
        assert!(detail.contains("PreviousKeyInQuarantine"), "{detail}");
    }
    assert!(estate.changes().is_empty());
}

/// §18: an Active previous key used within the idle time is kept by createSecret: `rotate` says
/// so and leaves the secret, forced or not; once idle long enough, it rotates.
#[tokio::test]
async fn rotate_leaves_a_secret_whose_previous_key_is_in_use_even_forced() {
    let estate = FakeEstate::default();
    let arn = alice_with_previous(&estate, true);
    estate.use_key("AKIAOLDXXXXXXXXXXXXX", NOW - 3_600);
    let scan = scan_all(&estate).await;
    for force in [false, true] {
        let skipped = rotate(&estate, &scan.secrets, rotate_options(true, force), |_| {}).await;
        assert_eq!(only(&skipped).outcome, Outcome::Skipped);
        let detail = &only(&skipped).detail;
        assert!(detail.contains("PreviousKeyInUse"), "{detail}");
    }
    assert!(estate.changes().is_empty());

    estate.use_key("AKIAOLDXXXXXXXXXXXXX", NOW - DAY - 60);
    let scan = scan_all(&estate).await;
    let done = rotate(&estate, &scan.secrets, rotate_options(true, false), |_| {}).await;
    assert_eq!(only(&done).outcome, Outcome::Done, "{}", only(&done).detail);
    assert_eq!(
        estate.changes(),
        vec![format!("RotateSecret {arn} immediately=true")]
    );
}

/// `--min-interval` counts from the AWSCURRENT version's creation: a value put by hand an hour
/// ago is as recent as a rotation, however long ago the last rotation was.
#[tokio::test]
async fn rotate_counts_the_interval_from_a_value_put_by_hand() {
    let estate = FakeEstate::default();
    estate.key("alice", "AKIAALICE1XXXXXXXXXX", NOW - 10 * DAY);
    let arn = estate.secret(
        "app/prod/alice",
        &key_value("alice", "AKIAALICE1XXXXXXXXXX"),
        NOW - 3_600,
    );
    estate.tag_binding("alice", &arn);
    estate.rotation_on(&arn, Some(NOW - 40 * DAY));
    let scan = scan_all(&estate).await;
    let skipped = rotate(&estate, &scan.secrets, rotate_options(true, false), |_| {}).await;
    assert_eq!(only(&skipped).outcome, Outcome::Skipped);
    assert!(
        only(&skipped).detail.contains("changed 60 minutes ago"),
        "{}",
        only(&skipped).detail
    );
    let forced = rotate(&estate, &scan.secrets, rotate_options(true, true), |_| {}).await;
    assert_eq!(only(&forced).outcome, Outcome::Done);
}

#[tokio::test]
async fn rotate_leaves_a_secret_with_rotation_off() {
    let estate = FakeEstate::default();
    alice(&estate, true);
    let scan = scan_all(&estate).await;
    let outcomes = rotate(&estate, &scan.secrets, rotate_options(true, true), |_| {}).await;
    assert_eq!(only(&outcomes).outcome, Outcome::Skipped);
    assert!(estate.changes().is_empty());
}

/// alice's rotation started two days ago and stopped after createSecret made AKIANEWXXXXXXXXXXXXX, which is
/// in its pending version; `orphan_used` says whether IAM shows AKIANEWXXXXXXXXXXXXX used.
async fn stuck(
    orphan_used: bool,
    pending_holds_it: bool,
) -> (FakeEstate, String, Vec<SecretReport>) {
    let estate = FakeEstate::default();
    let arn = alice(&estate, true);
    estate.rotation_on(&arn, Some(NOW - 30 * DAY));
    let started = NOW - 2 * DAY;
    estate.pending(
        &arn,
        "v-pending",
        pending_holds_it
            .then(|| key_value("alice", "AKIANEWXXXXXXXXXXXXX"))
            .as_deref(),
        started,
    );
    estate.key("alice", "AKIANEWXXXXXXXXXXXXX", started + 5);
    if orphan_used {
        estate.use_key("AKIANEWXXXXXXXXXXXXX", NOW - DAY);
    }
    let scan = scan_all(&estate).await;
    (estate, arn, scan.secrets)
}

#[tokio::test]
async fn unstick_deletes_a_never_used_key_of_the_abandoned_rotation_and_keeps_the_current_one() {
    let (estate, arn, secrets) = stuck(false, true).await;

    let planned = unstick::unstick(&estate, &secrets, NOW, None, false, 4).await;
    assert_eq!(only(&planned).outcome, Outcome::WouldDo);
    assert!(estate.changes().is_empty());

    let done = unstick::unstick(&estate, &secrets, NOW, None, true, 4).await;
    assert_eq!(only(&done).outcome, Outcome::Done, "{}", only(&done).detail);
    assert_eq!(
        estate.changes(),
        vec![
            format!("RemovePending {arn} v-pending"),
            "DeleteAccessKey alice AKIANEWXXXXXXXXXXXXX".to_owned()
        ]
    );
    assert_eq!(
        estate.key_ids("alice"),
        vec!["AKIAALICE1XXXXXXXXXX".to_owned()]
    );
}

#[tokio::test]
async fn unstick_never_deletes_a_key_iam_shows_used() {
    let (estate, _, secrets) = stuck(true, false).await;
    let done = unstick::unstick(&estate, &secrets, NOW, None, true, 4).await;
    assert_eq!(only(&done).outcome, Outcome::Done);
    assert!(
        only(&done).detail.contains("left AKIANEWXXXXXXXXXXXXX"),
        "{}",
        only(&done).detail
    );
    assert!(
        !estate
            .changes()
            .iter()
            .any(|c| c.starts_with("DeleteAccessKey")),
        "{:?}",
        estate.changes()
    );
    assert!(estate
        .key_ids("alice")
        .contains(&"AKIANEWXXXXXXXXXXXXX".to_owned()));
}

/// Between the label's removal and the delete, a consumer uses the key: it is read again just
/// before the delete, and left (§18).
#[tokio::test]
async fn unstick_reads_the_key_again_before_deleting_it() {
    let (estate, arn, secrets) = stuck(false, true).await;
    estate.use_key_after_remove_pending("AKIANEWXXXXXXXXXXXXX", NOW - 60);
    let done = unstick::unstick(&estate, &secrets, NOW, None, true, 4).await;
    let detail = &only(&done).detail;
    assert!(
        detail.contains("then left AKIANEWXXXXXXXXXXXXX"),
        "{detail}"
    );
    assert_eq!(
        estate.changes(),
        vec![format!("RemovePending {arn} v-pending")]
    );
}

/// A key younger than IAM's reporting lag is never proven unused: reported, not deleted (§18).
#[tokio::test]
async fn unstick_leaves_a_key_younger_than_the_reporting_lag() {
    let estate = FakeEstate::default();
    let arn = alice(&estate, true);
    estate.rotation_on(&arn, Some(NOW - 30 * DAY));
    let started = NOW - 3_000;
    estate.pending(&arn, "v-pending", None, started);
    estate.key("alice", "AKIANEWXXXXXXXXXXXXX", started + 5);
    let secrets = scan_all(&estate).await.secrets;
    let done = unstick::unstick(&estate, &secrets, NOW, Some(600), true, 4).await;
    let detail = &only(&done).detail;
    assert!(detail.contains("left AKIANEWXXXXXXXXXXXXX"), "{detail}");
    assert!(detail.contains("up to 4 hours late"), "{detail}");
    assert!(!estate
        .changes()
        .iter()
        .any(|c| c.starts_with("DeleteAccessKey")));
}

#[tokio::test]
async fn unstick_waits_out_the_rotation_window() {
    let (estate, _, secrets) = stuck(false, true).await;
    // Three days of minimum age: the pending version is two days old.
    let outcomes = unstick::unstick(&estate, &secrets, NOW, Some(3 * DAY), true, 4).await;
    assert_eq!(only(&outcomes).outcome, Outcome::Skipped);
    assert!(estate.changes().is_empty());
}
