use aws_config::BehaviorVersion;
use iam_key_rotator::{handler, Config, Rotator};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();

    // A bad setting stops the function here, before it serves any event.
    let config = Config::from_env().inspect_err(|e| tracing::error!("{e}"))?;
    tracing::info!(
        previous_key_action = %config.previous_key_action,
        propagation_timeout_seconds = config.propagation_timeout.as_secs(),
        user_name_template = config.user_name_template.as_ref().map(|t| t.as_str()),
        "iam-key-rotator starting"
    );
    let sdk_config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let rotator = Rotator::from_sdk_config(config, &sdk_config);

    run(service_fn(|event: LambdaEvent<Value>| {
        handler(&rotator, event)
    }))
    .await
}
