//! Metrics without a call: CloudWatch Embedded Metric Format (EMF) lines on standard output, which
//! CloudWatch Logs turns into metrics in the namespace `iam-key-rotator`, dimension
//! `FunctionName`. Written straight to stdout, not through `tracing`, which would wrap them. They
//! carry counts and durations only: never a secret, a key id or a secret's name.
//!
//! | metric | unit | when |
//! |---|---|---|
//! | `RotationSeconds` | Seconds | finishSecret: from the rotation's start to its promotion |
//! | `PropagationWaitSeconds` | Seconds | testSecret: until the new key worked |
//! | `PreviousKeyIdleHours` | None (hours) | each deactivation: how long the key had gone unused |
//! | `SweepVisited`, `SweepFailed`, `SweepCutShort`, `SweepSkipped` | Count | each sweep |
//! | `KeysDeactivated`, `KeysDeleted` | Count | each sweep |
//! | `PreviousKeysInUsePastDeadline` | Count | each sweep (the event `Previous Access Key Still In Use` is what the template alarms on) |

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};

pub const NAMESPACE: &str = "iam-key-rotator";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
    /// A plain number, such as hours (CloudWatch has no hours unit).
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
            Unit::None => "None",
        }
    }
}

/// One EMF line for `values`, under the function's name, at `at`.
pub fn line(function: &str, at: SystemTime, values: &[(&str, f64, Unit)]) -> String {
    let timestamp = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, _, unit)| json!({"Name": name, "Unit": unit.as_str()}))
        .collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["FunctionName"]],
                "Metrics": definitions,
            }],
        }),
    );
    root.insert("FunctionName".into(), Value::from(function));
    for (name, value, _) in values {
        root.insert((*name).into(), json!(value));
    }
    Value::Object(root).to_string()
}

/// Prints one EMF line for `values`.
pub fn emit(values: &[(&str, f64, Unit)]) {
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    println!("{}", line(&function, SystemTime::now(), values));
}
