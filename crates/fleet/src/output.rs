//! Tables for people; the same reports as JSON for machines (`--json`).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::estate::EstateReport;
use super::outcome::{SecretOutcome, Summary};
use super::report::{ScanReport, SecretReport};
use super::time::rfc3339;

/// Left-aligned columns, two spaces apart.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", text.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// The day of an RFC 3339 time, or "-".
fn date(time: &Option<String>) -> String {
    time.as_deref()
        .map(|d| d.get(..10).unwrap_or(d).to_owned())
        .unwrap_or_else(|| "-".into())
}

fn row(s: &SecretReport) -> Vec<String> {
    let key = s.key.as_ref();
    let rotation = if s.rotation.enabled {
        s.rotation.schedule.clone().unwrap_or_else(|| "on".into())
    } else {
        "off".into()
    };
    vec![
        s.name.clone(),
        match (&s.user, &s.user_account) {
            (Some(user), Some(account)) => format!("{user} ({account})"),
            (Some(user), None) => user.clone(),
            (None, _) => "-".into(),
        },
        key.map(|k| match (k.exists, k.active) {
            (true, true) => k.id.clone(),
            (true, false) => format!("{} (inactive)", k.id),
            (false, _) => format!("{} (missing)", k.id),
        })
        .unwrap_or_else(|| "-".into()),
        key.and_then(|k| k.age_days)
            .map(|d| format!("{d}d"))
            .unwrap_or_else(|| "-".into()),
        key.map(|k| date(&k.last_used))
            .unwrap_or_else(|| "-".into()),
        rotation,
        date(&s.rotation.last_rotated.map(rfc3339)),
        date(&s.rotation.next_rotation.map(rfc3339)),
        s.verdict.to_string(),
    ]
}

const SCAN_HEADER: [&str; 9] = [
    "SECRET",
    "USER",
    "KEY",
    "AGE",
    "LAST USED",
    "ROTATION",
    "LAST ROTATED",
    "NEXT",
    "VERDICT",
];

pub fn scan_text(report: &ScanReport) -> String {
    let rows: Vec<Vec<String>> = report.secrets.iter().map(row).collect();
    let mut out = table(&SCAN_HEADER, &rows);
    findings(&mut out, &finding_lines("", &report.secrets));
    if let Some(users) = &report.users_without_secret {
        out.push_str("\nUsers on the path with keys but no secret:\n");
        if users.is_empty() {
            out.push_str("  none\n");
        }
        for u in users {
            let _ = writeln!(out, "  {}: {}", u.user, u.keys.join(", "));
        }
    }
    let _ = writeln!(
        out,
        "\n{} secrets listed, {}",
        report.secrets_listed,
        holding(&report.secrets)
    );
    out
}

/// A line per finding, headed by `label` and the secret's name.
fn finding_lines(label: &str, secrets: &[SecretReport]) -> Vec<String> {
    let each = |s: &SecretReport| {
        let lines = s.findings.iter().map(|f| {
            format!(
                "  {label}{}: {}: {}. Fix: {}.",
                s.name, f.verdict, f.detail, f.fix
            )
        });
        lines.collect::<Vec<_>>()
    };
    secrets.iter().flat_map(each).collect()
}

/// The findings section, when there are any.
fn findings(out: &mut String, lines: &[String]) {
    if !lines.is_empty() {
        out.push_str("\nFindings:\n");
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
    }
}

/// "3 hold AWS access keys: 1 stale, 2 ok".
fn holding<'a>(secrets: impl IntoIterator<Item = &'a SecretReport>) -> String {
    let mut counts: BTreeMap<_, usize> = BTreeMap::new();
    let mut total = 0;
    for s in secrets {
        *counts.entry(s.verdict).or_default() += 1;
        total += 1;
    }
    let counts: Vec<String> = counts.iter().map(|(v, n)| format!("{n} {v}")).collect();
    let colon = if counts.is_empty() { "" } else { ": " };
    format!("{total} hold AWS access keys{colon}{}", counts.join(", "))
}

