//! The parsers and the configuration: every bad input gets an error that names what is wrong and
//! never quotes a secret (§2, §4, §11), and errors map to the right Lambda Diagnostic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iam_key_rotator::aws::AwsError;
use iam_key_rotator::aws::{AccessKeyInfo, KeyStatus, NewAccessKey};
use iam_key_rotator::config::{Config, PreviousKeyAction};
use iam_key_rotator::error::{Problem, RotationError};
use iam_key_rotator::event::{RotationEvent, Step};
use iam_key_rotator::rotation::keys::{self, DeleteReason, Evidence, PreviousKeyStep};
use iam_key_rotator::secret_value::SecretValue;
use iam_key_rotator::sensitive::Sensitive;
use iam_key_rotator::user_name::UserNameTemplate;
use lambda_runtime::Diagnostic;
use serde_json::json;

const TOKEN: &str = "c0ffee00-1111-4222-8333-444455556666";

fn event_error(value: serde_json::Value) -> String {
    RotationEvent::parse(&value).unwrap_err().to_string()
}

#[test]
fn event_parses_all_four_steps_and_keeps_the_rotation_token_hidden() {
    for step in Step::ALL {
        let e = RotationEvent::parse(&json!({
            "Step": step.as_str(), "SecretId": "s", "ClientRequestToken": TOKEN,
            "RotationToken": "tok-very-secret-0123456789"
        }))
        .unwrap();
        assert_eq!(e.step, step);
        assert_eq!(
            e.rotation_token.as_ref().unwrap().expose(),
            "tok-very-secret-0123456789"
        );
        assert!(
            !format!("{e:?}").contains("tok-very-secret"),
            "Debug redacts it"
        );
    }
    let without = RotationEvent::parse(
        &json!({"Step": "setSecret", "SecretId": "s", "ClientRequestToken": TOKEN}),
    )
    .unwrap();
    assert!(without.rotation_token.is_none());
}

#[test]
fn event_errors_name_the_field() {
    let ok = json!({"Step": "createSecret", "SecretId": "arn:aws:secretsmanager:x", "ClientRequestToken": TOKEN});
    for field in ["Step", "SecretId", "ClientRequestToken"] {
        let mut missing = ok.clone();
        missing.as_object_mut().unwrap().remove(field);
        assert!(event_error(missing).contains(&format!("the field {field} is missing")));
        let mut empty = ok.clone();
        empty[field] = json!("  ");
        assert!(event_error(empty).contains(&format!("the field {field} is empty")));
        let mut number = ok.clone();
        number[field] = json!(5);
        assert!(event_error(number).contains(&format!("the field {field} is a JSON number")));
    }
    let mut step = ok.clone();
    step["Step"] = json!("CreateSecret");
    assert!(event_error(step).contains("not one of createSecret"));
    let mut short = ok.clone();
    short["ClientRequestToken"] = json!("abc");
    assert!(event_error(short).contains("3 characters long"));
    let mut token = ok.clone();
    token["RotationToken"] = json!(["not-a-string-secret"]);
    let message = event_error(token);
    assert!(
        message.contains("RotationToken is a JSON array")
            && !message.contains("not-a-string-secret")
    );
    assert!(event_error(json!("createSecret")).contains("a JSON string, not an object"));
}

#[test]
fn bad_events_are_permanent_diagnostics() {
    let err = RotationEvent::parse(&json!({})).unwrap_err();
    let diagnostic: Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "Permanent.InvalidEvent");
    assert!(
        diagnostic.error_message.contains("events/"),
        "says what to do"
    );
}

fn value(raw: serde_json::Value) -> Result<SecretValue, String> {
    SecretValue::parse(&Sensitive::new(raw.to_string()))
}

#[test]
fn secret_value_accepts_both_namings_and_bootstrap() {
    let v = value(
        json!({"UserName": "u", "AccessKeyId": "AKIA1XXXXXXXXXXXXXXX", "SecretAccessKey": "sk1"}),
    )
    .unwrap();
    assert_eq!(
        (v.user_name(), v.access_key_id()),
        (Some("u"), Some("AKIA1XXXXXXXXXXXXXXX"))
    );
    assert_eq!(v.secret_access_key().unwrap().expose(), "sk1");
    let v =
        value(json!({"aws_access_key_id": "AKIA2XXXXXXXXXXXXXXX", "aws_secret_access_key": "sk2"}))
            .unwrap();
    assert_eq!(
        (v.user_name(), v.access_key_id()),
        (None, Some("AKIA2XXXXXXXXXXXXXXX"))
    );
    assert_eq!(v.secret_access_key().unwrap().expose(), "sk2");
    let v = value(json!({"UserName": "u"})).unwrap();
    assert_eq!(v.access_key_id(), None);
    assert!(v.secret_access_key().is_none());
}

