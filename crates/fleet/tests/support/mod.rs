//! Shared by the fleet crate's tests.
#![allow(dead_code)]

pub mod fake;
pub mod org;

use iam_key_fleet::scan::ScanOptions;
use iam_key_fleet::verdict::Limits;

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
