//! Lines and assignments of a text, with the byte ranges of their values.

use std::ops::Range;

/// One assignment: its line (from 1), its name, and its value's bytes.
pub struct Assignment<'a> {
    pub line: usize,
    pub name: &'a str,
    pub value: Range<usize>,
}

/// Lines (numbered from 1) with their start offsets, without their `\n` or `\r\n`. A carriage
/// return alone ends a line for some tools and not for others: refused.
pub fn lines(text: &str) -> Result<Vec<(usize, usize, &str)>, String> {
    let mut found = Vec::new();
    let mut start = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line = raw.trim_end_matches('\n').trim_end_matches('\r');
        if line.contains('\r') {
            return Err(format!(
                "line {} holds a carriage return alone: tools disagree on where that line ends",
                index + 1
            ));
        }
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
