//! A dotenv text, read as python-dotenv and Node's dotenv both read it: what they would read
//! differently is refused.

use super::lines::{lines, span, Assignment};

/// The id's and the secret's names, as the AWS SDKs read them.
pub const DOTENV_NAMES: [&str; 2] = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
/// Names that make the pair something else: a session token (temporary credentials).
pub const DOTENV_REFUSED: [&str; 2] = ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"];

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
        let ours = DOTENV_NAMES.contains(&name) || DOTENV_REFUSED.contains(&name);
        let Some(value) = after.trim_start().strip_prefix('=') else {
            if DOTENV_NAMES
                .iter()
                .chain(&DOTENV_REFUSED)
                .any(|n| line.contains(n))
            {
                return Err(format!("line {number} names an AWS key variable in a form this function does not read: write NAME=value"));
            }
            continue;
        };
        let value = value.trim();
        // A quote left open runs on over the next lines for the loaders, hiding them: whatever
        // the variable, it is refused.
        let (inner, tail) = match value.chars().next() {
            Some(q @ ('"' | '\'')) => match value[1..].split_once(q) {
                Some((inner, tail)) => (inner, tail),
                None => {
                    return Err(format!(
                        "line {number}: its quote is not closed on the line"
                    ))
                }
            },
            _ => value.split_at(value.find([' ', '\t']).unwrap_or(value.len())),
        };
        if !ours {
            continue;
        }
        let tail = tail.trim_start();
        let odd = ['#', '\\', '$', '`', '"', '\''];
        if inner.contains(odd) || !(tail.is_empty() || tail.starts_with('#')) {
            return Err(format!("line {number}: its value is one dotenv tools read differently (a quote, #, \\, $ or ` in it, or text after it)"));
        }
        found.push(Assignment {
            line: number,
            name,
            value: span(at, line, inner),
        });
    }
    Ok(found)
}
