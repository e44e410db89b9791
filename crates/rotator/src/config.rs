//! Configuration (§11), read from the environment once at start-up. An invalid value stops the
//! function before it serves any event, with a message naming the variable and what it accepts.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::user_name::UserNameTemplate;

pub const PREVIOUS_KEY_ACTION: &str = "PREVIOUS_KEY_ACTION";
pub const PROPAGATION_TIMEOUT_SECONDS: &str = "PROPAGATION_TIMEOUT_SECONDS";
pub const USER_NAME_TEMPLATE: &str = "USER_NAME_TEMPLATE";
pub const RETIRE_IDLE_HOURS: &str = "RETIRE_IDLE_HOURS";

/// IAM records a key's last use to about 15 minutes and reports it up to about 4 hours late: a
/// shorter idle time could take a key in use for an idle one. 8 hours leaves that lag twice over
/// (docs/contract.md §16).
const RETIRE_IDLE_HOURS_RANGE: std::ops::RangeInclusive<u64> = 8..=720;

/// Longer than a Lambda can run (15 minutes) makes no sense.
const MAX_PROPAGATION_TIMEOUT_SECONDS: u64 = 840;

/// What finishSecret does to the key that just became AWSPREVIOUS (§9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PreviousKeyAction {
    /// Leave it active until the next rotation's createSecret deletes it: a full period of grace.
    #[default]
    Keep,
    Deactivate,
    Delete,
    /// Leave it active; the next rotation's createSecret deletes it only once it has not been
    /// used for RETIRE_IDLE_HOURS (§16). Its retirement by use, on a schedule, is issue 13's.
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
    /// Under `retire`: how long the previous key must have gone unused before createSecret may
    /// delete it.
    pub retire_idle: Duration,
    /// How often testSecret tries the new key: how late, at most, it notices that the key works.
    pub poll_interval: Duration,
    /// testSecret gives up this long before the Lambda's own deadline, to report its error.
    pub deadline_margin: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            previous_key_action: PreviousKeyAction::Keep,
            propagation_timeout: Duration::from_secs(60),
            user_name_template: None,
            retire_idle: Duration::from_secs(24 * 3_600),
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
                problem: "allowed values are keep (the default), deactivate, delete, retire".into(),
            })?;
        }
        if let Some(value) = get(PROPAGATION_TIMEOUT_SECONDS) {
            let seconds = whole_number(
                PROPAGATION_TIMEOUT_SECONDS,
                &value,
                1..=MAX_PROPAGATION_TIMEOUT_SECONDS,
                format!("allowed values are whole seconds from 1 to {MAX_PROPAGATION_TIMEOUT_SECONDS} (default 60)"),
            )?;
            config.propagation_timeout = Duration::from_secs(seconds);
        }
        if let Some(value) = get(RETIRE_IDLE_HOURS) {
            let hours = whole_number(
                RETIRE_IDLE_HOURS,
                &value,
                RETIRE_IDLE_HOURS_RANGE,
                format!(
                    "allowed values are whole hours from {} to {} (default 24): IAM reports a key's last use up to hours late",
                    RETIRE_IDLE_HOURS_RANGE.start(),
                    RETIRE_IDLE_HOURS_RANGE.end()
                ),
            )?;
            config.retire_idle = Duration::from_secs(hours * 3_600);
        }
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

/// A whole number within `range`, or the error naming the variable and `allowed`.
fn whole_number(
    variable: &'static str,
    value: &str,
    range: std::ops::RangeInclusive<u64>,
    allowed: String,
) -> Result<u64, ConfigError> {
    let number = value.trim().parse::<u64>().ok();
    number
        .filter(|n| range.contains(n))
        .ok_or_else(|| ConfigError {
            variable,
            value: value.to_owned(),
            problem: allowed,
        })
}
