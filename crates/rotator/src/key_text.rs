//! Key pairs kept as the text a consumer writes to disk as it is (issue 23): an AWS credentials
//! file (`[profile]`, `aws_access_key_id = ...`) and a dotenv file (`AWS_ACCESS_KEY_ID=...`).
//!
//! Reading finds the pair's two values; writing replaces exactly those two values and keeps every
//! other byte (comments, other profiles, other variables, line endings). A text a consumer's tool
//! would read two ways is refused, never guessed at: a name given twice, a profile given twice, a
//! session token (temporary credentials, not an IAM user's key). Messages name lines and fields,
//! never a value: the text is the secret.

use std::ops::Range;

use crate::key_id::check_access_key_id;

/// Which text, and for a credentials file, which profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextFormat {
    CredentialsFile { profile: String },
    Dotenv,
}

/// Where the pair sits in a text: each value's bytes (either may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pair {
    pub id: Option<Range<usize>>,
    pub secret: Option<Range<usize>>,
}

impl TextFormat {
    /// The names of the id, the secret and the session token in this text.
    fn names(&self) -> [&'static str; 3] {
        match self {
            TextFormat::CredentialsFile { .. } => [
                "aws_access_key_id",
                "aws_secret_access_key",
                "aws_session_token",
            ],
            TextFormat::Dotenv => [
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
            ],
        }
    }
}

/// One assignment of a text: its line (from 1), its name, and its value's bytes.
struct Assignment<'a> {
    line: usize,
    name: &'a str,
    value: Range<usize>,
}

/// Lines with their start offsets, without their `\n` or `\r\n`.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0;
    text.split_inclusive('\n').map(move |raw| {
        let at = start;
        start += raw.len();
        (at, raw.trim_end_matches('\n').trim_end_matches('\r'))
    })
}

/// The range of `part` (a sub-slice of `line`, which starts at `at`) in the whole text.
fn span(at: usize, line: &str, part: &str) -> Range<usize> {
    let offset = part.as_ptr() as usize - line.as_ptr() as usize;
    at + offset..at + offset + part.len()
}

/// The assignments of a credentials file's `profile`, as botocore reads the file (option names
/// without case, a profile given twice an error). An indented line continues the value above.
fn credentials_assignments<'a>(
    text: &'a str,
    profile: &str,
) -> Result<Vec<Assignment<'a>>, String> {
    let mut found = Vec::new();
    let (mut inside, mut seen) = (false, false);
    for (number, (at, line)) in lines(text).enumerate().map(|(i, l)| (i + 1, l)) {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            inside = name.trim() == profile;
            if inside && std::mem::replace(&mut seen, true) {
                return Err(format!(
                    "the profile [{profile}] is given twice (line {number}): keep one"
                ));
            }
            continue;
        }
        if !inside {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            return Err(format!("line {number} of profile [{profile}] is indented: a tool would read it as the line above's continuation"));
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(format!(
                "line {number} of profile [{profile}] is not `name = value`"
            ));
        };
        found.push(Assignment {
            line: number,
            name: name.trim(),
            value: span(at, line, value.trim()),
        });
    }
    Ok(found)
}

/// A dotenv file's assignments: `NAME=value`, `export NAME=value`, the value bare or quoted.
fn dotenv_assignments(text: &str) -> Vec<Assignment<'_>> {
    let mut found = Vec::new();
    for (number, (at, line)) in lines(text).enumerate().map(|(i, l)| (i + 1, l)) {
        let trimmed = line.trim_start();
        let trimmed = trimmed
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(trimmed);
        let Some((name, value)) = trimmed.split_once('=') else {
            continue;
        };
        if name.starts_with('#') || name.trim().contains(char::is_whitespace) {
            continue;
        }
        let value = value.trim();
        let inner = ['"', '\'']
            .iter()
            .find_map(|q| {
                value
                    .strip_prefix(*q)
                    .and_then(|v| v.split_once(*q))
                    .map(|(v, _)| v)
            })
            .unwrap_or_else(|| value.split([' ', '\t', '#']).next().unwrap_or(&value[..0]));
        found.push(Assignment {
            line: number,
            name: name.trim(),
            value: span(at, line, inner),
        });
    }
    found
}

