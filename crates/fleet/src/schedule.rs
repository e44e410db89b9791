//! Checks of what `enable` sends to RotateSecret, so a typo fails before any secret changes.

use super::aws::Schedule;

/// `rate(N days)` (1-1000), `rate(N hours)` (4-23, as Secrets Manager allows), or `cron(...)` with
/// six fields; the window (Duration) `Nh`, 1-24 hours, shorter than a rate's interval.
pub fn parse_schedule(expression: &str, window: Option<&str>) -> Result<Schedule, String> {
    let expression = expression.trim();
    let interval_hours = if let Some(inner) = expression
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
    {
        let (n, unit) = inner
            .trim()
            .split_once(' ')
            .ok_or_else(|| bad_rate(expression))?;
        let n: u32 = n.parse().map_err(|_| bad_rate(expression))?;
        match unit.trim() {
            "day" | "days" if (1..=1000).contains(&n) => Some(n * 24),
            "hour" | "hours" if (4..=23).contains(&n) => Some(n),
            "day" | "days" | "hour" | "hours" => {
                return Err(format!(
                    "`{expression}` is out of range: Secrets Manager rotates every 4 to 23 hours, or every 1 to 1000 days"
                ))
            }
            _ => return Err(bad_rate(expression)),
        }
    } else if let Some(inner) = expression
        .strip_prefix("cron(")
        .and_then(|r| r.strip_suffix(')'))
    {
        if inner.split_whitespace().count() != 6 {
            return Err(format!(
                "`{expression}` needs six fields (minutes hours day-of-month month day-of-week year), for example cron(0 4 ? * SUN *)"
            ));
        }
        None
    } else {
        return Err(format!(
            "`{expression}` is not a schedule: use rate(30 days), rate(12 hours) or cron(0 4 ? * SUN *)"
        ));
    };
    let window = match window {
        None => None,
        Some(text) => {
            let hours: u32 = text
                .strip_suffix('h')
                .and_then(|n| n.parse().ok())
                .filter(|n| (1..=24).contains(n))
                .ok_or_else(|| format!("the window `{text}` is not 1h to 24h (for example 2h)"))?;
            if interval_hours.is_some_and(|interval| hours >= interval) {
                return Err(format!(
                    "the window {text} is not shorter than the schedule `{expression}`: Secrets Manager requires it to be"
                ));
            }
            Some(text.to_owned())
        }
    };
    Ok(Schedule {
        expression: expression.to_owned(),
        window,
    })
}

fn bad_rate(expression: &str) -> String {
    format!("`{expression}` is not rate(N days) or rate(N hours): for example rate(30 days)")
}

/// A Lambda function ARN: `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
pub fn parse_function_arn(text: &str) -> Result<String, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let ok = matches!(parts.as_slice(),
        ["arn", partition, "lambda", region, account, "function", name, rest @ ..]
            if partition.starts_with("aws")
            && !region.is_empty()
            && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
            && !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && rest.len() <= 1);
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not a Lambda function ARN: expected arn:aws:lambda:REGION:ACCOUNT:function:NAME (the stack's FunctionArn output)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_schedules() {
        assert_eq!(
            parse_schedule("rate(30 days)", Some("2h")),
            Ok(Schedule {
                expression: "rate(30 days)".into(),
                window: Some("2h".into())
            })
        );
        assert!(parse_schedule("rate(1 day)", None).is_ok());
        assert!(parse_schedule("rate(4 hours)", Some("3h")).is_ok());
        assert!(parse_schedule("cron(0 4 ? * SUN *)", Some("24h")).is_ok());
    }

    #[test]
    fn rejected_schedules_say_why() {
        for (expression, window, says) in [
            ("30 days", None, "is not a schedule"),
            ("rate(30 weeks)", None, "is not rate(N days)"),
            ("rate(thirty days)", None, "is not rate(N days)"),
            ("rate(2 hours)", None, "out of range"),
            ("rate(1001 days)", None, "out of range"),
            ("cron(0 4 * *)", None, "six fields"),
            ("rate(30 days)", Some("2"), "is not 1h to 24h"),
            ("rate(30 days)", Some("25h"), "is not 1h to 24h"),
            ("rate(4 hours)", Some("4h"), "not shorter"),
        ] {
            let error = parse_schedule(expression, window).unwrap_err();
            assert!(error.contains(says), "{expression} {window:?}: {error}");
        }
    }

    #[test]
    fn function_arns() {
        assert!(parse_function_arn(
            "arn:aws:lambda:us-east-1:123456789012:function:iam-key-rotator"
        )
        .is_ok());
        assert!(
            parse_function_arn("arn:aws:lambda:us-east-1:123456789012:function:rotator:live")
                .is_ok()
        );
        for bad in [
            "iam-key-rotator",
            "arn:aws:lambda:us-east-1:1234:function:x",
            "arn:aws:iam::123456789012:role/x",
            "arn:aws:lambda:us-east-1:123456789012:function:",
        ] {
            assert!(
                parse_function_arn(bad)
                    .unwrap_err()
                    .contains("not a Lambda function ARN"),
                "{bad}"
            );
        }
    }
}
