//! Times in the fleet command: seconds since the epoch inside, RFC 3339 in reports, words in
//! findings.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serializer;

pub const DAY: i64 = 86_400;

pub fn epoch_seconds(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The inverse of [`epoch_seconds`], for the rotator's decisions, which speak `SystemTime`.
pub fn from_epoch_seconds(seconds: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds.max(0) as u64)
}

/// `2026-11-23T10:04:05Z`.
pub fn rfc3339(seconds: i64) -> String {
    aws_sdk_iam::primitives::DateTime::from_secs(seconds)
        .fmt(aws_sdk_iam::primitives::DateTimeFormat::DateTime)
        .unwrap_or_else(|_| seconds.to_string())
}

/// For `#[serde(serialize_with)]`: an optional time as RFC 3339, or null.
pub fn serialize_rfc3339<S: Serializer>(seconds: &Option<i64>, to: S) -> Result<S::Ok, S::Error> {
    match seconds {
        Some(s) => to.serialize_str(&rfc3339(*s)),
        None => to.serialize_none(),
    }
}

/// "3 days", "5 hours", "40 minutes", "12 seconds".
pub fn human_age(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (n, unit) = match seconds {
        s if s >= 2 * DAY => (s / DAY, "days"),
        s if s >= 7_200 => (s / 3_600, "hours"),
        s if s >= 120 => (s / 60, "minutes"),
        s => (s, "seconds"),
    };
    format!("{n} {unit}")
}