/// Where the pair sits in `text`. An error says what makes the text ambiguous or unusable.
pub fn find(text: &str, format: &TextFormat) -> Result<Pair, String> {
    let assignments = match format {
        TextFormat::CredentialsFile { profile } => credentials_assignments(text, profile)?,
        TextFormat::Dotenv => dotenv_assignments(text),
    };
    let [id_name, secret_name, token_name] = format.names();
    let same = |a: &str, b: &str| match format {
        TextFormat::CredentialsFile { .. } => a.eq_ignore_ascii_case(b),
        TextFormat::Dotenv => a == b,
    };
    let mut pair = Pair::default();
    for assignment in &assignments {
        let slot = if same(assignment.name, id_name) {
            &mut pair.id
        } else if same(assignment.name, secret_name) {
            &mut pair.secret
        } else if same(assignment.name, token_name) {
            return Err(format!("it has {token_name} (line {}): these are temporary credentials, not an IAM user's key", assignment.line));
        } else {
            continue;
        };
        if slot.replace(assignment.value.clone()).is_some() {
            return Err(format!(
                "{} is given twice (line {}): a tool reads one of them, keep that one",
                assignment.name, assignment.line
            ));
        }
    }
    if let Some(id) = &pair.id {
        check_access_key_id(&text[id.clone()])
            .map_err(|reason| format!("its {id_name} {reason}"))?;
    }
    if pair.secret.as_ref().is_some_and(|s| s.is_empty()) {
        return Err(format!("its {secret_name} is empty"));
    }
    Ok(pair)
}

/// The key id a text holds, if any.
pub fn key_id<'a>(text: &'a str, pair: &Pair) -> Option<&'a str> {
    pair.id.clone().map(|range| &text[range])
}

/// The secret access key a text holds, if any.
pub fn secret<'a>(text: &'a str, pair: &Pair) -> Option<&'a str> {
    pair.secret.clone().map(|range| &text[range])
}

/// `text` with the pair's values replaced by `id` and `secret`, every other byte kept. A value
/// the text lacks is added: under its profile (made at the end if missing), or at the end.
pub fn write(text: &str, format: &TextFormat, id: &str, secret: &str) -> Result<String, String> {
    let pair = find(text, format)?;
    let [id_name, secret_name, _] = format.names();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut missing = String::new();
    for (range, name, value) in [(&pair.id, id_name, id), (&pair.secret, secret_name, secret)] {
        match (range, format) {
            (Some(range), _) => edits.push((range.clone(), value.to_owned())),
            (None, TextFormat::CredentialsFile { .. }) => missing += &format!("{name} = {value}\n"),
            (None, TextFormat::Dotenv) => missing += &format!("{name}={value}\n"),
        }
    }
    edits.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(text.len() + missing.len());
    let mut at = 0;
    for (range, value) in edits {
        out.push_str(&text[at..range.start]);
        out.push_str(&value);
        at = range.end;
    }
    out.push_str(&text[at..]);
    if !missing.is_empty() {
        insert_missing(&mut out, format, &pair, &missing);
    }
    Ok(out)
}

/// Puts lines the text lacks where a tool will read them: after the profile's last assignment
/// (the profile's header, for a profile without one), in a new profile at the end, or at the end.
fn insert_missing(out: &mut String, format: &TextFormat, pair: &Pair, missing: &str) {
    if let TextFormat::CredentialsFile { profile } = format {
        let header = lines(out).find(|(_, l)| {
            l.trim()
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .map(str::trim)
                == Some(profile)
        });
        if let Some((at, line)) = header {
            let present = pair.id.iter().chain(&pair.secret).map(|r| r.end).max();
            let after = present.unwrap_or(at + line.len());
            let end = out[after..].find('\n').map_or(out.len(), |n| after + n + 1);
            let newline = if end == out.len() && !out.ends_with('\n') {
                "\n"
            } else {
                ""
            };
            out.insert_str(end, &format!("{newline}{missing}"));
            return;
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("[{profile}]\n{missing}"));
        return;
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(missing);
}

/// Which text a source secret's value is, when it is not JSON: a credentials file with exactly
/// one profile holding a key id, or a dotenv text holding one. None when it is neither.
pub fn detect(text: &str) -> Result<Option<TextFormat>, String> {
    let profiles: Vec<&str> = lines(text)
        .filter_map(|(_, l)| {
            l.trim()
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .map(str::trim)
        })
        .collect();
    let mut holding = Vec::new();
    for profile in &profiles {
        let format = TextFormat::CredentialsFile {
            profile: (*profile).to_owned(),
        };
        if find(text, &format)?.id.is_some() && !holding.contains(profile) {
            holding.push(*profile);
        }
    }
    match holding.as_slice() {
        [one] => return Ok(Some(TextFormat::CredentialsFile { profile: (*one).to_owned() })),
        [] => {}
        many => {
            return Err(format!(
                "its credentials file holds keys in {} profiles: keep one profile (one user) per secret",
                many.len()
            ))
        }
    }
    if profiles.is_empty() && find(text, &TextFormat::Dotenv)?.id.is_some() {
        return Ok(Some(TextFormat::Dotenv));
    }
    Ok(None)
}
