//! iam-key-fleet: find every secret that holds AWS access keys and bring it under rotation.
//! The command line only (`cli.rs`, `run.rs`); the work is in the `iam_key_fleet` library.

use std::process::ExitCode;

use aws_config::{BehaviorVersion, Region};
use clap::Parser;

mod bar;
mod cli;
mod parse;
mod run;

use cli::{Cli, Command};
use iam_key_fleet::sdk::SdkFleet;
use run::Context;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &cli.profile {
        // As with the AWS CLI, a profile named on the command line wins over the environment's
        // keys (the default chain would take AWS_ACCESS_KEY_ID first).
        let credentials = aws_config::profile::ProfileFileCredentialsProvider::builder()
            .profile_name(profile)
            .build();
        loader = loader
            .profile_name(profile)
            .credentials_provider(credentials);
    }
    if let Some(region) = &cli.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let sdk = loader.load().await;
    if sdk.region().is_none_or(|r| r.as_ref().is_empty()) {
        eprintln!("iam-key-fleet: no AWS Region: give --region, or set AWS_REGION (or a region in your AWS profile)");
        return ExitCode::from(2);
    }
    let aws = SdkFleet::new(&sdk);
    let ctx = Context {
        sdk,
        aws,
        json: cli.json,
    };
    match cli.command {
        Command::Scan(cmd) => run::scan(&ctx, cmd).await,
        Command::Enable(cmd) => run::enable(&ctx, cmd).await,
        Command::Rotate(cmd) => run::rotate(&ctx, cmd).await,
        Command::Unstick(cmd) => run::unstick(&ctx, cmd).await,
    }
}
