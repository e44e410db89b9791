//! A key pair held by two secrets (§15): whoever can read either has the key, and binding the
//! user to one of them would hand its next keys to whoever writes that one. An attacker with a
//! leaked key can store it in a secret of their own, in any Region or account they may write: so
//! every secret the run read counts, whichever account and Region it is in. A mirror paired both
//! ways with its source (§19) holds the key by design, and counts as the source's.

use std::collections::BTreeMap;

use super::report::SecretReport;
use super::verdict::Verdict;

/// Marks each secret whose key another secret of `reports` also holds `duplicate-key`, naming
/// the others. Marking again (over more secrets: the whole estate) replaces the earlier finding.
pub fn mark(reports: &mut [&mut SecretReport]) {
    let pairs = Pairs::of(reports);
    let mut holders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for report in reports.iter() {
        if let Some(id) = &report.held_key {
            holders
                .entry(id.clone())
                .or_default()
                .push(report.arn.clone());
        }
    }
    for report in reports.iter_mut() {
        report
            .findings
            .retain(|f| f.verdict != Verdict::DuplicateKey);
        report.rejudge();
        let Some(id) = report.held_key.clone() else {
            continue;
        };
        let others: Vec<&str> = holders[&id]
            .iter()
            .filter(|arn| **arn != report.arn && !pairs.paired(arn, &report.arn))
            .map(String::as_str)
            .collect();
        if !others.is_empty() {
            report.add(
                Verdict::DuplicateKey,
                format!("the key {id} is also held by {}: whoever can read any of them has it, and binding the user to one of them would give its next keys to whoever writes that one", others.join(", ")),
                "keep the key in the one secret that should rotate the user: delete the others (or their value), rotate the key, and have an IAM administrator bind that secret (`iam-key-fleet enable --bind`)",
            );
        }
    }
}

/// Who mirrors whom (§19), by ARN: the source each secret claims, and the mirrors each source's
/// user names (bound or not yet: as `enable`'s sole-holder rule counts them).
struct Pairs {
    claims: BTreeMap<String, String>,
    named: BTreeMap<String, Vec<String>>,
}

impl Pairs {
    fn of(reports: &[&mut SecretReport]) -> Pairs {
        let claims = reports
            .iter()
            .filter_map(|r| Some((r.arn.clone(), r.mirror_of.clone()?)));
        let named = (reports.iter()).map(|r| (r.arn.clone(), r.named_mirrors.clone()));
        Pairs {
            claims: claims.collect(),
            named: named.collect(),
        }
    }

    /// A mirror of a source that names it: it holds the key by design, not as a leak. Only when
    /// both sides agree: a secret that merely claims a source (anyone may tag their own) is a
    /// holder like any other.
    fn mirrors(&self, mirror: &str, source: &str) -> bool {
        self.claims.get(mirror).is_some_and(|s| s == source)
            && self
                .named
                .get(source)
                .is_some_and(|n| n.iter().any(|m| m == mirror))
    }

    /// `a` and `b` are a source and its mirror, or two mirrors of one source.
    fn paired(&self, a: &str, b: &str) -> bool {
        let siblings = self.claims.get(a).is_some_and(|source| {
            self.claims.get(b) == Some(source) && self.mirrors(a, source) && self.mirrors(b, source)
        });
        self.mirrors(a, b) || self.mirrors(b, a) || siblings
    }
}
