//! An AWS credentials file, read as botocore reads it (configparser): what this module cannot
//! read the same way is refused.

use super::lines::{lines, span, Assignment};

/// The id's and the secret's option names (read without case).
pub const CREDENTIALS_NAMES: [&str; 2] = ["aws_access_key_id", "aws_secret_access_key"];
/// Options that make a profile something else than its key pair: temporary credentials, or
/// other credentials a tool takes instead (a role to assume, a process, single sign-on).
pub const CREDENTIALS_REFUSED: [&str; 10] = [
    "aws_session_token",
    "aws_security_token",
    "role_arn",
    "source_profile",
    "credential_source",
    "credential_process",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
    "sso_account_id",
];

/// A credentials file's profile: its name, where its last line ends, its assignments.
pub struct Profile<'a> {
    pub name: &'a str,
    pub end: usize,
    pub assignments: Vec<Assignment<'a>>,
}

/// A profile name as this module writes and reads it.
pub fn valid_profile(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@+/".contains(c))
}

/// A credentials file's profiles, in one pass, as botocore reads the file: option names without
/// case, `=` or `:` between name and value, `#` and `;` comments on their own lines.
pub fn profiles(text: &str) -> Result<Vec<Profile<'_>>, String> {
    let mut found: Vec<Profile<'_>> = Vec::new();
    for (number, at, line) in lines(text)? {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            return Err(format!("line {number} is indented: a tool reads it as the line above's continuation; unindent it"));
        }
        if trimmed.starts_with('[') {
            let name = trimmed
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .filter(|n| valid_profile(n));
            let Some(name) = name else {
                return Err(format!("line {number} is a profile header this function does not read: `[name]` alone, the name of letters, digits and - _ . @ + /"));
            };
            if found.iter().any(|p| p.name == name) {
                return Err(format!(
                    "the profile on line {number} is given twice: keep one"
                ));
            }
            found.push(Profile {
                name,
                end: at + line.len(),
                assignments: Vec::new(),
            });
            continue;
        }
        let Some(profile) = found.last_mut() else {
            return Err(format!("line {number} comes before any profile header"));
        };
        let Some(split) = line.find(['=', ':']) else {
            return Err(format!("line {number} is not `name = value`"));
        };
        let (name, value) = (line[..split].trim(), line[split + 1..].trim());
        profile.assignments.push(Assignment {
            line: number,
            name,
            value: span(at, line, value),
        });
        profile.end = at + line.len();
    }
    Ok(found)
}
