//! What `enable`, `rotate` and `unstick` did (or, in a dry run, would do) to each secret.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Dry run: what `--apply` would do.
    WouldDo,
    Done,
    /// Already as asked: nothing to do.
    Unchanged,
    /// Not acted on, for the reason given.
    Skipped,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::WouldDo => "would do",
            Outcome::Done => "done",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SecretOutcome {
    pub secret: String,
    pub outcome: Outcome,
    /// The action, or why not; never secret material.
    pub detail: String,
}

impl SecretOutcome {
    pub fn new(secret: &str, outcome: Outcome, detail: impl Into<String>) -> Self {
        SecretOutcome {
            secret: secret.to_owned(),
            outcome,
            detail: detail.into(),
        }
    }
}

/// Counts per outcome, for the summary line and the exit code.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub would_do: usize,
    pub done: usize,
    pub unchanged: usize,
    pub skipped: usize,
    pub failed: usize,
}

impl Summary {
    pub fn of(outcomes: &[SecretOutcome]) -> Self {
        let mut summary = Summary::default();
        for o in outcomes {
            *match o.outcome {
                Outcome::WouldDo => &mut summary.would_do,
                Outcome::Done => &mut summary.done,
                Outcome::Unchanged => &mut summary.unchanged,
                Outcome::Skipped => &mut summary.skipped,
                Outcome::Failed => &mut summary.failed,
            } += 1;
        }
        summary
    }
}