#[test]
fn secret_value_errors_name_the_field_and_never_quote_the_value() {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let cases = [
        (json!(secret), "JSON string, not an object"),
        (json!(42), "JSON number, not an object"),
        (json!({"UserName": ["u"]}), "UserName is a JSON array"),
        (json!({"UserName": ""}), "UserName is empty"),
        (json!({"UserName": "a/b"}), "UserName contains '/'"),
        (
            json!({"UserName": "u", "AccessKeyId": "AKIA1XXXXXXXXXXXXXXX"}),
            "has AccessKeyId but no SecretAccessKey",
        ),
        (
            json!({"UserName": "u", "SecretAccessKey": secret}),
            "has SecretAccessKey but no AccessKeyId",
        ),
        (
            json!({"UserName": "u", "AccessKeyId": "AKIA1XXXXXXXXXXXXXXX", "SecretAccessKey": 7}),
            "SecretAccessKey is a JSON number",
        ),
        (
            json!({"UserName": "u", "aws_access_key_id": "AKIA1XXXXXXXXXXXXXXX"}),
            "has aws_access_key_id but no aws_secret_access_key",
        ),
        (
            json!({"UserName": "u", "AccessKeyId": "AKIA1XXXXXXXXXXXXXXX", "SecretAccessKey": secret,
                   "aws_access_key_id": "AKIA2XXXXXXXXXXXXXXX", "aws_secret_access_key": secret}),
            "name different keys",
        ),
        (
            json!({"UserName": "u", "AccessKeyId": "AKIA1XXXXXXXXXXXXXXX", "SecretAccessKey": secret,
                   "aws_access_key_id": "AKIA1XXXXXXXXXXXXXXX", "aws_secret_access_key": "other"}),
            "differ",
        ),
    ];
    for (raw, expected) in cases {
        let reason = value(raw.clone()).unwrap_err();
        assert!(reason.contains(expected), "{raw}: {reason}");
        assert!(!reason.contains(secret));
    }
    let reason =
        SecretValue::parse(&Sensitive::new(format!("{{\"UserName\": \"{secret}"))).unwrap_err();
    assert!(
        reason.contains("not valid JSON") && !reason.contains(secret),
        "{reason}"
    );
    let v = value(
        json!({"UserName": "u", "AccessKeyId": "AKIA1XXXXXXXXXXXXXXX", "SecretAccessKey": secret}),
    )
    .unwrap();
    assert!(!format!("{v:?}").contains(secret), "Debug redacts the key");
}

#[test]
fn new_value_refreshes_key_fields_and_keeps_the_rest() {
    let old = value(
        json!({"UserName": "u", "AccessKeyId": "AKIAOLDXXXXXXXXXXXXX", "SecretAccessKey": "old",
        "Status": "Inactive", "CreateDate": "2020-01-01T00:00:00Z", "note": 1}),
    )
    .unwrap();
    let key = NewAccessKey {
        id: "AKIANEWXXXXXXXXXXXXX".into(),
        secret: Sensitive::new("new-secret"),
        status: KeyStatus::Active,
        created: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    };
    let raw = old.with_new_key(&key).unwrap().to_secret_string();
    let new: serde_json::Value = serde_json::from_str(raw.expose()).unwrap();
    assert_eq!(
        new,
        json!({"UserName": "u", "AccessKeyId": "AKIANEWXXXXXXXXXXXXX", "SecretAccessKey": "new-secret",
            "Status": "Active", "CreateDate": "2023-11-14T22:13:20Z", "note": 1})
    );
    let bootstrap = value(json!({"UserName": "u"}))
        .unwrap()
        .with_new_key(&key)
        .unwrap();
    assert_eq!(bootstrap.access_key_id(), Some("AKIANEWXXXXXXXXXXXXX"));
    let new: serde_json::Value =
        serde_json::from_str(bootstrap.to_secret_string().expose()).unwrap();
    assert_eq!(
        new,
        json!({"UserName": "u", "AccessKeyId": "AKIANEWXXXXXXXXXXXXX", "SecretAccessKey": "new-secret"})
    );
}

