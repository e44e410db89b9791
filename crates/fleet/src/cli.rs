//! The command line of iam-key-fleet: its commands, flags and their parsing (clap). What each
//! command does is in the `iam_key_fleet` library; `main.rs` dispatches.

use std::time::SystemTime;

use clap::{Args, CommandFactory, Parser, Subcommand};

use iam_key_fleet::estate::DEFAULT_ROLE_NAME;
use iam_key_fleet::scan::ScanOptions;
use iam_key_fleet::schedule::parse_function_arn;
use iam_key_fleet::select::{parse_name_prefix, parse_tag, Selection};
use iam_key_fleet::time::epoch_seconds;
use iam_key_fleet::verdict::{Limits, Verdict};
use iam_key_rotator::user_name::UserNameTemplate;

#[derive(Parser)]
#[command(
    name = "iam-key-fleet",
    version,
    about = "Find every secret that holds AWS access keys and bring it under rotation",
    after_help = "AWS credentials and region come from the usual places (AWS_PROFILE, AWS_REGION, ...). \
                  Nothing is changed without --apply."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// List the secrets that hold AWS access keys, with their key, rotation and verdict.
    Scan {
        #[command(flatten)]
        filters: Filters,
        #[command(flatten)]
        scan: ScanArgs,
        /// Also list the IAM users under this path (e.g. /svc/) that hold keys but no secret
        /// (one account and Region at a time).
        #[arg(long, value_name = "PATH", value_parser = parse_user_path, conflicts_with_all = ["accounts", "organization", "regions"])]
        user_path: Option<String>,
        #[command(flatten)]
        estate: EstateArgs,
    },
    /// Turn rotation on (function and schedule) for the selected secrets. Dry run unless --apply.
    Enable {
        #[command(flatten)]
        filters: Filters,
        #[command(flatten)]
        scan: ScanArgs,
        /// The rotation function's ARN (the SAM stack's FunctionArn output).
        #[arg(long, value_name = "ARN", value_parser = parse_function_arn)]
        function_arn: String,
        /// Secrets Manager's ScheduleExpression: rate(N days), rate(N hours) or cron(...).
        #[arg(long, default_value = "rate(30 days)")]
        schedule: String,
        /// The rotation window (Duration), e.g. 2h.
        #[arg(long, value_name = "HOURS")]
        window: Option<String>,
        /// Make the changes (without it, only show them).
        #[arg(long)]
        apply: bool,
    },
    /// Rotate the selected secrets now, a few at a time, and wait for each to finish.
    Rotate {
        #[command(flatten)]
        filters: Filters,
        #[command(flatten)]
        scan: ScanArgs,
        /// Rotations at once.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
        parallel: u16,
        /// Give up waiting for one rotation after this many seconds.
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3600))]
        timeout_seconds: u64,
        /// Leave alone a secret whose value changed less than this long ago (Nd, Nh or Nm;
        /// counted from its AWSCURRENT version's creation): a second rotation acts on the key that
        /// was AWSCURRENT until the first, which consumers may still use.
        #[arg(long, default_value = "1d", value_parser = parse_interval)]
        min_interval: i64,
        /// Rotate even a secret whose value changed less than --min-interval ago. It forces
        /// nothing else: a previous key in use or in quarantine is kept (the function refuses).
        #[arg(long)]
        force: bool,
        /// Rotate (without it, only show what would be rotated).
        #[arg(long)]
        apply: bool,
    },
    /// Repair rotations left half-done: remove AWSPENDING and delete the orphan key. Dry run unless --apply.
    Unstick {
        #[command(flatten)]
        filters: Filters,
        #[command(flatten)]
        scan: ScanArgs,
        /// Leave alone a pending version younger than this: Secrets Manager may still be retrying
        /// its rotation. Default: the secret's rotation window, else 24 hours (the longest).
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=10_080))]
        min_age_minutes: Option<u32>,
        /// Make the changes (without it, only show them).
        #[arg(long)]
        apply: bool,
    },
}

/// Which accounts and Regions `scan` looks at (§17). None of them: the credentials' own account
/// and Region.
#[derive(Args)]
pub(crate) struct EstateArgs {
    /// These accounts, comma-separated; each entered by assuming --role-name (the credentials'
    /// own account with the credentials themselves).
    #[arg(long, value_delimiter = ',', value_name = "ID,...", value_parser = parse_account_id, conflicts_with = "organization")]
    pub(crate) accounts: Vec<String>,
    /// Every active account of the organization (Organizations ListAccounts; run it from the
    /// management account or a delegated administrator). Suspended accounts are skipped.
    #[arg(long)]
    pub(crate) organization: bool,
    /// The role to assume in each account.
    #[arg(long, default_value = DEFAULT_ROLE_NAME)]
    pub(crate) role_name: String,
    /// The external id the role's trust policy expects, if any.
    #[arg(long)]
    pub(crate) external_id: Option<String>,
    /// These Regions, comma-separated, or `all`: every Region each account has enabled
    /// (account:ListRegions). Default: the configured Region.
    #[arg(long, value_delimiter = ',', value_name = "REGION,...", value_parser = parse_region)]
    pub(crate) regions: Vec<String>,
    /// Accounts and Regions scanned at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub(crate) parallel_targets: u16,
}

