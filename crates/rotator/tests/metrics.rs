//! The Embedded Metric Format lines (`metrics.rs`): the shape CloudWatch Logs needs to turn them
//! into metrics, and nothing but counts and durations.

use std::time::{Duration, UNIX_EPOCH};

use iam_key_rotator::metrics::{line, Unit, NAMESPACE};
use serde_json::Value;

#[test]
fn a_line_declares_each_metric_under_the_namespace_and_the_function_dimension() {
    let at = UNIX_EPOCH + Duration::from_millis(1_790_000_000_123);
    let text = line(
        "iam-key-rotator",
        at,
        &[
            ("KeysDeactivated", 3.0, Unit::Count),
            ("RotationSeconds", 4.5, Unit::Seconds),
        ],
    );
    assert!(!text.contains('\n'), "one line");
    let parsed: Value = serde_json::from_str(&text).unwrap();
    let aws = &parsed["_aws"];
    assert_eq!(aws["Timestamp"], 1_790_000_000_123u64);
    let directive = &aws["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], NAMESPACE);
    assert_eq!(
        directive["Dimensions"],
        serde_json::json!([["FunctionName"]])
    );
    let names: Vec<&str> = directive["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["KeysDeactivated", "RotationSeconds"]);
    assert_eq!(directive["Metrics"][1]["Unit"], "Seconds");
    assert_eq!(parsed["FunctionName"], "iam-key-rotator");
    assert_eq!(parsed["KeysDeactivated"], 3.0);
    assert_eq!(parsed["RotationSeconds"], 4.5);
    // A metric's value is a member of the root, as EMF requires, and no level: Lambda counts a
    // JSON line without one as INFO, so the function's log level lets it through.
    assert!(parsed.get("level").is_none());
}