#[test]
fn user_name_template_renders_segments_and_rejects_what_cannot_fit() {
    let t = UserNameTemplate::parse("{1}-{2}").unwrap();
    assert_eq!(
        t.render("app1/production/db-key").unwrap(),
        "app1-production"
    );
    assert!(t
        .render("single")
        .unwrap_err()
        .contains("1 segment(s), the template uses segment 2"));
    assert!(t
        .render("app1//x")
        .unwrap_err()
        .contains("segment 2 of the name is empty"));
    assert!(t
        .render("app 1/prod/x")
        .unwrap_err()
        .contains("contains ' '"));
    assert_eq!(
        UserNameTemplate::parse("svc.{3}")
            .unwrap()
            .render("a/b/c")
            .unwrap(),
        "svc.c"
    );
    for (bad, expected) in [
        ("fixed-name", "no {N} placeholder"),
        ("{0}", "not a segment number"),
        ("{app}", "not a segment number"),
        ("{1", "not closed"),
        ("{1}/{2}", "contains '/'"),
    ] {
        let err = UserNameTemplate::parse(bad).unwrap_err();
        assert!(err.contains(expected), "{bad}: {err}");
    }
}

fn lookup(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

#[test]
fn configuration_defaults_and_values() {
    let c = Config::from_lookup(lookup(&[])).unwrap();
    assert_eq!(c.previous_key_action, PreviousKeyAction::Retire);
    assert_eq!(c.propagation_timeout, Duration::from_secs(60));
    assert!(c.user_name_template.is_none());
    assert_eq!(c.retire_idle, Duration::from_secs(24 * 3_600));
    let c = Config::from_lookup(lookup(&[
        ("PREVIOUS_KEY_ACTION", "retire"),
        ("RETIRE_IDLE_HOURS", "72"),
    ]))
    .unwrap();
    assert_eq!(c.previous_key_action, PreviousKeyAction::Retire);
    assert_eq!(c.retire_idle, Duration::from_secs(72 * 3_600));
    let c = Config::from_lookup(lookup(&[
        ("RETIRE_QUARANTINE_DAYS", "3"),
        ("RETIRE_DEADLINE_DAYS", "14"),
        ("RETIRE_ENFORCE_DEADLINE", "true"),
        ("SWEEP_INTERVAL_MINUTES", "30"),
        (
            "EMULATED_FUNCTION_ARN",
            "arn:aws:lambda:us-east-1:123456789012:function:f",
        ),
    ]))
    .unwrap();
    assert_eq!(c.retire_quarantine, Duration::from_secs(3 * 86_400));
    assert_eq!(c.retire_deadline, Duration::from_secs(14 * 86_400));
    assert!(c.retire_enforce_deadline);
    assert_eq!(c.sweep_interval, Duration::from_secs(1_800));
    assert_eq!(
        c.emulated_function_arn.as_deref(),
        Some("arn:aws:lambda:us-east-1:123456789012:function:f")
    );
    // The template sets every variable: a deadline below the idle time counts as the idle time.
    let vars = lookup(&[("RETIRE_IDLE_HOURS", "200"), ("RETIRE_DEADLINE_DAYS", "7")]);
    let c = Config::from_lookup(vars).unwrap();
    assert_eq!(c.retire_deadline, Duration::from_secs(200 * 3_600));
    // Unset, the deadline is never shorter than the idle time.
    let c = Config::from_lookup(lookup(&[("RETIRE_IDLE_HOURS", "720")])).unwrap();
    assert_eq!(c.retire_deadline, Duration::from_secs(30 * 86_400));
    let c = Config::from_lookup(lookup(&[
        ("PREVIOUS_KEY_ACTION", "delete"),
        ("PROPAGATION_TIMEOUT_SECONDS", "120"),
        ("USER_NAME_TEMPLATE", "{1}-{2}"),
    ]))
    .unwrap();
    assert_eq!(c.previous_key_action, PreviousKeyAction::Delete);
    assert_eq!(c.propagation_timeout, Duration::from_secs(120));
    assert_eq!(c.user_name_template.unwrap().as_str(), "{1}-{2}");
}

#[test]
fn invalid_configuration_names_the_variable_and_the_allowed_values() {
    type Vars = &'static [(&'static str, &'static str)];
    let cases: [(Vars, &str, &str); 12] = [
        (
            &[("PREVIOUS_KEY_ACTION", "remove")],
            "PREVIOUS_KEY_ACTION",
            "retire (the default), keep, deactivate, delete",
        ),
        (
            &[("RETIRE_IDLE_HOURS", "4")],
            "RETIRE_IDLE_HOURS",
            "whole hours from 8 to 720",
        ),
        (
            &[("RETIRE_IDLE_HOURS", "721")],
            "RETIRE_IDLE_HOURS",
            "whole hours from 8 to 720",
        ),
        (
            &[("RETIRE_IDLE_HOURS", "a day")],
            "RETIRE_IDLE_HOURS",
            "whole hours",
        ),
        (
            &[("RETIRE_QUARANTINE_DAYS", "0")],
            "RETIRE_QUARANTINE_DAYS",
            "whole days from 1 to 90",
        ),
        (
            &[("RETIRE_DEADLINE_DAYS", "91")],
            "RETIRE_DEADLINE_DAYS",
            "whole days from 1 to 90",
        ),
        (
            &[("RETIRE_ENFORCE_DEADLINE", "yes")],
            "RETIRE_ENFORCE_DEADLINE",
            "true and false",
        ),
        (
            &[("SWEEP_INTERVAL_MINUTES", "1")],
            "SWEEP_INTERVAL_MINUTES",
            "whole minutes from 5 to 1440",
        ),
        (
            &[("PROPAGATION_TIMEOUT_SECONDS", "soon")],
            "PROPAGATION_TIMEOUT_SECONDS",
            "whole seconds from 1 to 840",
        ),
        (
            &[("PROPAGATION_TIMEOUT_SECONDS", "0")],
            "PROPAGATION_TIMEOUT_SECONDS",
            "whole seconds",
        ),
        (
            &[("PROPAGATION_TIMEOUT_SECONDS", "900")],
            "PROPAGATION_TIMEOUT_SECONDS",
            "whole seconds",
        ),
        (
            &[("USER_NAME_TEMPLATE", "{x}")],
            "USER_NAME_TEMPLATE",
            "{1}-{2}",
        ),
    ];
    for (vars, variable, allowed) in cases {
        let err = Config::from_lookup(lookup(vars)).unwrap_err().to_string();
        assert!(err.contains(variable) && err.contains(allowed), "{err}");
        assert!(err.contains(vars[0].1), "quotes the bad value: {err}");
    }
}

#[test]
fn aws_errors_are_classified_transient_or_permanent() {
    let svc = |code, status| {
        AwsError::service("iam", "ListAccessKeys", Some(code), Some("m"), Some(status))
    };
    for (code, status) in [
        ("Throttling", 400),
        ("ThrottlingException", 400),
        ("ServiceFailure", 500),
        ("InternalServiceError", 500),
        ("Anything", 503),
        ("TooManyRequestsException", 429),
    ] {
        assert!(svc(code, status).is_transient(), "{code}");
    }
    for (code, status) in [
        ("NoSuchEntity", 404),
        ("AccessDenied", 403),
        ("LimitExceeded", 409),
        ("InvalidClientTokenId", 403),
        ("ResourceExistsException", 400),
    ] {
        assert!(!svc(code, status).is_transient(), "{code}");
    }
    assert!(
        AwsError::no_answer("sts", "GetCallerIdentity", "connection reset".into()).is_transient()
    );
    assert!(svc("InvalidClientTokenId", 403).may_be_propagation());
    assert!(!svc("ExpiredTokenException", 400).may_be_propagation());
    assert!(svc("NoSuchEntity", 404).is_not_found());

    let transient = RotationError::new("s", Step::CreateSecret, svc("Throttling", 400));
    let diagnostic: Diagnostic = transient.into();
    assert_eq!(diagnostic.error_type, "Transient.Aws.Throttling");
    let permanent = RotationError::new("s", Step::CreateSecret, Problem::RotationDisabled);
    assert_eq!(
        Diagnostic::from(permanent).error_type,
        "Permanent.RotationDisabled"
    );
    let propagation = RotationError::new(
        "s",
        Step::TestSecret,
        Problem::KeyNotPropagated {
            key_id: "AKIAXXXXXXXXXXXXXXXX".into(),
            attempts: 3,
            waited_secs: 3,
            last_error: "x".into(),
        },
    );
    assert_eq!(
        Diagnostic::from(propagation).error_type,
        "Transient.KeyNotPropagated"
    );
}

// ---- the key policy (keys.rs), where the fake cannot reach: unknown dates, same-second keys ----

fn at(secs: u64, millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
}

fn key(id: &str, created: SystemTime) -> AccessKeyInfo {
    AccessKeyInfo {
        id: id.into(),
        status: KeyStatus::Active,
        created,
    }
}

#[test]
fn a_key_is_an_orphan_only_if_made_after_the_start_and_stored_nowhere() {
    let keys = [key("CUR", at(100, 0)), key("NEW", at(201, 0))];
    let mut started = Evidence {
        rotation_started: Some(at(200, 700)),
        ..Evidence::default()
    };
    assert_eq!(
        keys::orphan_candidates(&keys, Some("CUR"), &started),
        ["NEW"],
        "IAM is asked whether it was ever used"
    );
    assert_eq!(
        keys::plan_room(&keys, Some("CUR"), &started).unwrap_err(),
        ["NEW"],
        "without IAM's word that nobody used it, not an orphan"
    );
    started.never_used.insert("NEW".into());
    let plan = keys::plan_room(&keys, Some("CUR"), &started).unwrap();
    assert_eq!(
        plan.delete,
        [("NEW".to_owned(), DeleteReason::Orphan)],
        "dated after the start, never used"
    );

    // IAM dates keys in whole seconds: a key dated the second the rotation started may be older.
    let same_second = [key("CUR", at(100, 0)), key("NEW", at(200, 0))];
    assert_eq!(
        keys::plan_room(&same_second, Some("CUR"), &started).unwrap_err(),
        ["NEW"],
        "not provably ours"
    );

    let unknown = Evidence::default();
    assert_eq!(
        keys::plan_room(&keys, Some("CUR"), &unknown).unwrap_err(),
        ["NEW"],
        "unknown start: not ours"
    );

    let before = Evidence {
        rotation_started: Some(at(202, 0)),
        ..Evidence::default()
    };
    assert_eq!(
        keys::plan_room(&keys, Some("CUR"), &before).unwrap_err(),
        ["NEW"],
        "made before the start"
    );

    let mut referenced = Evidence {
        rotation_started: Some(at(150, 0)),
        ..Evidence::default()
    };
    referenced.referenced.insert("NEW".into());
    assert_eq!(
        keys::plan_room(&keys, Some("CUR"), &referenced).unwrap_err(),
        ["NEW"],
        "a labelled version holds it"
    );

    let previous = Evidence {
        previous_key: Some("NEW".into()),
        ..Evidence::default()
    };
    assert_eq!(
        keys::plan_room(&keys, Some("CUR"), &previous)
            .unwrap()
            .delete,
        [("NEW".to_owned(), DeleteReason::Previous)]
    );
}

#[test]
fn a_free_slot_needs_no_deletion_and_the_current_key_is_never_planned() {
    let one = [key("CUR", at(100, 0))];
    let plan = keys::plan_room(&one, Some("CUR"), &Evidence::default()).unwrap();
    assert!(plan.delete.is_empty() && plan.foreign.is_empty());
    let everything = Evidence {
        previous_key: Some("CUR".into()),
        rotation_started: Some(at(0, 0)),
        never_used: ["OTHER".to_owned()].into(),
        ..Evidence::default()
    };
    let two = [key("CUR", at(100, 0)), key("OTHER", at(50, 0))];
    let plan = keys::plan_room(&two, Some("CUR"), &everything).unwrap();
    assert_eq!(plan.delete, [("OTHER".to_owned(), DeleteReason::Orphan)]);
    assert!(!keys::needs_evidence(&one, Some("CUR")));
    assert!(keys::needs_evidence(&one, None));
}

#[test]
fn the_previous_key_action_never_touches_the_current_key() {
    use PreviousKeyAction::*;
    assert_eq!(
        keys::previous_key_step(Deactivate, "OLD", Some("NEW")),
        PreviousKeyStep::Deactivate("OLD".into())
    );
    assert_eq!(
        keys::previous_key_step(Delete, "OLD", Some("NEW")),
        PreviousKeyStep::Delete("OLD".into())
    );
    assert!(matches!(
        keys::previous_key_step(Keep, "OLD", Some("NEW")),
        PreviousKeyStep::LeaveAlone(_)
    ));
    assert_eq!(
        keys::previous_key_step(Retire, "OLD", Some("NEW")),
        PreviousKeyStep::LeaveAlone(keys::RETIRE_REASON)
    );
    for action in [Keep, Deactivate, Delete, Retire] {
        // Every action has its name, both ways (one table in config.rs).
        assert_eq!(action.as_str().parse::<PreviousKeyAction>(), Ok(action));
        assert!(matches!(
            keys::previous_key_step(action, "OLD", Some("OLD")),
            PreviousKeyStep::LeaveAlone(_)
        ));
    }
}

#[test]
fn create_waits_until_its_key_is_dated_after_the_rotation_start() {
    for (secs, millis) in [(100, 0), (100, 300), (100, 999)] {
        let now = at(secs, millis);
        let wait = keys::wait_before_creating(now);
        assert!(wait <= Duration::from_millis(1100), "{wait:?}");
        let created = (now + wait).duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(
            created,
            secs + 1,
            "the key's whole second is after the start's"
        );
    }
}