impl EstateArgs {
    /// Whether the run reaches beyond the credentials' own account and Region.
    pub(crate) fn used(&self) -> bool {
        !self.accounts.is_empty() || self.organization || !self.regions.is_empty()
    }
}

pub(crate) fn parse_account_id(text: &str) -> Result<String, String> {
    iam_key_rotator::secret_value::check_account_id(text.trim())
        .map(|()| text.trim().to_owned())
        .map_err(|reason| format!("`{text}` {reason}"))
}

pub(crate) fn parse_region(text: &str) -> Result<String, String> {
    if text == "all" {
        return Ok(text.to_owned());
    }
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

/// Which secrets: every given filter must match.
#[derive(Args)]
pub(crate) struct Filters {
    /// Every secret of the account and Region. enable, rotate and unstick act only on secrets
    /// selected by a filter below or by this.
    #[arg(long, conflicts_with_all = ["names", "name_prefix", "tags", "verdicts"])]
    pub(crate) all: bool,
    /// A secret's name or ARN (repeatable).
    #[arg(long = "secret", value_name = "NAME")]
    pub(crate) names: Vec<String>,
    /// Secrets whose name starts with this, e.g. app1/production/.
    #[arg(long, value_parser = parse_name_prefix)]
    pub(crate) name_prefix: Option<String>,
    /// A tag the secret must have, KEY=VALUE (repeatable: all must match).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub(crate) tags: Vec<(String, String)>,
    /// Secrets with this scan verdict (repeatable: any).
    #[arg(long = "verdict", value_enum)]
    pub(crate) verdicts: Vec<Verdict>,
}

#[derive(Args)]
pub(crate) struct ScanArgs {
    /// For values without UserName: the user name from the secret's name, as the function's
    /// USER_NAME_TEMPLATE (e.g. {1}-{2} maps app1/production/x to app1-production).
    #[arg(long, env = "USER_NAME_TEMPLATE", value_parser = UserNameTemplate::parse)]
    pub(crate) user_name_template: Option<UserNameTemplate>,
    /// A key older than this many days is stale.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub(crate) max_key_age_days: u32,
    /// A previous key still used this many hours after its rotation is reported (the function's
    /// RETIRE_IDLE_HOURS).
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub(crate) retire_idle_hours: u32,
    /// Secrets looked at in parallel while scanning.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) concurrency: u16,
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

impl Filters {
    /// enable, rotate and unstick change things: they need a filter, or --all, never nothing.
    pub(crate) fn require_explicit(&self, command: &str) {
        let given = !self.names.is_empty()
            || self.name_prefix.is_some()
            || !self.tags.is_empty()
            || !self.verdicts.is_empty();
        if !given && !self.all {
            let message = format!(
                "`{command}` acts only on the secrets you select, and none were: give --secret, --name-prefix, --tag or --verdict, or --all for every secret of the account and Region.\n  To see what --all would do (a dry run, nothing changes): iam-key-fleet {command} --all"
            );
            super::Cli::command()
                .error(clap::error::ErrorKind::MissingRequiredArgument, message)
                .exit()
        }
    }
}

impl From<Filters> for Selection {
    fn from(f: Filters) -> Self {
        Selection {
            names: f.names,
            name_prefix: f.name_prefix,
            tags: f.tags,
            verdicts: f.verdicts,
        }
    }
}

/// How long a pending version may be a rotation still running (the Lambda maximum is 15 min).
const PENDING_GRACE_SECONDS: i64 = 900;

pub(crate) fn scan_options(args: ScanArgs, user_path: Option<String>) -> ScanOptions {
    let now = epoch_seconds(SystemTime::now());
    ScanOptions {
        template: args.user_name_template,
        limits: Limits {
            now,
            max_key_age_days: args.max_key_age_days.into(),
            pending_grace_seconds: PENDING_GRACE_SECONDS,
            // Secrets Manager's longest rotation window is 24 hours.
            overdue_grace_seconds: 24 * 3_600,
            retire_idle_seconds: i64::from(args.retire_idle_hours) * 3_600,
        },
        concurrency: args.concurrency.into(),
        user_path,
        accounts: Default::default(),
    }
}
