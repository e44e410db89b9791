//! iam-key-fleet: find every secret that holds AWS access keys and bring it under rotation.
//! The command line only; the work is in the `iam_key_fleet` library beside it.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use clap::{CommandFactory, Parser};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

mod cli;

use cli::{scan_options, Cli, Command, EstateArgs, Filters, ScanArgs};
use iam_key_fleet::aws::{FleetAws, Schedule};
use iam_key_fleet::estate::{self, active_accounts, Regions};
use iam_key_fleet::outcome::{Outcome, SecretOutcome, Summary};
use iam_key_fleet::report::ScanReport;
use iam_key_fleet::scan::{scan, Progress};
use iam_key_fleet::schedule::parse_schedule;
use iam_key_fleet::sdk::SdkFleet;
use iam_key_fleet::sdk_estate::SdkEstate;
use iam_key_fleet::time::epoch_seconds;
use iam_key_fleet::{enable, output, rotate, unstick};

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
            estate,
            ..
        } if estate.used() => scan_estate(&sdk_config, filters, args, estate, json).await,
        Command::Scan {
            filters,
            scan: args,
            user_path,
            ..
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
            filters.require_explicit("enable");
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
            filters.require_explicit("rotate");
            let retire_idle_seconds = i64::from(args.retire_idle_hours) * 3_600;
            let Some(report) = run_scan(&aws, filters, args, None, json).await else {
                return ExitCode::FAILURE;
            };
            let options = rotate::RotateOptions {
                retire_idle_seconds,
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
            filters.require_explicit("unstick");
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
                 It needs secretsmanager:ListSecrets (and iam:ListUsers with --user-path): see docs/fleet.md."
            );
            None
        }
    }
}

/// `scan` across accounts and Regions (§17): one table, a row per unscanned account or Region.
async fn scan_estate(
    sdk_config: &aws_config::SdkConfig,
    filters: Filters,
    args: ScanArgs,
    estate: EstateArgs,
    json: bool,
) -> ExitCode {
    let sdk = SdkEstate::new(sdk_config, estate.role_name, estate.external_id);
    let own_region = sdk_config
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default();
    let regions = match estate.regions.as_slice() {
        [] => Regions::Listed(vec![own_region.clone()]),
        [all] if all == "all" => Regions::Enabled,
        listed if listed.iter().any(|r| r == "all") => Cli::command()
            .error(
                clap::error::ErrorKind::ValueValidation,
                "--regions all stands alone: every Region each account has enabled",
            )
            .exit(),
        listed => Regions::Listed(listed.to_vec()),
    };
    let (accounts, skipped) = if estate.organization {
        match active_accounts(&sdk).await {
            Ok(found) => found,
            Err(e) => {
                eprintln!("iam-key-fleet: could not list the organization's accounts: {e}\nRun it from the management account or a delegated administrator, with organizations:ListAccounts.");
                return ExitCode::FAILURE;
            }
        }
    } else if estate.accounts.is_empty() {
        (vec![sdk.own_account_id().await.unwrap_or_default()], 0)
    } else {
        (estate.accounts, 0)
    };
    let selection = filters.into();
    let options = scan_options(args, None);
    let parallel = estate.parallel_targets.into();
    let mut report = estate::scan_estate(
        &sdk,
        &accounts,
        &regions,
        &own_region,
        &selection,
        &options,
        parallel,
    )
    .await;
    report.accounts_skipped = skipped;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("reports serialize")
        );
    } else {
        print!("{}", output::estate_text(&report));
    }
    // Everything reachable was reported; the exit code still says that some part was not.
    if report.targets.iter().any(|t| t.error.is_some()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
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
