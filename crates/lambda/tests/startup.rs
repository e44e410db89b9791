//! §11: the function refuses to start with an invalid setting, naming the variable and the values
//! it accepts, before it talks to the Lambda Runtime API or AWS.

use std::process::Command;

fn start_with(variable: &str, value: &str) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_iam-key-rotator"))
        .env_clear()
        .env(variable, value)
        .env("AWS_LAMBDA_LOG_FORMAT", "json")
        .output()
        .expect("the binary runs");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[test]
fn an_invalid_setting_stops_the_function_at_start_up() {
    for (variable, value, allowed) in [
        (
            "PREVIOUS_KEY_ACTION",
            "purge",
            "retire (the default), keep, deactivate, delete",
        ),
        ("RETIRE_IDLE_HOURS", "1", "whole hours from 8 to 720"),
        (
            "PROPAGATION_TIMEOUT_SECONDS",
            "-5",
            "whole seconds from 1 to 840",
        ),
        (
            "USER_NAME_TEMPLATE",
            "{app}-{env}",
            "a template looks like {1}-{2}",
        ),
    ] {
        let (ok, text) = start_with(variable, value);
        assert!(!ok, "{variable}={value} must stop the function");
        assert!(text.contains(variable) && text.contains(allowed), "{text}");
        assert!(
            !text.contains("iam-key-rotator starting"),
            "stopped before starting: {text}"
        );
    }
}

/// §10.7 at any level: lambda_runtime's raw event (RotationToken) and the SDK's wire logs
/// (SecretString) are TRACE events of their targets, which the ceiling never lets through, while
/// their DEBUG events and the function's own events pass.
#[test]
fn no_log_level_lets_the_runtime_or_the_sdk_trace_their_payloads() {
    use iam_key_rotator::logging::ceiling;
    use tracing::Level;
    let ceiling = ceiling();
    for target in [
        "lambda_runtime::layers::api_response",
        "aws_smithy_runtime::client::orchestrator",
        "aws_smithy_runtime::client::orchestrator::http",
        "hyper_util::client",
    ] {
        assert!(!ceiling.would_enable(target, &Level::TRACE), "{target}");
        assert!(ceiling.would_enable(target, &Level::DEBUG), "{target}");
    }
    assert!(ceiling.would_enable("iam_key_rotator::rotation::create", &Level::TRACE));
}