/// One table for the whole estate, ACCOUNT and REGION first; an account or Region that could
/// not be scanned is a row saying so, with its reason below.
pub fn estate_text(report: &EstateReport) -> String {
    let header: Vec<&str> = ["ACCOUNT", "REGION"]
        .into_iter()
        .chain(SCAN_HEADER)
        .collect();
    let mut rows = Vec::new();
    for target in &report.targets {
        let region = target.region.clone().unwrap_or_else(|| "*".into());
        let place = [target.account.clone(), region];
        match &target.scan {
            Some(scan) => rows.extend(
                scan.secrets
                    .iter()
                    .map(|s| place.iter().cloned().chain(row(s)).collect()),
            ),
            None => {
                let mut cells: Vec<String> = place.to_vec();
                cells.extend(SCAN_HEADER.iter().map(|_| "-".to_owned()));
                *cells.last_mut().expect("a verdict column") = "not-scanned".into();
                rows.push(cells);
            }
        }
    }
    let mut out = table(&header, &rows);
    let scanned = report
        .targets
        .iter()
        .filter_map(|t| Some((t, t.scan.as_ref()?)));
    let mut lines = Vec::new();
    for (target, scan) in scanned.clone() {
        let region = target.region.as_deref().unwrap_or("*");
        lines.extend(finding_lines(
            &format!("{} {region} ", target.account),
            &scan.secrets,
        ));
    }
    findings(&mut out, &lines);
    let unscanned: Vec<_> = report
        .targets
        .iter()
        .filter(|t| t.error.is_some())
        .collect();
    if !unscanned.is_empty() {
        out.push_str("\nNot scanned:\n");
        for t in &unscanned {
            let region = t.region.as_deref().unwrap_or("every Region");
            let _ = writeln!(
                out,
                "  {} {region}: {}",
                t.account,
                t.error.as_deref().unwrap_or_default()
            );
        }
    }
    let accounts: std::collections::BTreeSet<&str> =
        report.targets.iter().map(|t| t.account.as_str()).collect();
    let listed: usize = scanned.clone().map(|(_, s)| s.secrets_listed).sum();
    let _ = writeln!(
        out,
        "\n{} accounts ({} not scanned{}), {} secrets listed, {}",
        accounts.len(),
        unscanned.len(),
        if report.accounts_skipped > 0 {
            format!(
                ", {} not active in the organization and skipped",
                report.accounts_skipped
            )
        } else {
            String::new()
        },
        listed,
        holding(scanned.flat_map(|(_, s)| &s.secrets))
    );
    out
}

/// The shape of enable's, rotate's and unstick's `--json`.
pub const OUTCOMES_SCHEMA: &str = "iam-key-fleet/outcomes/v1";

/// The outcomes as JSON: `command`, `dry_run`, each outcome and the summary.
pub fn outcomes_json(command: &str, outcomes: &[SecretOutcome], dry_run: bool) -> String {
    let out = serde_json::json!({
        "schema": OUTCOMES_SCHEMA,
        "command": command,
        "dry_run": dry_run,
        "outcomes": outcomes,
        "summary": Summary::of(outcomes),
    });
    serde_json::to_string_pretty(&out).expect("outcomes serialize")
}

pub fn outcomes_text(outcomes: &[SecretOutcome], dry_run: bool) -> String {
    let rows: Vec<Vec<String>> = outcomes
        .iter()
        .map(|o| {
            vec![
                o.secret.clone(),
                o.outcome.as_str().to_owned(),
                o.detail.clone(),
            ]
        })
        .collect();
    let mut out = table(&["SECRET", "OUTCOME", "DETAIL"], &rows);
    let s = Summary::of(outcomes);
    let _ = writeln!(
        out,
        "\n{} secrets: {} done, {} would do, {} unchanged, {} skipped, {} failed",
        outcomes.len(),
        s.done,
        s.would_do,
        s.unchanged,
        s.skipped,
        s.failed
    );
    if dry_run && s.would_do > 0 {
        out.push_str("Dry run: nothing changed. Run again with --apply to act.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let text = table(&["A", "LONGER"], &[vec!["wide cell".into(), "x".into()]]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "A          LONGER");
        assert_eq!(lines[1], "wide cell  x");
    }
}
