//! Key pairs kept as the text a consumer writes to disk as it is (issue 23): an AWS credentials
//! file (`[profile]`, `aws_access_key_id = ...`) and a dotenv file (`AWS_ACCESS_KEY_ID=...`).
//!
//! Reading finds the pair's two values; writing replaces exactly those two values and keeps every
//! other byte (comments, other profiles, other variables, line endings). A text that consumers'
//! tools could read otherwise than this module does is refused, never guessed at: a name or a
//! profile given twice, a session token, an indented line, a header or an assignment in a form the
//! tools disagree on (botocore's configparser; python-dotenv and Node's dotenv), a carriage return
//! alone. Messages name lines, never a value or a profile name: the text is the secret.

mod credentials;
mod dotenv;
mod lines;

use std::ops::Range;

pub use credentials::valid_profile;

use crate::key_id::check_access_key_id;
use credentials::{profiles, CREDENTIALS_NAMES, CREDENTIALS_REFUSED};
use dotenv::{dotenv_assignments, DOTENV_NAMES, DOTENV_REFUSED};
use lines::lines;

/// Which text, and for a credentials file, which profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextFormat {
    CredentialsFile { profile: String },
    Dotenv,
}

impl TextFormat {
    /// Which text, without the profile's name (it comes from the secret).
    pub fn kind(&self) -> &'static str {
        match self {
            TextFormat::CredentialsFile { .. } => "credentials-file",
            TextFormat::Dotenv => "dotenv",
        }
    }

    /// The names of the key id and of the secret access key in this text.
    pub fn names(&self) -> [&'static str; 2] {
        match self {
            TextFormat::CredentialsFile { .. } => CREDENTIALS_NAMES,
            TextFormat::Dotenv => DOTENV_NAMES,
        }
    }
}

/// Where the pair sits in a text: each value's bytes (either may be missing), and the whole lines
/// of a stale session token beside it (only when [`Tokens::Drop`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pair {
    pub id: Option<Range<usize>>,
    pub secret: Option<Range<usize>>,
    pub stale: Vec<Range<usize>>,
}

/// What a session token beside the pair makes of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokens {
    /// Refused: the text is temporary credentials (a source value).
    Refuse,
    /// Its line goes when the pair is written: a mirror gets a long-term key, which a tool would
    /// send with the stale token and fail (issue 23's precision).
    Drop,
}

/// A session token's name, in a credentials file or a dotenv text.
fn token(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with("session_token") || lower.ends_with("security_token")
}

/// The whole line (with its line ending) holding `range`.
fn whole_line(text: &str, range: &Range<usize>) -> Range<usize> {
    let start = text[..range.start].rfind('\n').map_or(0, |at| at + 1);
    let end = text[range.end..]
        .find('\n')
        .map_or(text.len(), |at| range.end + at + 1);
    start..end
}

/// The pair in `text`, and where missing lines go: (the pair, the insertion offset, whether the
/// profile must be made).
fn locate(text: &str, format: &TextFormat, tokens: Tokens) -> Result<(Pair, usize, bool), String> {
    let (assignments, names, insert, make) = match format {
        TextFormat::CredentialsFile { profile } => {
            let mut all = profiles(text)?;
            match all.iter().position(|p| p.name == profile) {
                Some(i) => {
                    let found = all.swap_remove(i);
                    (
                        found.assignments,
                        (CREDENTIALS_NAMES, &CREDENTIALS_REFUSED[..]),
                        found.end,
                        false,
                    )
                }
                None => (
                    Vec::new(),
                    (CREDENTIALS_NAMES, &CREDENTIALS_REFUSED[..]),
                    text.len(),
                    true,
                ),
            }
        }
        TextFormat::Dotenv => {
            let names = (DOTENV_NAMES, &DOTENV_REFUSED[..]);
            (dotenv_assignments(text)?, names, text.len(), false)
        }
    };
    let ([id_name, secret_name], refused) = names;
    let mut pair = Pair::default();
    for assignment in &assignments {
        let is = |name: &str| assignment.name.eq_ignore_ascii_case(name);
        let slot = if is(id_name) {
            &mut pair.id
        } else if is(secret_name) {
            &mut pair.secret
        } else if tokens == Tokens::Drop && token(assignment.name) {
            pair.stale.push(whole_line(text, &assignment.value));
            continue;
        } else if let Some(other) = refused.iter().find(|name| is(name)) {
            return Err(format!("it has {other} (line {}): a tool would use other credentials than an IAM user's key pair", assignment.line));
        } else {
            continue;
        };
        if slot.replace(assignment.value.clone()).is_some() {
            let name = if is(id_name) { id_name } else { secret_name };
            return Err(format!(
                "line {} gives {name} a second time: a tool reads one of them, keep that one",
                assignment.line
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
    Ok((pair, insert, make))
}

/// Where the pair sits in `text`. An error says what makes the text ambiguous or unusable.
pub fn find(text: &str, format: &TextFormat) -> Result<Pair, String> {
    locate(text, format, Tokens::Refuse).map(|(pair, _, _)| pair)
}

/// The key id a text holds, if any.
pub fn key_id<'a>(text: &'a str, pair: &Pair) -> Option<&'a str> {
    pair.id.clone().map(|range| &text[range])
}

/// The secret access key a text holds, if any.
pub fn secret<'a>(text: &'a str, pair: &Pair) -> Option<&'a str> {
    pair.secret.clone().map(|range| &text[range])
}

