//! What a mirror pass tells people: a lifecycle event for each mirror written, repaired or not
//! written (the last routed to the alarm topic: a mirror not written keeps the previous key, and
//! one that is refused waits for a person), and EMF counts. ARNs and reasons, never a value.

use serde_json::json;

use super::report::Report;
use crate::aws::Events;
use crate::holder::Holder;
use crate::lifecycle::{self, Subject};
use crate::metrics::{self, Unit};

pub const MIRROR_WRITTEN: &str = "Mirror Written";
pub const MIRROR_REPAIRED: &str = "Mirror Repaired";
pub const MIRROR_NOT_WRITTEN: &str = "Mirror Not Written";

/// The events and metrics of one pass over the mirrors of `secret_arn`, whose key `key_id` of
/// `user` they were to hold ("Mirror Not Written" only with `failures`). A user who names no
/// mirror gets neither.
pub async fn announce(
    events: &dyn Events,
    (secret_arn, user, key_id): (&str, &Holder, &str),
    report: &Report,
    failures: bool,
) {
    if !report.any_named() {
        return;
    }
    let subject = Subject {
        secret_arn,
        user,
        key_id,
    };
    let done = report
        .written
        .iter()
        .map(|arn| (MIRROR_WRITTEN, json!({ "mirrorArn": arn })))
        .chain((report.repaired.iter()).map(|arn| (MIRROR_REPAIRED, json!({ "mirrorArn": arn }))));
    let refused = report.refused.iter().map(|r| (r, true));
    let not_written = refused.chain(report.failed.iter().map(|r| (r, false)));
    let not_written = not_written.map(|(r, refused)| {
        let detail = json!({ "mirrorArn": r.target, "reason": r.reason, "refused": refused });
        (MIRROR_NOT_WRITTEN, detail)
    });
    let not_written = not_written.filter(|_| failures);
    for (detail_type, extra) in done.chain(not_written) {
        lifecycle::publish(events, lifecycle::event(detail_type, &subject, extra)).await;
    }
    let count = |n: usize| n as f64;
    let not_written = report.refused.len() + report.failed.len();
    metrics::emit(&[
        ("MirrorsWritten", count(report.written.len()), Unit::Count),
        ("MirrorsRepaired", count(report.repaired.len()), Unit::Count),
        ("MirrorsNotWritten", count(not_written), Unit::Count),
    ]);
}
