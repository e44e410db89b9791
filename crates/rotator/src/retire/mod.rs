//! The sweep (§16): on EventBridge's schedule, the same function visits every secret it rotates
//! and retires each previous key by its use: deactivated once idle, deleted after a quarantine,
//! an alarm while still in use past the deadline. `decide.rs` holds the policy, `visit.rs` one
//! secret's reads and decision, `act.rs` its action, `mirrors.rs` the pass over its mirrors
//! (§19), this file the walk over all of them.

mod act;
pub mod decide;
mod mirrors;
mod previous;
mod visit;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::{self, StreamExt};

use serde::Serialize;
use tokio::time::Instant;
use tracing::{info, info_span, warn, Instrument};

use crate::error::Problem;
use crate::metrics::{self, Unit};
use crate::mirror_writes::Report;
use crate::rotation::Rotator;
pub use act::Outcome;
pub use previous::{judge_values, pending_version, unchanged, Found, Previous, Skip};
pub use visit::{judge_keys, KeysVerdict};

/// How many secrets are visited at once.
pub const CONCURRENT_VISITS: usize = 8;

/// The longest one secret's visit may take (a few calls; the SDK's retries included).
pub const VISIT_TIMEOUT: Duration = Duration::from_secs(30);

/// No secret is started with less than this left before the Lambda's deadline: a whole visit,
/// and the answer must still reach the runtime.
pub const SWEEP_MARGIN: Duration = Duration::from_secs(35);

/// What one sweep did: the function's answer to the schedule, and its last log line.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Secrets whose RotationLambdaARN names this function.
    pub secrets: usize,
    pub visited: usize,
    pub settled: usize,
    pub waiting: usize,
    pub deactivated: usize,
    pub deleted: usize,
    pub marked_inactive: usize,
    pub alarmed: usize,
    /// Left alone, by reason.
    pub skipped: BTreeMap<&'static str, usize>,
    /// Visits that met an AWS error; the next sweep visits them again.
    pub failed: usize,
    /// Not reached before the deadline; the next sweep starts elsewhere.
    pub cut_short: usize,
    /// Mirrors (§19) written the current key, repaired (written by hand), and not written.
    pub mirrors_written: usize,
    pub mirrors_repaired: usize,
    pub mirrors_not_written: usize,
}

impl SweepReport {
    fn count(&mut self, (outcome, mirrors): (Outcome, Report)) {
        self.visited += 1;
        self.mirrors_written += mirrors.written.len();
        self.mirrors_repaired += mirrors.repaired.len();
        self.mirrors_not_written += mirrors.refused.len() + mirrors.failed.len();
        let counter = match outcome {
            Outcome::Settled => &mut self.settled,
            Outcome::Waiting => &mut self.waiting,
            Outcome::Deactivated => &mut self.deactivated,
            Outcome::Deleted => &mut self.deleted,
            Outcome::Marked => &mut self.marked_inactive,
            Outcome::Alarmed => &mut self.alarmed,
            Outcome::Skipped(skip) => self.skipped.entry(skip.as_str()).or_default(),
        };
        *counter += 1;
    }
}

impl Rotator {
    /// Visits every secret rotated by `own_arn` (the function's unqualified ARN) until `deadline`
    /// comes near. A secret's problem is logged and counted, never the sweep's end: only a failed
    /// ListSecrets fails the sweep.
    pub async fn sweep(&self, own_arn: &str, deadline: Instant) -> Result<SweepReport, Problem> {
        let listed = self.secrets.list_secrets().await?;
        let mut ours: Vec<String> = listed
            .into_iter()
            .filter(|s| s.rotation_enabled && s.rotation_lambda_arn.as_deref() == Some(own_arn))
            .map(|s| s.arn)
            .collect();
        ours.sort();
        let mut report = SweepReport {
            secrets: ours.len(),
            ..SweepReport::default()
        };
        let started = self.clock.now();
        let since_epoch = started.duration_since(UNIX_EPOCH).unwrap_or_default();
        let tick = since_epoch.as_secs() / self.config.sweep_interval.as_secs().max(1);
        let start = start_offset(ours.len(), tick);
        let order = ours.iter().cycle().skip(start).take(ours.len());
        // A few secrets at once, on the one thread: each visit waits on AWS most of its time.
        let visits = stream::iter(order)
            .map(|arn| self.visit_in_time(own_arn, arn, started, deadline))
            .buffer_unordered(CONCURRENT_VISITS);
        let visited: Vec<Option<Option<(Outcome, Report)>>> = visits.collect().await;
        for visit in visited {
            match visit {
                Some(Some(outcome)) => report.count(outcome),
                Some(None) => {
                    report.visited += 1;
                    report.failed += 1;
                }
                None => report.cut_short += 1,
            }
        }
        if report.cut_short > 0 {
            warn!(
                not_reached = report.cut_short,
                "the sweep ran out of time; the next one starts elsewhere"
            );
        }
        info!(report = ?report, "sweep done");
        let count = |n: usize| n as f64;
        let skipped = report.skipped.values().sum();
        metrics::emit(&[
            ("SweepVisited", count(report.visited), Unit::Count),
            ("SweepFailed", count(report.failed), Unit::Count),
            ("SweepCutShort", count(report.cut_short), Unit::Count),
            ("SweepSkipped", count(skipped), Unit::Count),
            ("KeysDeactivated", count(report.deactivated), Unit::Count),
            ("KeysDeleted", count(report.deleted), Unit::Count),
            (
                "PreviousKeysInUsePastDeadline",
                count(report.alarmed),
                Unit::Count,
            ),
        ]);
        Ok(report)
    }

    /// One secret's visit: `None` when too little time is left to begin it, `Some(None)` when it
    /// failed (logged; the next sweep visits it again).
    async fn visit_in_time(
        &self,
        own_arn: &str,
        arn: &str,
        started: SystemTime,
        deadline: Instant,
    ) -> Option<Option<(Outcome, Report)>> {
        if deadline.saturating_duration_since(Instant::now()) < SWEEP_MARGIN {
            return None;
        }
        let span = info_span!("sweep", secret = %arn);
        let visit = visit::visit(self, own_arn, arn, started).instrument(span.clone());
        let problem = match tokio::time::timeout(VISIT_TIMEOUT, visit).await {
            Ok(Ok(visited)) => {
                span.in_scope(|| info!(outcome = ?visited.0, "visited"));
                return Some(Some(visited));
            }
            Ok(Err(problem)) => problem.to_string(),
            Err(_) => format!(
                "the visit took more than {VISIT_TIMEOUT:?}; the next sweep visits the secret again"
            ),
        };
        span.in_scope(|| warn!("{problem}"));
        Some(None)
    }
}

/// Where in the sorted list the sweep of `tick` starts: `tick × stride` round the list, with a
/// stride near the golden section of its length and prime to it. Over `len` ticks every secret is
/// a start once, and two sweeps in a row never start at the same place, so a sweep cut short (or
/// killed by one poisonous secret) does not always leave the same secrets out. (No proof of
/// fairness: the secrets just past a poisonous one wait until a start lands behind it.)
pub fn start_offset(len: usize, tick: u64) -> usize {
    if len < 2 {
        return 0;
    }
    let len = len as u64;
    let mut stride = ((len as f64 * 0.618_033_988_749_895).round() as u64).max(1);
    while gcd(stride, len) != 1 {
        stride += 1;
    }
    ((tick % len) * stride % len) as usize
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}
