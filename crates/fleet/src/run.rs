//! Each command: its arguments into the library's calls, the report printed, the exit code
//! (listed in `cli::EXIT_CODES`).

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;

use super::bar::Bar;
use super::cli::{self, scan_options, AccountArgs, EnableCmd, RotateCmd, ScanCmd, UnstickCmd};
use iam_key_fleet::bind::{check_binds, parse_bind_file, Bind};
use iam_key_fleet::claims::Scope;
use iam_key_fleet::enable::EnableOptions;
use iam_key_fleet::estate::{self, active_accounts, EstateReport, Regions, Targets};
use iam_key_fleet::outcome::{Outcome, SecretOutcome};
use iam_key_fleet::report::{ScanReport, SecretReport};
use iam_key_fleet::scan::{scan as scan_one, ScanOptions};
use iam_key_fleet::schedule::parse_schedule;
use iam_key_fleet::sdk::SdkFleet;
use iam_key_fleet::sdk_estate::SdkEstate;
use iam_key_fleet::select::Selection;
use iam_key_fleet::time::epoch_seconds;
use iam_key_fleet::verdict::Verdict;
use iam_key_fleet::{enable as enabling, output, rotate as rotating, unstick as unsticking};

/// Exit code 3: `scan --fail-on` found a verdict it names.
const FOUND: u8 = 3;

/// What every command works with: the AWS configuration (profile and Region applied), this
/// account and Region's calls, and whether to print JSON.
pub(crate) struct Context {
    pub(crate) sdk: SdkConfig,
    pub(crate) aws: SdkFleet,
    pub(crate) json: bool,
}

impl Context {
    fn region(&self) -> String {
        self.sdk.region().map(|r| r.to_string()).unwrap_or_default()
    }
}

/// A wrong value found after parsing (exit code 2).
fn usage(message: impl std::fmt::Display) -> ! {
    cli::usage(clap::error::ErrorKind::ValueValidation, message)
}

/// `scan`: one account and Region or an estate (§17), one report shape either way.
pub(crate) async fn scan(ctx: &Context, cmd: ScanCmd) -> ExitCode {
    let args = &cmd.estate.accounts;
    let sdk = SdkEstate::new(&ctx.sdk, args.role_name.clone(), args.external_id.clone());
    let own_region = ctx.region();
    let regions = match cmd.estate.regions.as_slice() {
        [] => Regions::Listed(vec![own_region.clone()]),
        [all] if all == "all" => Regions::Enabled,
        listed if listed.iter().any(|r| r == "all") => {
            usage("--regions all stands alone: every Region each account has enabled")
        }
        listed => Regions::Listed(listed.to_vec()),
    };
    let Ok((accounts, skipped)) = accounts_of(&sdk, args, false).await else {
        return ExitCode::FAILURE;
    };
    let selection = cmd.filters.into();
    let options = scan_options(cmd.scan, cmd.user_path);
    let targets = Targets {
        accounts,
        regions,
        home_region: own_region,
        parallel: args.parallel_targets.into(),
    };
    let bar = Bar::new("scanning", ctx.json);
    let mut report = estate::scan_estate(&sdk, &targets, &selection, &options, &bar).await;
    bar.bar.finish_and_clear();
    report.accounts_skipped = skipped;
    let single = match report.targets.as_slice() {
        [only] if !cmd.estate.used() => only.scan.as_ref(),
        _ => None,
    };
    match (ctx.json, single) {
        (true, _) => println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("reports serialize")
        ),
        (false, Some(scan)) => print!("{}", output::scan_text(scan)),
        (false, None) => print!("{}", output::estate_text(&report)),
    }
    scan_exit(&report, &cmd.fail_on)
}

/// The scan's exit code: 1 when part of the run was not scanned, else 3 when `--fail-on` names
/// a verdict found (or a secret is unreadable), else 0.
fn scan_exit(report: &EstateReport, fail_on: &[Verdict]) -> ExitCode {
    let scans = || report.targets.iter().filter_map(|t| t.scan.as_ref());
    // Any finding counts, not only the worst: a duplicate key under a not-rotatable one too.
    let has = |r: &SecretReport, v: &Verdict| {
        r.verdict == *v || r.findings.iter().any(|f| f.verdict == *v)
    };
    let found = |v: &Verdict| scans().any(|s| s.secrets.iter().any(|r| has(r, v)));
    // Everything reachable was reported; the exit code still says that some part was not.
    if let Some(target) = report.targets.iter().find(|t| t.error.is_some()) {
        let reason = target.error.as_deref().unwrap_or_default();
        eprintln!(
            "iam-key-fleet: account {} was not entirely scanned: {reason}",
            target.account
        );
        ExitCode::FAILURE
    } else if !fail_on.is_empty() && (found(&Verdict::Unreadable) || fail_on.iter().any(found)) {
        let named: Vec<&str> = fail_on.iter().map(|v| v.as_str()).collect();
        eprintln!(
            "iam-key-fleet: --fail-on {}: found (or a secret is unreadable)",
            named.join(",")
        );
        ExitCode::from(FOUND)
    } else {
        ExitCode::SUCCESS
    }
}

/// The run's accounts: `--accounts` or the organization's active ones, and the credentials' own
/// first when `with_own` (enable's claim check: the named secrets are there) or when none is
/// named; and how many of the organization's were skipped. `Err`: said on stderr already.
async fn accounts_of(
    sdk: &SdkEstate,
    args: &AccountArgs,
    with_own: bool,
) -> Result<(Vec<String>, usize), ()> {
    let own = sdk.own_account_id().await.map_err(|e| {
        eprintln!("iam-key-fleet: cannot tell which account these credentials are in (sts:GetCallerIdentity): {e}");
    })?;
    let (others, skipped) = if args.organization {
        active_accounts(sdk).await.map_err(|e| {
            eprintln!("iam-key-fleet: could not list the organization's accounts: {e}\nRun it from the management account or a delegated administrator, with organizations:ListAccounts.");
        })?
    } else {
        (args.accounts.clone(), 0)
    };
    let mut accounts = Vec::new();
    if with_own || others.is_empty() {
        accounts.push(own);
    }
    for account in others {
        if !accounts.contains(&account) {
            accounts.push(account);
        }
    }
    Ok((accounts, skipped))
}