/// The pair a consumer reading `text` gets, a stale session token beside it aside; `None` when
/// the text holds no whole pair, or is refused.
pub fn held_pair<'a>(text: &'a str, format: &TextFormat) -> Option<(&'a str, &'a str)> {
    let (pair, _, _) = locate(text, format, Tokens::Drop).ok()?;
    Some((key_id(text, &pair)?, secret(text, &pair)?))
}

/// `text` with the pair's values replaced by `id` and `secret`, every other byte kept (but a
/// stale token's lines, with [`Tokens::Drop`]). A value the text lacks is added after the
/// profile's last line (a profile it lacks, at the end), or at the end of a dotenv text.
pub fn write(
    text: &str,
    format: &TextFormat,
    (id, secret): (&str, &str),
    tokens: Tokens,
) -> Result<String, String> {
    let (pair, insert, make) = locate(text, format, tokens)?;
    // A dropped line that ends the profile: what is missing goes where it began.
    let dropped = pair
        .stale
        .iter()
        .find(|l| l.start < insert && insert <= l.end);
    let insert = dropped.map_or(insert, |line| line.start);
    let credentials = matches!(format, TextFormat::CredentialsFile { .. });
    let names = format.names();
    let mut edits: Vec<(Range<usize>, String)> = (pair.stale.iter())
        .map(|line| (line.clone(), String::new()))
        .collect();
    let mut missing = String::new();
    for (range, name, value) in [(&pair.id, names[0], id), (&pair.secret, names[1], secret)] {
        match range {
            Some(range) => edits.push((range.clone(), value.to_owned())),
            None if credentials => missing += &format!("{name} = {value}\n"),
            None => missing += &format!("{name}={value}\n"),
        }
    }
    if !missing.is_empty() {
        let newline = if insert == 0 || text[..insert].ends_with('\n') {
            ""
        } else {
            "\n"
        };
        let header = match format {
            TextFormat::CredentialsFile { profile } if make => format!("[{profile}]\n"),
            _ => String::new(),
        };
        // Inserted after the line that ends at `insert`, before the next one.
        let at = if text[insert..].starts_with("\r\n") {
            insert + 2
        } else if text[insert..].starts_with('\n') {
            insert + 1
        } else {
            insert
        };
        let lead = if at == insert { newline } else { "" };
        edits.push((at..at, format!("{lead}{header}{missing}")));
    }
    // An insertion before the dropped line that starts at the same place.
    edits.sort_by_key(|(range, _)| (range.start, range.end));
    let mut out = String::with_capacity(text.len() + 128);
    let mut at = 0;
    for (range, value) in edits {
        out.push_str(&text[at..range.start]);
        out.push_str(&value);
        at = range.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// Which text a source secret's value is, when it is not JSON: a credentials file with exactly
/// one profile holding a key id, or a dotenv text holding one. None when it holds no key name.
pub fn detect(text: &str) -> Result<Option<TextFormat>, String> {
    if !text.to_ascii_lowercase().contains("aws_access_key_id") {
        return Ok(None);
    }
    let headed = lines(text)?
        .iter()
        .any(|(_, _, line)| line.trim_start().starts_with('['));
    if !headed {
        let (pair, _, _) = locate(text, &TextFormat::Dotenv, Tokens::Refuse)?;
        return Ok(pair.id.map(|_| TextFormat::Dotenv));
    }
    let holding: Vec<String> = profiles(text)?
        .iter()
        .filter(|p| {
            p.assignments
                .iter()
                .any(|a| a.name.eq_ignore_ascii_case(CREDENTIALS_NAMES[0]))
        })
        .map(|p| p.name.to_owned())
        .collect();
    match holding.as_slice() {
        [] => Ok(None),
        [profile] => Ok(Some(TextFormat::CredentialsFile { profile: profile.clone() })),
        many => Err(format!("its credentials file holds keys in {} profiles: keep one profile (one user) per secret", many.len())),
    }
}
