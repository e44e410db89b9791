//! The fleet across an estate (§17) over the in-memory organization: every account and Region
//! scanned, an account that cannot be entered reported with its reason, suspended accounts
//! skipped, replicas shown as replicas, and a central secret judged with its member account's IAM.

mod support;

use iam_key_fleet::estate::{
    active_accounts, scan_estate, EstateReport, OrgAccount, Regions, Targets,
};
use iam_key_fleet::output::estate_text;
use iam_key_fleet::report::SecretReport;
use iam_key_fleet::select::Selection;
use iam_key_fleet::verdict::Verdict;
use support::fake::key_value;
use support::org::FakeOrg;
use support::{scan_options, DAY, NOW};

const CENTRAL: &str = "100000000001";
const MEMBER_A: &str = "200000000002";
const MEMBER_B: &str = "300000000003";
const SHUT_OUT: &str = "400000000004";
const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

async fn run(org: &FakeOrg, accounts: &[&str]) -> EstateReport {
    run_in(org, accounts, &Regions::Listed(strings(&REGIONS))).await
}

async fn run_in(org: &FakeOrg, accounts: &[&str], regions: &Regions) -> EstateReport {
    let targets = Targets {
        accounts: strings(accounts),
        regions: regions.clone(),
        home_region: REGIONS[0].into(),
        parallel: 3,
    };
    let selection = Selection::default();
    scan_estate(org, &targets, &selection, &scan_options(), &()).await
}

fn secrets_of<'a>(report: &'a EstateReport, account: &str, region: &str) -> &'a [SecretReport] {
    let target = report
        .targets
        .iter()
        .find(|t| t.account == account && t.region.as_deref() == Some(region))
        .unwrap_or_else(|| panic!("{account} {region} was not scanned"));
    &target.scan.as_ref().expect("scanned").secrets
}

/// A bound user with one key and its secret in every account and Region, named after both.
fn populated() -> FakeOrg {
    let mut org = FakeOrg::default();
    for account in [CENTRAL, MEMBER_A, MEMBER_B] {
        for region in REGIONS {
            let estate = org.estate(account, region);
            let user = format!("ci-{region}");
            let id = format!("AKIA{}{:012}", &account[..4], region.len());
            estate.key(&user, &id, NOW - 10 * DAY);
            let arn = estate.secret(&format!("ci/{region}"), &key_value(&user, &id), NOW - DAY);
            estate.tag_binding(&user, &arn);
        }
    }
    org
}

#[tokio::test]
async fn every_account_and_region_is_scanned_and_one_refused_is_a_row_with_its_reason() {
    let mut org = populated();
    org.refused.insert(
        SHUT_OUT.into(),
        format!("cannot enter account {SHUT_OUT}: AccessDenied"),
    );
    let report = run(&org, &[CENTRAL, MEMBER_A, MEMBER_B, SHUT_OUT]).await;

    let places: Vec<(String, Option<String>)> = report
        .targets
        .iter()
        .map(|t| (t.account.clone(), t.region.clone()))
        .collect();
    let mut expected = Vec::new();
    for account in [CENTRAL, MEMBER_A, MEMBER_B] {
        for region in REGIONS {
            expected.push((account.to_string(), Some(region.to_string())));
        }
    }
    expected.push((SHUT_OUT.to_string(), None));
    assert_eq!(places, expected, "sorted by account, then Region");
    for account in [CENTRAL, MEMBER_A, MEMBER_B] {
        for region in REGIONS {
            let secrets = secrets_of(&report, account, region);
            assert_eq!(secrets.len(), 1, "{account} {region}");
            assert_eq!(secrets[0].name, format!("ci/{region}"));
            assert!(secrets[0].arn.contains(&format!(":{region}:{account}:")));
        }
    }
    let shut_out = report.targets.last().unwrap();
    assert!(shut_out.error.as_deref().unwrap().contains("AccessDenied"));
    assert!(shut_out.scan.is_none());

    let text = estate_text(&report);
    let header = text.lines().next().unwrap();
    assert!(
        header.starts_with("ACCOUNT") && header.contains("REGION") && header.contains("VERDICT"),
        "{header}"
    );
    let row = text
        .lines()
        .find(|l| l.starts_with(SHUT_OUT))
        .expect("a row for the refused account");
    assert!(row.ends_with("not-scanned"), "{row}");
    assert!(
        text.contains(&format!(
            "{SHUT_OUT} every Region: cannot enter account {SHUT_OUT}"
        )),
        "{text}"
    );
    // The refused account was tried once, not once per Region.
    let entered = org.entered.lock().unwrap();
    assert_eq!(entered.iter().filter(|(a, _)| a == SHUT_OUT).count(), 1);
}

#[tokio::test]
async fn the_organization_lists_only_its_active_accounts() {
    let mut org = populated();
    org.listed.push(OrgAccount {
        id: SHUT_OUT.into(),
        state: "SUSPENDED".into(),
    });
    org.listed.push(OrgAccount {
        id: "500000000005".into(),
        state: "PENDING_CLOSURE".into(),
    });
    let (active, skipped) = active_accounts(&org).await.unwrap();
    assert_eq!(active, strings(&[CENTRAL, MEMBER_A, MEMBER_B]));
    assert_eq!(skipped, 2);
}

