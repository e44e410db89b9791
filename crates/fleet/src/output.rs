//! Tables for people; the same reports as JSON for machines (`--json`).

use std::collections::BTreeMap;
use std::fmt::Write;

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
        s.user.clone().unwrap_or_else(|| "-".into()),
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

pub fn scan_text(report: &ScanReport) -> String {
    let rows: Vec<Vec<String>> = report.secrets.iter().map(row).collect();
    let mut out = table(
        &[
            "SECRET",
            "USER",
            "KEY",
            "AGE",
            "LAST USED",
            "ROTATION",
            "LAST ROTATED",
            "NEXT",
            "VERDICT",
        ],
        &rows,
    );
    let troubled: Vec<&SecretReport> = report
        .secrets
        .iter()
        .filter(|s| !s.findings.is_empty())
        .collect();
    if !troubled.is_empty() {
        out.push_str("\nFindings:\n");
        for s in troubled {
            for f in &s.findings {
                let _ = writeln!(
                    out,
                    "  {}: {}: {}. Fix: {}.",
                    s.name, f.verdict, f.detail, f.fix
                );
            }
        }
    }
    if let Some(users) = &report.users_without_secret {
        out.push_str("\nUsers on the path with keys but no secret:\n");
        if users.is_empty() {
            out.push_str("  none\n");
        }
        for u in users {
            let _ = writeln!(out, "  {}: {}", u.user, u.keys.join(", "));
        }
    }
    let mut counts: BTreeMap<_, usize> = BTreeMap::new();
    for s in &report.secrets {
        *counts.entry(s.verdict).or_default() += 1;
    }
    let counts: Vec<String> = counts.iter().map(|(v, n)| format!("{n} {v}")).collect();
    let _ = writeln!(
        out,
        "\n{} secrets listed, {} hold AWS access keys{}{}",
        report.secrets_listed,
        report.secrets.len(),
        if counts.is_empty() { "" } else { ": " },
        counts.join(", ")
    );
    out
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
