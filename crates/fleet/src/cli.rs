//! The command line of iam-key-fleet: its commands and flags (clap; the value parsers are in
//! `parse.rs`). What each command does is in the `iam_key_fleet` library; `run.rs` calls it.

use std::time::SystemTime;

use clap::{Args, CommandFactory, Parser, Subcommand};

use iam_key_fleet::bind::{parse_bind, Bind};
use iam_key_fleet::estate::DEFAULT_ROLE_NAME;
use iam_key_fleet::scan::ScanOptions;
use iam_key_fleet::schedule::parse_function_arn;
use iam_key_fleet::select::{parse_name_prefix, parse_tag, Selection};
use iam_key_fleet::time::epoch_seconds;
use iam_key_fleet::verdict::{Limits, Verdict};
use iam_key_rotator::user_name::UserNameTemplate;

use super::parse::{
    parse_account_id, parse_interval, parse_region, parse_regions_item, parse_user_path,
};

/// Said by `--help` and docs/fleet.md alike.
const EXIT_CODES: &str = "Exit codes:
  0  done: everything was scanned, nothing failed (and no --fail-on verdict was found)
  1  something failed: an AWS call, a rotation or change, an account or Region not scanned
  2  the command line is wrong (nothing was called or changed)
  3  scan --fail-on: a secret has one of the verdicts named (or is unreadable)

AWS credentials and Region: --profile and --region, else the usual places (AWS_PROFILE,
AWS_REGION, ...). Nothing is changed without --apply.";

#[derive(Parser)]
#[command(
    name = "iam-key-fleet",
    version,
    about = "Find every secret that holds AWS access keys and bring it under rotation",
    after_help = EXIT_CODES
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    /// Print JSON instead of a table (with a `schema` field naming its shape).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// The AWS profile to use (its credentials win over AWS_ACCESS_KEY_ID and the like, as with
    /// the AWS CLI).
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// The AWS Region to act in (the home Region of an estate scan).
    #[arg(long, global = true, value_name = "REGION", value_parser = parse_region)]
    pub(crate) region: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// List the secrets that hold AWS access keys, with their key, rotation and verdict.
    Scan(ScanCmd),
    /// Turn rotation on (function and schedule) for the selected secrets, binding the users an
    /// administrator names with --bind. Dry run unless --apply.
    Enable(EnableCmd),
    /// Rotate the selected secrets now, a few at a time, and wait for each to finish.
    Rotate(RotateCmd),
    /// Repair rotations left half-done: remove AWSPENDING and delete the orphan key. Dry run unless --apply.
    Unstick(UnstickCmd),
}

#[derive(Args)]
pub(crate) struct ScanCmd {
    #[command(flatten)]
    pub(crate) filters: Filters,
    #[command(flatten)]
    pub(crate) scan: ScanArgs,
    /// Also list the IAM users under this path (e.g. /svc/) that hold keys but no secret
    /// (one account and Region at a time).
    #[arg(long, value_name = "PATH", value_parser = parse_user_path, conflicts_with_all = ["accounts", "organization", "regions"])]
    pub(crate) user_path: Option<String>,
    #[command(flatten)]
    pub(crate) estate: EstateArgs,
    /// Exit with code 3 when a secret has one of these verdicts (comma-separated; `unreadable`
    /// always counts: it hides every other), e.g. --fail-on stale,unbound,duplicate-key.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "VERDICT,...")]
    pub(crate) fail_on: Vec<Verdict>,
}

#[derive(Args)]
pub(crate) struct EnableCmd {
    #[command(flatten)]
    pub(crate) filters: Filters,
    #[command(flatten)]
    pub(crate) scan: ScanArgs,
    /// The rotation function's ARN (the SAM stack's FunctionArn output).
    #[arg(long, value_name = "ARN", value_parser = parse_function_arn)]
    pub(crate) function_arn: String,
    /// Secrets Manager's ScheduleExpression: rate(N days), rate(N hours) or cron(...).
    #[arg(long, default_value = "rate(30 days)")]
    pub(crate) schedule: String,
    /// The rotation window (Secrets Manager's Duration), 1h to 24h, e.g. 2h.
    #[arg(long, value_name = "DURATION")]
    pub(crate) window: Option<String>,
    /// Bind this IAM user to this secret (§15), an administrator's explicit act (repeatable):
    /// done only once the secret's key pair authenticates as the user and no other secret of
    /// any enabled Region of the run's accounts holds one of the user's keys. `enable` binds
    /// no one else; for an unbound user it prints the evidence and this command.
    #[arg(long = "bind", value_name = "USER_ARN=SECRET_ARN", value_parser = parse_bind)]
    pub(crate) binds: Vec<Bind>,
    /// A file of USER_ARN=SECRET_ARN lines to bind (blank lines and # comments skipped).
    #[arg(long, value_name = "FILE")]
    pub(crate) bind_file: Option<std::path::PathBuf>,
    /// The accounts whose every enabled Region is searched for other holders of a user's
    /// keys before binding (default: the credentials' own account).
    #[command(flatten)]
    pub(crate) accounts: AccountArgs,
    /// Make the changes (without it, only show them).
    #[arg(long)]
    pub(crate) apply: bool,
}

