//! Shared by the fleet crate's tests.
#![allow(dead_code)]

pub mod fake;
pub mod org;

use iam_key_fleet::aws::Schedule;
use iam_key_fleet::bind::Bind;
use iam_key_fleet::claims::Scope;
use iam_key_fleet::enable::{enable, EnableOptions};
use iam_key_fleet::outcome::{Outcome, SecretOutcome};
use iam_key_fleet::report::SecretReport;
use iam_key_fleet::scan::ScanOptions;
use iam_key_fleet::verdict::Limits;

use fake::{FakeEstate, FUNCTION};
use org::FakeOrg;

/// The outcome is `expected`, its detail says `says`, and nothing changed.
#[track_caller]
pub fn unchanged(home: &FakeEstate, outcome: &SecretOutcome, expected: Outcome, says: &str) {
    assert_eq!(outcome.outcome, expected, "{}", outcome.detail);
    assert!(outcome.detail.contains(says), "{}", outcome.detail);
    assert_eq!(home.changes(), Vec::<String>::new());
}

pub const NOW: i64 = 1_800_000_000;
pub const DAY: i64 = 86_400;

/// The scan's options the tests use: now is NOW, a day of grace and idle time.
pub fn scan_options() -> ScanOptions {
    ScanOptions {
        template: None,
        limits: Limits {
            now: NOW,
            max_key_age_days: 90,
            pending_grace_seconds: 900,
            overdue_grace_seconds: DAY,
            retire_idle_seconds: DAY,
        },
        concurrency: 4,
        user_path: None,
        accounts: Default::default(),
    }
}

/// `enable` of `secrets` in `home` with `binds` (rate(30 days), the fake's function), the whole
/// organization as the claim check's scope.
pub async fn enable_in(
    org: &FakeOrg,
    home: &FakeEstate,
    secrets: &[SecretReport],
    binds: &[Bind],
    apply: bool,
) -> Vec<SecretOutcome> {
    let schedule = Schedule {
        expression: "rate(30 days)".into(),
        window: None,
    };
    let options = EnableOptions {
        function_arn: FUNCTION,
        schedule: &schedule,
        binds,
        apply,
    };
    let scope = Scope {
        estate: org,
        accounts: org.listed.iter().map(|a| a.id.clone()).collect(),
        parallel: 2,
        concurrency: 2,
    };
    enable(home, secrets, &options, &scope).await
}
