//! A key pair held by two secrets (§15): whoever can read either has the key, and binding the
//! user to one of them would hand its next keys to whoever writes that one. An attacker with a
//! leaked key can store it in a secret of their own, in any Region or account they may write: so
//! every secret the run read counts, whichever account and Region it is in.

use std::collections::BTreeMap;

use super::report::SecretReport;
use super::verdict::Verdict;

/// Marks each secret whose key another secret of `reports` also holds `duplicate-key`, naming
/// the others. Marking again (over more secrets: the whole estate) replaces the earlier finding.
pub fn mark(reports: &mut [&mut SecretReport]) {
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
            .filter(|arn| **arn != report.arn)
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
