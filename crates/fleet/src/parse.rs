//! The command line's own value parsers: each error says what is wrong and what to write.

pub(crate) fn parse_account_id(text: &str) -> Result<String, String> {
    iam_key_rotator::secret_value::check_account_id(text.trim())
        .map(|()| text.trim().to_owned())
        .map_err(|reason| format!("`{text}` {reason}"))
}

/// An item of `--regions`: a Region's name, or `all`.
pub(crate) fn parse_regions_item(text: &str) -> Result<String, String> {
    match text {
        "all" => Ok(text.to_owned()),
        _ => parse_region(text),
    }
}

/// A Region's name, such as eu-west-1.
pub(crate) fn parse_region(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok && text.contains('-') {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not a Region name (for example eu-west-1)"
        ))
    }
}

/// `Nd`, `Nh` or `Nm` (N from 0) into seconds.
pub(crate) fn parse_interval(text: &str) -> Result<i64, String> {
    let unit = match text.chars().last() {
        Some('d') => 86_400,
        Some('h') => 3_600,
        Some('m') => 60,
        _ => {
            return Err(format!(
                "`{text}` is not an interval: write Nd, Nh or Nm (for example 1d)"
            ))
        }
    };
    text[..text.len() - 1]
        .parse::<i64>()
        .ok()
        .filter(|n| (0..=3_650 * 86_400 / unit).contains(n))
        .map(|n| n * unit)
        .ok_or_else(|| format!("`{text}` is not an interval: write Nd, Nh or Nm (for example 1d)"))
}

pub(crate) fn parse_user_path(text: &str) -> Result<String, String> {
    if text.starts_with('/') && text.ends_with('/') {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not an IAM path: it starts and ends with /, for example /svc/"
        ))
    }
}
