//! A dotenv text, read as python-dotenv and Node's dotenv both read it: what they would read
//! differently is refused.

use super::lines::{lines, span, Assignment};

/// The id's, the secret's and the session token's names, as the AWS SDKs read them.
pub const DOTENV_NAMES: [&str; 3] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// A dotenv text's assignments of the three names: `NAME=value`, `export NAME=value`, the value
/// bare or quoted. A line naming one of them in any other form is refused.
pub fn dotenv_assignments(text: &str) -> Result<Vec<Assignment<'_>>, String> {
    let mut found = Vec::new();
    for (number, at, line) in lines(text)? {
        let mut rest = line.trim_start();
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        if let Some(after) = rest
            .strip_prefix("export")
            .filter(|a| a.starts_with([' ', '\t']))
        {
            rest = after.trim_start();
        }
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(name_len);
        let ours = DOTENV_NAMES.contains(&name);
        let Some(value) = after.trim_start().strip_prefix('=') else {
            if DOTENV_NAMES.iter().any(|n| line.contains(n)) {
                return Err(format!("line {number} names an AWS key variable in a form this function does not read: write NAME=value"));
            }
            continue;
        };
        if !ours {
            continue;
        }
        let value = value.trim();
        let (inner, tail) = match value.chars().next() {
            Some(q @ ('"' | '\'' | '`')) => match value[1..].split_once(q) {
                Some((inner, tail)) => (inner, tail),
                None => return Err(format!("line {number}: its quote is never closed")),
            },
            _ => value.split_at(value.find([' ', '\t']).unwrap_or(value.len())),
        };
        let tail = tail.trim_start();
        if inner.contains(['#', '\\', '$']) || !(tail.is_empty() || tail.starts_with('#')) {
            return Err(format!("line {number}: its value is one dotenv tools read differently (a #, \\ or $ in it, or text after it)"));
        }
        found.push(Assignment {
            line: number,
            name,
            value: span(at, line, inner),
        });
    }
    Ok(found)
}
