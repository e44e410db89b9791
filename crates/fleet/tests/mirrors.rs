//! Mirrors through the fleet's eyes (contract §19): a secret that claims a source is a `mirror`,
//! and a mirror paired both ways holds the source's key by design (never `duplicate-key`), while a
//! secret that only claims a source (anyone may tag their own) is a holder like any other. The
//! seed's split layout is recognised, and the fix says how to bring it under rotation without
//! breaking a consumer.

mod support;

use iam_key_fleet::report::{ScanReport, SecretReport};
use iam_key_fleet::scan::scan;
use iam_key_fleet::select::Selection;
use iam_key_fleet::verdict::Verdict;
use iam_key_rotator::mirror::{FORMAT_TAG, MIRROR_OF_TAG};
use support::fake::{key_value, FakeEstate};
use support::{scan_options, DAY, NOW};

const KEY: &str = "AKIAALICE1XXXXXXXXXX";

async fn scanned(estate: &FakeEstate) -> ScanReport {
    scan(estate, &Selection::default(), &scan_options(), &())
        .await
        .expect("the fake answers")
}

fn by_name<'a>(report: &'a ScanReport, name: &str) -> &'a SecretReport {
    report.secrets.iter().find(|s| s.name == name).expect(name)
}

/// alice's bound source `app/prod/aws`, and two secrets holding its key that claim it: a JSON
/// copy and the split layout's key id field. Returns the estate and the three ARNs.
fn estate() -> (FakeEstate, String, String, String) {
    let estate = FakeEstate::default();
    estate.key("alice", KEY, NOW - 10 * DAY);
    let source = estate.secret("app/prod/aws", &key_value("alice", KEY), NOW - 10 * DAY);
    estate.tag_binding("alice", &source);
    let copy = estate.secret("app/prod/copy", &key_value("alice", KEY), NOW - 10 * DAY);
    let field = estate.secret("app/prod/aws_access_key_id", KEY, NOW - 10 * DAY);
    for (arn, format) in [(&copy, "json"), (&field, "access-key-id")] {
        estate.tag_secret(arn, MIRROR_OF_TAG, &source);
        estate.tag_secret(arn, FORMAT_TAG, format);
    }
    (estate, source, copy, field)
}

#[tokio::test]
async fn mirrors_paired_both_ways_hold_the_source_s_key_by_design() {
    let (estate, source, copy, field) = estate();
    estate.tag_user("alice", "iam-key-rotator:mirror:1", &copy);
    estate.tag_user("alice", "IAM-Key-Rotator:Mirror:2", &field);
    let report = scanned(&estate).await;
    let source_report = by_name(&report, "app/prod/aws");
    assert_eq!(source_report.mirrors, [copy.clone(), field.clone()]);
    assert!(
        source_report
            .findings
            .iter()
            .all(|f| f.verdict != Verdict::DuplicateKey),
        "{:?}",
        source_report.findings
    );
    for name in ["app/prod/copy", "app/prod/aws_access_key_id"] {
        let mirror = by_name(&report, name);
        assert_eq!(
            mirror.verdict,
            Verdict::Mirror,
            "{name}: {:?}",
            mirror.findings
        );
        assert_eq!(mirror.mirror_of.as_deref(), Some(source.as_str()));
        assert!(
            mirror.why_not_actionable().is_some(),
            "enable and rotate leave a mirror alone"
        );
    }
}

#[tokio::test]
async fn a_secret_that_only_claims_the_source_is_a_duplicate_holder() {
    // An attacker who has the key tags their own copy as the source's mirror, hoping to hide it:
    // the source's user names no such mirror, so both are `duplicate-key`.
    let (estate, source, copy, field) = estate();
    estate.tag_user("alice", "iam-key-rotator:mirror:2", &field);
    let report = scanned(&estate).await;
    let duplicate = |name: &str| {
        let secret = by_name(&report, name);
        secret
            .findings
            .iter()
            .find(|f| f.verdict == Verdict::DuplicateKey)
            .map(|f| f.detail.clone())
    };
    let on_source = duplicate("app/prod/aws").expect("the source is a duplicate holder");
    assert!(
        on_source.contains(&copy) && !on_source.contains(&field),
        "{on_source}"
    );
    assert_eq!(
        by_name(&report, "app/prod/copy").verdict,
        Verdict::DuplicateKey
    );
    // The named mirror shares the key with the copy too (that is the leak), not with its source.
    let on_field = duplicate("app/prod/aws_access_key_id").expect("the copy holds its key too");
    assert!(
        on_field.contains(&copy) && !on_field.contains(&source),
        "{on_field}"
    );
}

#[tokio::test]
async fn the_split_layout_is_recognised_and_told_how_to_come_under_rotation() {
    let estate = FakeEstate::default();
    estate.key("bob", KEY, NOW - 10 * DAY);
    estate.secret("billing/prod/aws_access_key_id", KEY, NOW - 10 * DAY);
    let report = scanned(&estate).await;
    let field = by_name(&report, "billing/prod/aws_access_key_id");
    assert_eq!(field.verdict, Verdict::NotRotatable);
    let fix = &field.findings[0].fix;
    assert!(
        fix.contains("split layout") && fix.contains("billing/prod/aws "),
        "{fix}"
    );
    assert!(fix.contains(MIRROR_OF_TAG), "{fix}");
}