#[derive(Args)]
pub(crate) struct RotateCmd {
    #[command(flatten)]
    pub(crate) filters: Filters,
    #[command(flatten)]
    pub(crate) scan: ScanArgs,
    /// Rotations at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub(crate) parallel: u16,
    /// Give up waiting for one rotation after this many seconds.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) timeout_seconds: u64,
    /// Leave alone a secret whose value changed less than this long ago (Nd, Nh or Nm;
    /// counted from its AWSCURRENT version's creation): a second rotation acts on the key that
    /// was AWSCURRENT until the first, which consumers may still use.
    #[arg(long, default_value = "1d", value_parser = parse_interval)]
    pub(crate) min_interval: i64,
    /// Rotate even a secret whose value changed less than --min-interval ago. It forces
    /// nothing else: a previous key in use or in quarantine is kept (the function refuses).
    #[arg(long)]
    pub(crate) force: bool,
    /// Rotate (without it, only show what would be rotated).
    #[arg(long)]
    pub(crate) apply: bool,
}

#[derive(Args)]
pub(crate) struct UnstickCmd {
    #[command(flatten)]
    pub(crate) filters: Filters,
    #[command(flatten)]
    pub(crate) scan: ScanArgs,
    /// Leave alone a pending version younger than this: Secrets Manager may still be retrying
    /// its rotation. Default: the secret's rotation window, else 24 hours (the longest).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=10_080))]
    pub(crate) min_age_minutes: Option<u32>,
    /// Make the changes (without it, only show them).
    #[arg(long)]
    pub(crate) apply: bool,
}

/// Which accounts and Regions `scan` looks at (§17). None of them: the credentials' own account
/// and Region.
#[derive(Args)]
pub(crate) struct EstateArgs {
    #[command(flatten)]
    pub(crate) accounts: AccountArgs,
    /// These Regions, comma-separated, or `all`: every Region each account has enabled
    /// (account:ListRegions). Default: the configured Region.
    #[arg(long, value_delimiter = ',', value_name = "REGION,...", value_parser = parse_regions_item)]
    pub(crate) regions: Vec<String>,
}

/// Which accounts a run enters, and how.
#[derive(Args)]
pub(crate) struct AccountArgs {
    /// These accounts, comma-separated; each entered by assuming --role-name (the credentials'
    /// own account with the credentials themselves).
    #[arg(long, value_delimiter = ',', value_name = "ID,...", value_parser = parse_account_id, conflicts_with = "organization")]
    pub(crate) accounts: Vec<String>,
    /// Every active account of the organization (Organizations ListAccounts; run it from the
    /// management account or a delegated administrator). Suspended accounts are skipped.
    #[arg(long)]
    pub(crate) organization: bool,
    /// The role to assume in each account: by default the read-only scanner role of
    /// scanner-role.yaml (give OrganizationAccountAccessRole to use that one).
    #[arg(long, default_value = DEFAULT_ROLE_NAME)]
    pub(crate) role_name: String,
    /// The external id the role's trust policy expects, if any.
    #[arg(long)]
    pub(crate) external_id: Option<String>,
    /// Accounts and Regions scanned at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub(crate) parallel_targets: u16,
}

impl EstateArgs {
    /// Whether the run reaches beyond the credentials' own account and Region.
    pub(crate) fn used(&self) -> bool {
        !self.accounts.accounts.is_empty() || self.accounts.organization || !self.regions.is_empty()
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
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(8..=720))]
    pub(crate) retire_idle_hours: u32,
    /// Secrets looked at in parallel while scanning.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub(crate) concurrency: u16,
}

impl Filters {
    /// enable, rotate and unstick change things: they need a filter, or --all, never nothing.
    pub(crate) fn require_explicit(&self, command: &str, binds: &[Bind]) {
        let given = !binds.is_empty()
            || !self.names.is_empty()
            || self.name_prefix.is_some()
            || !self.tags.is_empty()
            || !self.verdicts.is_empty();
        if !given && !self.all {
            let message = format!(
                "`{command}` acts only on the secrets you select, and none were: give --secret, --name-prefix, --tag or --verdict, or --all for every secret of the account and Region.\n  To see what --all would do (a dry run, nothing changes): iam-key-fleet {command} --all"
            );
            usage(clap::error::ErrorKind::MissingRequiredArgument, message)
        }
    }
}

/// A wrong command line found after parsing: said as clap says its own, exit code 2.
pub(crate) fn usage(kind: clap::error::ErrorKind, message: impl std::fmt::Display) -> ! {
    Cli::command().error(kind, message).exit()
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
