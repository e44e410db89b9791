//! Configuration (§11), read from the environment once at start-up. An invalid value stops the
//! function before it serves any event, with a message naming the variable and what it accepts.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;
use std::time::Duration;

use crate::member_role::MemberRole;
use crate::user_name::UserNameTemplate;

pub const PREVIOUS_KEY_ACTION: &str = "PREVIOUS_KEY_ACTION";
pub const PROPAGATION_TIMEOUT_SECONDS: &str = "PROPAGATION_TIMEOUT_SECONDS";
pub const USER_NAME_TEMPLATE: &str = "USER_NAME_TEMPLATE";
pub const RETIRE_IDLE_HOURS: &str = "RETIRE_IDLE_HOURS";
pub const RETIRE_QUARANTINE_DAYS: &str = "RETIRE_QUARANTINE_DAYS";
pub const RETIRE_DEADLINE_DAYS: &str = "RETIRE_DEADLINE_DAYS";
pub const RETIRE_ENFORCE_DEADLINE: &str = "RETIRE_ENFORCE_DEADLINE";
pub const SWEEP_INTERVAL_MINUTES: &str = "SWEEP_INTERVAL_MINUTES";
/// Under an emulator that gives no function ARN (`cargo lambda watch`), the ARN the sweep looks
/// for in the secrets' RotationLambdaARN. Never set by the template: Lambda gives the real one.
pub const EMULATED_FUNCTION_ARN: &str = "EMULATED_FUNCTION_ARN";

/// IAM records a key's last use to about 15 minutes and reports it up to about 4 hours late: a
/// shorter idle time could take a key in use for an idle one. 8 hours leaves that lag twice over
/// (docs/contract.md §16).
const RETIRE_IDLE_HOURS_RANGE: RangeInclusive<u64> = 8..=720;

/// Longer than a Lambda can run (15 minutes) makes no sense.
const MAX_PROPAGATION_TIMEOUT_SECONDS: u64 = 840;

/// What finishSecret does to the key that just became AWSPREVIOUS (§9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PreviousKeyAction {
    /// Leave it active until the next rotation's createSecret deletes it: a full period of grace.
    Keep,
    Deactivate,
    Delete,
    /// Leave it active; the scheduled sweep deactivates it once it has not been used for
    /// RETIRE_IDLE_HOURS and deletes it after RETIRE_QUARANTINE_DAYS, and the next rotation's
    /// createSecret deletes it only once it is idle (§16). The default: AWS's own procedure for
    /// access keys (move the consumers, check the old key's last use, deactivate, then delete).
    #[default]
    Retire,
}

impl PreviousKeyAction {
    /// Each action and the name PREVIOUS_KEY_ACTION gives it: both directions read this table.
    const NAMES: [(PreviousKeyAction, &'static str); 4] = [
        (PreviousKeyAction::Keep, "keep"),
        (PreviousKeyAction::Deactivate, "deactivate"),
        (PreviousKeyAction::Delete, "delete"),
        (PreviousKeyAction::Retire, "retire"),
    ];

    pub fn as_str(self) -> &'static str {
        let named = Self::NAMES.iter().find(|(action, _)| *action == self);
        named.map(|(_, name)| *name).unwrap_or_default()
    }
}

