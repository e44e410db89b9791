//! What one pass over the mirrors did, for the log, the events, the metrics and the caller's
//! decision on the previous key.

use tracing::warn;

use super::read::Failure;
use crate::mirror::Refused;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Held the current key already.
    pub held: Vec<String>,
    /// Written the current key in place of the previous one (or of nothing).
    pub written: Vec<String>,
    /// Written the current key in place of something else: a hand edit.
    pub repaired: Vec<String>,
    /// Not written: they do not agree, or hold what a person must settle.
    pub refused: Vec<Refused>,
    /// Not written: AWS failed, or AWSCURRENT moved; the next attempt may succeed.
    pub failed: Vec<Refused>,
    /// AWSCURRENT moved away from the key being written: what was written may be behind.
    pub current_moved: bool,
    /// AWSCURRENT moved during the pass, which started over with its newer value: a step must not
    /// act on a previous key it read before the move.
    pub restarted: bool,
}

impl Report {
    pub(super) fn not_written(&mut self, failure: Failure) {
        match failure {
            Failure::Refused(refused) => {
                warn!(mirror = %refused.target, reason = %refused.reason, "the mirror was not written: refused");
                self.refused.push(refused);
            }
            Failure::Failed(failed) => {
                warn!(mirror = %failed.target, reason = %failed.reason, "the mirror was not written: failed");
                self.failed.push(failed);
            }
        }
    }

    /// This report followed by `later`, a pass over the newer key: what is written counts once
    /// for each pass, what is not written is the later pass's word.
    pub(super) fn then(self, later: Report) -> Report {
        let mut written = self.written;
        written.extend(later.written);
        let mut repaired = self.repaired;
        repaired.extend(later.repaired);
        Report {
            written,
            repaired,
            restarted: self.restarted || later.restarted,
            ..later
        }
    }

    /// Whether every mirror the user names holds the current key: the condition for acting on
    /// the previous key (a consumer reading a mirror not written still uses it).
    pub fn all_hold(&self) -> bool {
        self.refused.is_empty() && self.failed.is_empty() && !self.current_moved
    }

    /// Whether the user names any mirror at all.
    pub fn any_named(&self) -> bool {
        !(self.held.is_empty()
            && self.written.is_empty()
            && self.repaired.is_empty()
            && self.refused.is_empty()
            && self.failed.is_empty())
    }
}
