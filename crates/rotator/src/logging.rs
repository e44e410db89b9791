//! The function's log subscriber: lambda_runtime's default one (level from `AWS_LAMBDA_LOG_LEVEL`,
//! else `RUST_LOG`; JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`), under a ceiling no setting can lift.
//!
//! At TRACE, lambda_runtime logs each raw event (the RotationToken in it) and the SDK logs whole
//! HTTP requests and responses (SecretString, the new key's secret): §10.7 forbids both at any
//! level. So every target but this crate's stops at DEBUG, whatever `RUST_LOG` says; release builds
//! compile their debug events out anyway (feature `release-info-logs`).

use std::env;
use std::str::FromStr;

use lambda_runtime::tracing::subscriber::filter::{EnvFilter, LevelFilter, Targets};
use lambda_runtime::tracing::subscriber::{fmt, prelude::*};

/// The most any target may log: DEBUG, but for this crate's own events (which never carry a
/// secret: they only ever name key ids).
pub fn ceiling() -> Targets {
    Targets::new()
        .with_default(LevelFilter::DEBUG)
        .with_target(env!("CARGO_CRATE_NAME"), LevelFilter::TRACE)
}

/// Installs the subscriber, once, at start-up.
pub fn init() {
    let level = env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| env::var("RUST_LOG"));
    let level =
        LevelFilter::from_str(level.as_deref().unwrap_or("INFO")).unwrap_or(LevelFilter::INFO);
    let wanted = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy();
    let lines = fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(wanted);
    let json = env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    if json {
        lines.json().finish().with(ceiling()).init();
    } else {
        lines.finish().with(ceiling()).init();
    }
}