impl fmt::Display for PreviousKeyAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PreviousKeyAction {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let named = Self::NAMES.iter().find(|(_, name)| *name == s);
        named.map(|(action, _)| *action).ok_or(())
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub previous_key_action: PreviousKeyAction,
    /// How long testSecret waits for a new key to work.
    pub propagation_timeout: Duration,
    pub user_name_template: Option<UserNameTemplate>,
    /// Under `retire`: how long the previous key must have gone unused before the sweep
    /// deactivates it, or createSecret may delete it.
    pub retire_idle: Duration,
    /// Under `retire`: how long a deactivated previous key waits before the sweep deletes it.
    pub retire_quarantine: Duration,
    /// Under `retire`: how long after the promotion a previous key still in use raises the alarm.
    pub retire_deadline: Duration,
    /// Under `retire`: deactivate a previous key still in use at the deadline.
    pub retire_enforce_deadline: bool,
    /// How often the schedule sweeps (the template's rule): the deadline alarm's daily window.
    pub sweep_interval: Duration,
    pub emulated_function_arn: Option<String>,
    /// The role to assume in a member account (§17); `None`: this account only.
    pub member_role: Option<MemberRole>,
    /// How often testSecret tries the new key: how late, at most, it notices that the key works.
    pub poll_interval: Duration,
    /// testSecret gives up this long before the Lambda's own deadline, to report its error.
    pub deadline_margin: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            previous_key_action: PreviousKeyAction::Retire,
            propagation_timeout: Duration::from_secs(60),
            user_name_template: None,
            retire_idle: Duration::from_secs(24 * HOURS.1),
            retire_quarantine: Duration::from_secs(7 * DAYS.1),
            retire_deadline: Duration::from_secs(7 * DAYS.1),
            retire_enforce_deadline: false,
            sweep_interval: Duration::from_secs(3_600),
            emulated_function_arn: None,
            member_role: None,
            poll_interval: Duration::from_secs(1),
            deadline_margin: Duration::from_secs(3),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}={value:?}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub problem: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable lookup; unset and empty mean the default.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = Config::default();
        let get = |name| lookup(name).filter(|v| !v.trim().is_empty());

        if let Some(value) = get(PREVIOUS_KEY_ACTION) {
            config.previous_key_action = value.trim().parse().map_err(|()| ConfigError {
                variable: PREVIOUS_KEY_ACTION,
                value: value.clone(),
                problem: "allowed values are retire (the default), keep, deactivate, delete".into(),
            })?;
        }
        // The durations: each a whole number of its unit within its range; the message gives
        // the default, read from `Config::default()`.
        let idle_note = ": IAM reports a key's last use up to hours late";
        let durations: [(&'static str, Unit, RangeInclusive<u64>, &str, &mut Duration); 5] = [
            (
                PROPAGATION_TIMEOUT_SECONDS,
                SECONDS,
                1..=MAX_PROPAGATION_TIMEOUT_SECONDS,
                "",
                &mut config.propagation_timeout,
            ),
            (
                RETIRE_IDLE_HOURS,
                HOURS,
                RETIRE_IDLE_HOURS_RANGE,
                idle_note,
                &mut config.retire_idle,
            ),
            (
                RETIRE_QUARANTINE_DAYS,
                DAYS,
                1..=90,
                "",
                &mut config.retire_quarantine,
            ),
            (
                RETIRE_DEADLINE_DAYS,
                DAYS,
                1..=90,
                "",
                &mut config.retire_deadline,
            ),
            (
                SWEEP_INTERVAL_MINUTES,
                MINUTES,
                5..=1_440,
                "",
                &mut config.sweep_interval,
            ),
        ];
        for (variable, unit, range, note, field) in durations {
            if let Some(value) = get(variable) {
                *field = whole_units(variable, &value, unit, range, *field, note)?;
            }
        }
        // The deadline is never shorter than the idle time: a key could not be idle before it.
        // The template sets both variables, so a longer idle time alone must not stop the
        // function; main.rs logs the deadline that applies.
        config.retire_deadline = config.retire_deadline.max(config.retire_idle);
        if let Some(value) = get(RETIRE_ENFORCE_DEADLINE) {
            config.retire_enforce_deadline = match value.trim() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(ConfigError {
                        variable: RETIRE_ENFORCE_DEADLINE,
                        value: value.clone(),
                        problem: "allowed values are true and false (the default)".into(),
                    })
                }
            };
        }
        config.emulated_function_arn = get(EMULATED_FUNCTION_ARN).map(|v| v.trim().to_owned());
        config.member_role = MemberRole::from_lookup(|name| get(name).map(|v| v.trim().to_owned()))
            .map_err(|invalid| ConfigError {
                variable: invalid.variable,
                value: invalid.value,
                problem: invalid.problem.to_owned(),
            })?;
        if let Some(value) = get(USER_NAME_TEMPLATE) {
            config.user_name_template = Some(UserNameTemplate::parse(&value).map_err(
                |problem| ConfigError {
                    variable: USER_NAME_TEMPLATE,
                    value: value.clone(),
                    problem: format!("{problem}; a template looks like {{1}}-{{2}}"),
                },
            )?);
        }
        Ok(config)
    }
}

/// A unit of time a setting is given in.
/// Its name, and how many seconds it has.
#[derive(Clone, Copy)]
struct Unit(&'static str, u64);

const SECONDS: Unit = Unit("seconds", 1);
const MINUTES: Unit = Unit("minutes", 60);
const HOURS: Unit = Unit("hours", 3_600);
const DAYS: Unit = Unit("days", 86_400);

/// A whole number of `unit`s within `range`, or the error naming the variable, the range and the
/// default (`default`, the value the setting has unset), and `note`.
fn whole_units(
    variable: &'static str,
    value: &str,
    unit: Unit,
    range: RangeInclusive<u64>,
    default: Duration,
    note: &str,
) -> Result<Duration, ConfigError> {
    let number = whole_in(value, range.clone()).ok_or_else(|| ConfigError {
        variable,
        value: value.to_owned(),
        problem: format!(
            "allowed values are whole {} from {} to {} (default {}){note}",
            unit.0,
            range.start(),
            range.end(),
            default.as_secs() / unit.1
        ),
    })?;
    Ok(Duration::from_secs(number * unit.1))
}

/// A whole number within `range`, from text with blanks around it allowed.
pub(crate) fn whole_in(value: &str, range: RangeInclusive<u64>) -> Option<u64> {
    let number = value.trim().parse::<u64>().ok();
    number.filter(|n| range.contains(n))
}
