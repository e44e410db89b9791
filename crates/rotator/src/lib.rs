//! iam-key-rotator: the AWS Secrets Manager rotation function for IAM user access keys.
//!
//! `main.rs` builds a [`Rotator`] once and hands each event to [`handler`]. The steps live in
//! `rotation/`, one module each; the AWS services sit behind the traits in `aws/`.

pub mod aws;
pub mod binding;
pub mod clock;
pub mod config;
pub mod error;
pub mod event;
pub mod holder;
pub mod key_id;
pub mod key_text;
pub mod lifecycle;
pub mod logging;
pub mod member_role;
pub mod messages;
pub mod metrics;
pub mod mirror;
pub mod mirror_writes;
pub mod overrides;
pub mod retire;
pub mod rotation;
pub mod secret_value;
pub mod sensitive;
pub mod step;
pub mod user_name;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::LambdaEvent;
use serde_json::Value;

pub use config::Config;
pub use error::{Problem, RotationError};
pub use event::{Invocation, RotationEvent};
pub use rotation::Rotator;

impl Rotator {
    /// The function as deployed: the SDK clients built from one shared configuration.
    pub fn from_sdk_config(config: Config, sdk_config: &aws_config::SdkConfig) -> Self {
        Rotator {
            config,
            secrets: Arc::new(aws::SdkSecretsManager::new(
                aws_sdk_secretsmanager::Client::new(sdk_config),
            )),
            iam: Arc::new(aws::SdkIam::new(aws_sdk_iam::Client::new(sdk_config))),
            members: Arc::new(aws::SdkMemberAccounts::new(sdk_config)),
            sts: Arc::new(aws::SdkSts::new(sdk_config)),
            parameters: Arc::new(aws::SdkSsm::new(aws_sdk_ssm::Client::new(sdk_config))),
            events: Arc::new(aws::SdkEvents::new(aws_sdk_eventbridge::Client::new(
                sdk_config,
            ))),
            clock: Arc::new(clock::SystemClock),
        }
    }
}

/// The Lambda handler: a rotation step answers `null` on success; the schedule's sweep answers
/// its report.
pub async fn handler(rotator: &Rotator, event: LambdaEvent<Value>) -> Result<Value, RotationError> {
    let invocation = Invocation::parse(&event.payload).inspect_err(|e| {
        tracing::warn!(error_type = %e.error_type(), "{e}");
    })?;
    let deadline = instant_of_epoch_millis(event.context.deadline).unwrap_or_else(|| {
        tracing::warn!(
            deadline_ms = event.context.deadline,
            "the runtime gave no deadline in the future: assuming the Lambda maximum of 15 minutes"
        );
        tokio::time::Instant::now() + LAMBDA_MAX_DURATION
    });
    match invocation {
        Invocation::Rotation(parsed) => {
            rotator.handle(&parsed, deadline).await?;
            Ok(Value::Null)
        }
        Invocation::Sweep => {
            let given = &event.context.invoked_function_arn;
            let own_arn = own_function_arn(given, rotator.config.emulated_function_arn.as_deref())
                .map_err(RotationError::of_sweep)
                .inspect_err(|e| tracing::warn!(error_type = %e.error_type(), "{e}"))?;
            let report = rotator.sweep(&own_arn, deadline).await.map_err(|problem| {
                let error = RotationError::of_sweep(problem);
                tracing::warn!(error_type = %error.error_type(), "{error}");
                error
            })?;
            Ok(serde_json::to_value(report).unwrap_or_default())
        }
    }
}

/// The function's own ARN without a qualifier (`:$LATEST`, a version, an alias): what a secret's
/// RotationLambdaARN names. An emulator that gives no ARN may say which one with
/// EMULATED_FUNCTION_ARN; a real ARN always wins over it.
pub fn own_function_arn(given: &str, emulated: Option<&str>) -> Result<String, Problem> {
    let parts: Vec<&str> = given.split(':').collect();
    if parts.len() >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function" {
        return Ok(parts[..7].join(":"));
    }
    match emulated {
        Some(arn) => {
            tracing::warn!(
                given,
                emulated = arn,
                "the runtime gave no function ARN: using EMULATED_FUNCTION_ARN"
            );
            Ok(arn.to_owned())
        }
        None => Err(Problem::UnknownFunctionArn {
            given: given.to_owned(),
        }),
    }
}

const LAMBDA_MAX_DURATION: Duration = Duration::from_secs(900);

/// The Lambda's deadline (milliseconds since the epoch) as a tokio instant. `None` when it is not
/// in the future: no real invocation starts after its deadline, but emulators send other values
/// (`cargo lambda watch` sends the timeout itself).
fn instant_of_epoch_millis(deadline_ms: u64) -> Option<tokio::time::Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    (deadline_ms > now_ms)
        .then(|| tokio::time::Instant::now() + Duration::from_millis(deadline_ms - now_ms))
}
