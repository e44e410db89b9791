//! iam-key-fleet: find every secret that holds AWS access keys and bring it under rotation.
//! The command line only; the work is in the `iam_key_fleet` library beside it.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use clap::{Args, CommandFactory, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use iam_key_fleet::aws::{FleetAws, Schedule};
use iam_key_fleet::outcome::{Outcome, SecretOutcome, Summary};
use iam_key_fleet::scan::{scan, Progress, ScanOptions, ScanReport};
use iam_key_fleet::schedule::{parse_function_arn, parse_schedule};
use iam_key_fleet::sdk::SdkFleet;
use iam_key_fleet::select::{parse_name_prefix, parse_tag, Selection};
use iam_key_fleet::time::epoch_seconds;
use iam_key_fleet::verdict::{Limits, Verdict};
use iam_key_fleet::{enable, output, rotate, unstick};
use iam_key_rotator::user_name::UserNameTemplate;

#[derive(Parser)]
#[command(
    name = "iam-key-fleet",
    version,
    about = "Find every secret that holds AWS access keys and bring it under rotation",
    after_help = "AWS credentials and region come from the usual places (AWS_PROFILE, AWS_REGION, ...). \
                  Nothing is changed without --apply."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// List the secrets that hold AWS access keys, with their key, rotation and verdict.
    Scan {
        #[command(flatten)]
        filters: Filters,
        #[command(flatten)]
        scan: ScanArgs,
        /// Also list the IAM users under this path (e.g. /svc/) that hold keys but no secret.
        #[arg(long, value_name = "PATH", value_parser = parse_user_path)]
        user_path: Option<String>,
    },
    /// Turn rotation on (function and schedule) for the selected secrets. Dry run unless --apply.
    Enable {
        #[command(flatten)]
        filters: Filters,
        #[command(flatten)]
        scan: ScanArgs,
        /// The rotation function's ARN (the SAM stack's RotatorFunctionArn output).
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
        /// Leave alone a secret rotated less than this long ago (Nd, Nh or Nm): a second rotation
        /// acts on the key that was AWSCURRENT until the first, which consumers may still use.
        #[arg(long, default_value = "1d", value_parser = parse_interval)]
        min_interval: i64,
        /// Rotate even a secret rotated less than --min-interval ago.
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

/// Which secrets: every given filter must match.
#[derive(Args)]
struct Filters {
    /// A secret's name or ARN (repeatable).
    #[arg(long = "secret", value_name = "NAME")]
    names: Vec<String>,
    /// Secrets whose name starts with this, e.g. app1/production/.
    #[arg(long, value_parser = parse_name_prefix)]
    name_prefix: Option<String>,
    /// A tag the secret must have, KEY=VALUE (repeatable: all must match).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    tags: Vec<(String, String)>,
    /// Secrets with this scan verdict (repeatable: any).
    #[arg(long = "verdict", value_enum)]
    verdicts: Vec<Verdict>,
}

#[derive(Args)]
struct ScanArgs {
    /// For values without UserName: the user name from the secret's name, as the function's
    /// USER_NAME_TEMPLATE (e.g. {1}-{2} maps app1/production/x to app1-production).
    #[arg(long, env = "USER_NAME_TEMPLATE", value_parser = UserNameTemplate::parse)]
    user_name_template: Option<UserNameTemplate>,
    /// A key older than this many days is stale.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    max_key_age_days: u32,
    /// Secrets looked at in parallel while scanning.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
}

/// `Nd`, `Nh` or `Nm` (N from 0) into seconds.
fn parse_interval(text: &str) -> Result<i64, String> {
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

fn parse_user_path(text: &str) -> Result<String, String> {
    if text.starts_with('/') && text.ends_with('/') {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not an IAM path: it starts and ends with /, for example /svc/"
        ))
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

fn scan_options(args: ScanArgs, user_path: Option<String>) -> ScanOptions {
    let now = epoch_seconds(SystemTime::now());
    ScanOptions {
        template: args.user_name_template,
        limits: Limits {
            now,
            max_key_age_days: args.max_key_age_days.into(),
            pending_grace_seconds: PENDING_GRACE_SECONDS,
            // Secrets Manager's longest rotation window is 24 hours.
            overdue_grace_seconds: 24 * 3_600,
        },
        concurrency: args.concurrency.into(),
        user_path,
    }
}

/// A bar on stderr when it is a terminal (indicatif draws nothing otherwise).
struct Bar(ProgressBar);

impl Bar {
    fn new(message: &'static str, quiet: bool) -> Self {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
                .expect("a fixed, valid template")
                .progress_chars("=> "),
        );
        bar.set_message(message);
        Bar(bar)
    }
}

impl Progress for Bar {
    fn start(&self, total: usize) {
        self.0.set_length(total as u64);
    }
    fn advance(&self) {
        self.0.inc(1);
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let sdk_config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    if sdk_config.region().is_none_or(|r| r.as_ref().is_empty()) {
        eprintln!("iam-key-fleet: no AWS region: set AWS_REGION (or a region in your AWS profile)");
        return ExitCode::from(2);
    }
    let aws = SdkFleet::new(&sdk_config);
    let json = cli.json;
    match cli.command {
        Command::Scan {
            filters,
            scan: args,
            user_path,
        } => {
            let Some(report) = run_scan(&aws, filters, args, user_path, json).await else {
                return ExitCode::FAILURE;
            };
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("reports serialize")
                );
            } else {
                print!("{}", output::scan_text(&report));
            }
            ExitCode::SUCCESS
        }
        Command::Enable {
            filters,
            scan: args,
            function_arn,
            schedule,
            window,
            apply,
        } => {
            let schedule: Schedule = match parse_schedule(&schedule, window.as_deref()) {
                Ok(schedule) => schedule,
                Err(reason) => Cli::command()
                    .error(clap::error::ErrorKind::ValueValidation, reason)
                    .exit(),
            };
            let concurrency = args.concurrency.into();
            let Some(report) = run_scan(&aws, filters, args, None, json).await else {
                return ExitCode::FAILURE;
            };
            let outcomes = enable::enable(
                &aws,
                &report.secrets,
                &function_arn,
                &schedule,
                apply,
                concurrency,
            )
            .await;
            finish(&outcomes, !apply, json)
        }
        Command::Rotate {
            filters,
            scan: args,
            parallel,
            timeout_seconds,
            min_interval,
            force,
            apply,
        } => {
            let Some(report) = run_scan(&aws, filters, args, None, json).await else {
                return ExitCode::FAILURE;
            };
            let options = rotate::RotateOptions {
                concurrency: parallel.into(),
                timeout: Duration::from_secs(timeout_seconds),
                poll_interval: Duration::from_secs(2),
                apply,
                min_interval_seconds: min_interval,
                force,
                now: epoch_seconds(SystemTime::now()),
            };
            let bar = Bar::new("rotating", json);
            bar.start(report.secrets.len());
            let outcomes = rotate::rotate(&aws, &report.secrets, options, |o: &SecretOutcome| {
                bar.advance();
                if o.outcome == Outcome::Failed {
                    bar.0.println(format!("{}: {}", o.secret, o.detail));
                }
            })
            .await;
            bar.0.finish_and_clear();
            finish(&outcomes, !apply, json)
        }
        Command::Unstick {
            filters,
            scan: args,
            min_age_minutes,
            apply,
        } => {
            let concurrency = args.concurrency.into();
            let Some(report) = run_scan(&aws, filters, args, None, json).await else {
                return ExitCode::FAILURE;
            };
            let now = epoch_seconds(SystemTime::now());
            let outcomes = unstick::unstick(
                &aws,
                &report.secrets,
                now,
                min_age_minutes.map(|m| i64::from(m) * 60),
                apply,
                concurrency,
            )
            .await;
            finish(&outcomes, !apply, json)
        }
    }
}

async fn run_scan(
    aws: &dyn FleetAws,
    filters: Filters,
    args: ScanArgs,
    user_path: Option<String>,
    quiet: bool,
) -> Option<ScanReport> {
    let bar = Bar::new("scanning", quiet);
    let result = scan(aws, &filters.into(), &scan_options(args, user_path), &bar).await;
    bar.0.finish_and_clear();
    match result {
        Ok(report) => Some(report),
        Err(e) => {
            eprintln!(
                "iam-key-fleet: the scan could not list what it needs: {e}\n\
                 It needs secretsmanager:ListSecrets (and iam:ListUsers with --user-path): see README \"Fleet command\"."
            );
            None
        }
    }
}

/// Prints the outcomes; the exit code is 1 when any failed.
fn finish(outcomes: &[SecretOutcome], dry_run: bool, json: bool) -> ExitCode {
    if json {
        let summary = Summary::of(outcomes);
        let out = json!({"dry_run": dry_run, "outcomes": outcomes, "summary": summary});
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("outcomes serialize")
        );
    } else {
        print!("{}", output::outcomes_text(outcomes, dry_run));
    }
    if outcomes.iter().any(|o| o.outcome == Outcome::Failed) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
