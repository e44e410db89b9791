//! Lines and assignments of a text, with the byte ranges of their values.

use std::ops::Range;

/// One assignment: its line (from 1), its name, and its value's bytes.
pub struct Assignment<'a> {
    pub line: usize,
    pub name: &'a str,
    pub value: Range<usize>,
}

/// Lines (numbered from 1) with their start offsets, without their `\n` or `\r\n`.
pub fn lines(text: &str) -> Result<Vec<(usize, usize, &str)>, String> {
    let mut found = Vec::new();
    let mut start = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let line = line.strip_suffix('\r').unwrap_or(line);
        check_characters(index + 1, line)?;
        found.push((index + 1, start, line));
        start += raw.len();
    }
    Ok(found)
}

/// The range of `part` (a sub-slice of `line`, which starts at `at`) in the whole text.
pub fn span(at: usize, line: &str, part: &str) -> Range<usize> {
    let offset = part.as_ptr() as usize - line.as_ptr() as usize;
    at + offset..at + offset + part.len()
}

/// Characters the tools read differently, refused: a carriage return alone or another control
/// character (a line break for some, text for others), whitespace other than space and tab
/// (indentation for Python, not for this module; U+2028 ends a line for Node), and outside a
/// comment any non-ASCII character (Python lower-cases the Kelvin sign into `k`).
fn check_characters(number: usize, line: &str) -> Result<(), String> {
    let odd =
        |c: char| (c.is_control() && c != '\t') || (c.is_whitespace() && c != ' ' && c != '\t');
    if line.chars().any(odd) {
        return Err(format!("line {number} holds a control character or unusual whitespace: tools disagree on how to read it"));
    }
    let comment = line.trim_start().starts_with(['#', ';']);
    if !comment && !line.is_ascii() {
        return Err(format!(
            "line {number} holds a character outside ASCII: tools disagree on how to read it"
        ));
    }
    Ok(())
}
