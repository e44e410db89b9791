use iam_key_rotator::aws::https::TrustedRoots;
use iam_key_rotator::aws::sdk_config::{self, Sources};
use iam_key_rotator::{handler, logging, Config, Rotator};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

// One thread: the function serves one event at a time, and a worker pool would only add start-up
// time and memory (docs/performance.md).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();

    // A bad setting stops the function here, before it serves any event.
    let config = Config::from_env().inspect_err(|e| tracing::error!("{e}"))?;
    let roots = TrustedRoots::from_lookup(|name| std::env::var(name).ok());
    let sources = Sources::from_lookup(|name| std::env::var(name).ok());
    tracing::info!(
        previous_key_action = %config.previous_key_action,
        propagation_timeout_seconds = config.propagation_timeout.as_secs(),
        retire_idle_hours = config.retire_idle.as_secs() / 3_600,
        retire_quarantine_days = config.retire_quarantine.as_secs() / 86_400,
        retire_deadline_days = config.retire_deadline.as_secs() / 86_400,
        retire_enforce_deadline = config.retire_enforce_deadline,
        user_name_template = config.user_name_template.as_ref().map(|t| t.as_str()),
        trusted_roots = ?roots,
        aws_settings_from = if sources == Sources::DefaultChains { "default chains" } else { "environment" },
        "iam-key-rotator starting"
    );
    let sdk_config = sdk_config::load(&sources, &roots).await;
    let rotator = Rotator::from_sdk_config(config, &sdk_config);

    run(service_fn(|event: LambdaEvent<Value>| {
        handler(&rotator, event)
    }))
    .await
}