/// A replica is reported as such, never as never-rotated; nothing is asked of IAM for it, and
/// no command acts on it.
#[tokio::test]
async fn a_replica_is_shown_as_a_replica_of_its_primary() {
    let mut org = FakeOrg::default();
    let primary = org.estate(CENTRAL, "us-east-1");
    let replica = org.estate(CENTRAL, "eu-west-1");
    primary.key("ci", "AKIACI1XXXXXXXXXXXXX", NOW - DAY);
    let value = key_value("ci", "AKIACI1XXXXXXXXXXXXX");
    primary.secret("ci/prod", &value, NOW - DAY);
    let copy = replica.secret("ci/prod", &value, NOW - DAY);
    replica.make_replica(&copy, "us-east-1");
    let report = run(&org, &[CENTRAL]).await;
    let (in_replica, in_primary) = (
        &secrets_of(&report, CENTRAL, "eu-west-1")[0],
        &secrets_of(&report, CENTRAL, "us-east-1")[0],
    );
    assert_eq!(in_replica.verdict, Verdict::Replica);
    assert!(
        in_replica.findings[0].detail.contains("us-east-1"),
        "{:?}",
        in_replica.findings
    );
    assert!(
        in_replica.key.is_none() && in_replica.user.is_none(),
        "no IAM lookup for a replica"
    );
    assert!(in_replica
        .why_not_actionable()
        .unwrap()
        .starts_with("replica"));
    assert_ne!(in_primary.verdict, Verdict::Replica);
}

/// A central secret names its member account's user: judged with that account's IAM when the
/// run entered it, and reported as not looked at, with the fix, when it did not.
#[tokio::test]
async fn a_central_secret_is_judged_with_its_member_accounts_iam() {
    let mut org = FakeOrg::default();
    let central = org.estate(CENTRAL, REGIONS[0]);
    let member = org.estate(MEMBER_A, REGIONS[0]);
    member.key("deployer", "AKIAMEMBER1XXXXXXXXX", NOW - 200 * DAY);
    let value = serde_json::json!({"UserName": "deployer", "AccountId": MEMBER_A, "AccessKeyId": "AKIAMEMBER1XXXXXXXXX", "SecretAccessKey": "x"});
    let arn = central.secret("ci/member", &value.to_string(), NOW - DAY);
    member.tag_binding("deployer", &arn);
    // A namesake in the central account, which must not be taken for the member's user.
    central.key("deployer", "AKIACENTRALXXXXXXXXX", NOW - DAY);

    let report = run(&org, &[CENTRAL, MEMBER_A]).await;
    let secret = &secrets_of(&report, CENTRAL, REGIONS[0])[0];
    assert_eq!(secret.user_account.as_deref(), Some(MEMBER_A));
    assert_eq!(secret.key.as_ref().unwrap().id, "AKIAMEMBER1XXXXXXXXX");
    assert!(
        secret.key.as_ref().unwrap().exists,
        "found on the member account's user"
    );
    assert_eq!(secret.bound_to.as_deref(), Some(arn.as_str()));
    assert_eq!(secret.verdict, Verdict::Stale, "{:?}", secret.findings);

    let report = run(&org, &[CENTRAL]).await;
    let secret = &secrets_of(&report, CENTRAL, REGIONS[0])[0];
    assert_eq!(secret.verdict, Verdict::Unreadable);
    assert!(secret.findings[0]
        .fix
        .contains(&format!("--accounts including {MEMBER_A}")));
}

/// The values are read 20 at a time with BatchGetSecretValue; a caller refused the batch reads
/// them one by one, after that one refused call.
#[tokio::test]
async fn values_are_read_twenty_at_a_time_and_one_by_one_when_batches_are_refused() {
    for refused in [false, true] {
        let mut org = FakeOrg::default();
        let estate = org.estate(CENTRAL, REGIONS[0]);
        for i in 0..45 {
            let user = format!("ci-{i}");
            let id = format!("AKIACI{i:014}");
            estate.key(&user, &id, NOW - DAY);
            estate.secret(&format!("ci/{i}"), &key_value(&user, &id), NOW - DAY);
        }
        if refused {
            estate.refuse_batches();
        }
        let report = run(&org, &[CENTRAL]).await;
        assert_eq!(secrets_of(&report, CENTRAL, REGIONS[0]).len(), 45);
        let reads = estate.reads();
        let count = |op: &str| reads.iter().filter(|r| **r == op).count();
        let expected = if refused { (1, 45) } else { (3, 0) };
        assert_eq!(
            (count("BatchGetSecretValue"), count("GetSecretValue")),
            expected,
            "refused: {refused}"
        );
    }
}

/// `--regions all`: each account's own enabled Regions, whichever they are.
#[tokio::test]
async fn every_enabled_region_of_each_account_is_scanned() {
    let mut org = populated();
    org.estate(MEMBER_B, "ap-south-1");
    org.enabled.insert(MEMBER_A.into(), strings(&["eu-west-1"]));
    let report = run_in(&org, &[MEMBER_A, MEMBER_B], &Regions::Enabled).await;
    let places: Vec<(&str, &str)> = report
        .targets
        .iter()
        .map(|t| (t.account.as_str(), t.region.as_deref().unwrap()))
        .collect();
    let expected = [
        (MEMBER_A, "eu-west-1"),
        (MEMBER_B, "ap-south-1"),
        (MEMBER_B, "eu-west-1"),
        (MEMBER_B, "us-east-1"),
    ];
    assert_eq!(places, expected);
}