/// The selected secrets of this account and Region, judged; `None` when they cannot be listed.
async fn scan_here(
    ctx: &Context,
    selection: Selection,
    options: &ScanOptions,
) -> Option<ScanReport> {
    let bar = Bar::new("scanning", ctx.json);
    let result = scan_one(&ctx.aws, &selection, options, &bar).await;
    bar.bar.finish_and_clear();
    result
        .map_err(|e| {
            eprintln!(
                "iam-key-fleet: the scan could not list what it needs: {e}\n\
                 It needs secretsmanager:ListSecrets: see docs/fleet.md."
            )
        })
        .ok()
}

pub(crate) async fn enable(ctx: &Context, cmd: EnableCmd) -> ExitCode {
    let schedule =
        parse_schedule(&cmd.schedule, cmd.window.as_deref()).unwrap_or_else(|e| usage(e));
    let mut binds: Vec<Bind> = cmd.binds;
    if let Some(path) = &cmd.bind_file {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| usage(format!("--bind-file {}: {e}", path.display())));
        binds.extend(
            parse_bind_file(&text)
                .unwrap_or_else(|e| usage(format!("--bind-file {}: {e}", path.display()))),
        );
    }
    cmd.filters.require_explicit("enable", &binds);
    let mut selection: Selection = cmd.filters.into();
    if selection.is_empty() && !binds.is_empty() {
        selection.names = binds.iter().map(|b| b.secret_arn.clone()).collect();
    }
    let concurrency = cmd.scan.concurrency.into();
    let Some(report) = scan_here(ctx, selection, &scan_options(cmd.scan, None)).await else {
        return ExitCode::FAILURE;
    };
    if let Err(e) = check_binds(&binds, &report.secrets) {
        usage(e)
    }
    let args = &cmd.accounts;
    let estate = SdkEstate::new(&ctx.sdk, args.role_name.clone(), args.external_id.clone());
    let Ok((accounts, _)) = accounts_of(&estate, args, true).await else {
        return ExitCode::FAILURE;
    };
    let scope = Scope {
        estate: &estate,
        accounts,
        parallel: args.parallel_targets.into(),
        concurrency,
    };
    let options = EnableOptions {
        function_arn: &cmd.function_arn,
        schedule: &schedule,
        binds: &binds,
        apply: cmd.apply,
    };
    let outcomes = enabling::enable(&ctx.aws, &report.secrets, &options, &scope).await;
    finish(ctx, "enable", &outcomes, !cmd.apply)
}

pub(crate) async fn rotate(ctx: &Context, cmd: RotateCmd) -> ExitCode {
    cmd.filters.require_explicit("rotate", &[]);
    let retire_idle_seconds = i64::from(cmd.scan.retire_idle_hours) * 3_600;
    let options = scan_options(cmd.scan, None);
    let Some(report) = scan_here(ctx, cmd.filters.into(), &options).await else {
        return ExitCode::FAILURE;
    };
    let options = rotating::RotateOptions {
        concurrency: cmd.parallel.into(),
        timeout: Duration::from_secs(cmd.timeout_seconds),
        poll_interval: Duration::from_secs(2),
        apply: cmd.apply,
        min_interval_seconds: cmd.min_interval,
        force: cmd.force,
        retire_idle_seconds,
        now: epoch_seconds(SystemTime::now()),
    };
    let bar = Bar::new("rotating", ctx.json);
    iam_key_fleet::scan::Progress::start(&bar, report.secrets.len());
    let outcomes = rotating::rotate(&ctx.aws, &report.secrets, options, |o: &SecretOutcome| {
        bar.bar.inc(1);
        if o.outcome == Outcome::Failed {
            bar.bar.println(format!("{}: {}", o.secret, o.detail));
        }
    })
    .await;
    bar.bar.finish_and_clear();
    finish(ctx, "rotate", &outcomes, !cmd.apply)
}

pub(crate) async fn unstick(ctx: &Context, cmd: UnstickCmd) -> ExitCode {
    cmd.filters.require_explicit("unstick", &[]);
    let concurrency = cmd.scan.concurrency.into();
    let options = scan_options(cmd.scan, None);
    let Some(report) = scan_here(ctx, cmd.filters.into(), &options).await else {
        return ExitCode::FAILURE;
    };
    let now = epoch_seconds(SystemTime::now());
    let min_age = cmd.min_age_minutes.map(|m| i64::from(m) * 60);
    let outcomes = unsticking::unstick(
        &ctx.aws,
        &report.secrets,
        now,
        min_age,
        cmd.apply,
        concurrency,
    )
    .await;
    finish(ctx, "unstick", &outcomes, !cmd.apply)
}

/// Prints the outcomes; the exit code is 1 when any failed.
fn finish(ctx: &Context, command: &str, outcomes: &[SecretOutcome], dry_run: bool) -> ExitCode {
    match ctx.json {
        true => println!("{}", output::outcomes_json(command, outcomes, dry_run)),
        false => print!("{}", output::outcomes_text(outcomes, dry_run)),
    }
    match outcomes.iter().any(|o| o.outcome == Outcome::Failed) {
        true => ExitCode::FAILURE,
        false => ExitCode::SUCCESS,
    }
}
