//! Property tests of the parsers: no input makes them panic, and an error never quotes a secret.

use iam_key_rotator::event::RotationEvent;
use iam_key_rotator::secret_value::SecretValue;
use iam_key_rotator::sensitive::Sensitive;
use iam_key_rotator::user_name::UserNameTemplate;
use proptest::prelude::*;
use serde_json::{json, Value};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("Step".to_owned()),
                    Just("SecretId".to_owned()),
                    Just("ClientRequestToken".to_owned()),
                    Just("RotationToken".to_owned()),
                    Just("UserName".to_owned()),
                    Just("AccessKeyId".to_owned()),
                    Just("SecretAccessKey".to_owned()),
                    Just("aws_access_key_id".to_owned()),
                    Just("aws_secret_access_key".to_owned()),
                    ".{0,12}",
                ],
                inner,
                0..8,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A key field: absent, null, empty, a number, or one of two values.
fn key_field() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        Just(Some(json!(""))),
        Just(Some(json!(7))),
        Just(Some(json!("AKIAONEXXXXXXXXXXXXX"))),
        Just(Some(json!("AKIATWOXXXXXXXXXXXXX"))),
    ]
}

proptest! {
    // No regression files: the cases are cheap to regenerate, and the clone stays clean.
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_event_parser_never_panics(value in any_json()) {
        let _ = RotationEvent::parse(&value);
    }

    #[test]
    fn an_event_error_never_shows_the_rotation_token(token in "[A-Za-z0-9/+]{16,40}", step in ".{0,16}", bad in any_json()) {
        let event = json!({"Step": step, "SecretId": bad, "ClientRequestToken": "short", "RotationToken": token});
        if let Err(e) = RotationEvent::parse(&event) {
            prop_assert!(!e.to_string().contains(&token));
        }
    }

    #[test]
    fn the_secret_value_parser_never_panics(raw in ".{0,200}") {
        let _ = SecretValue::parse(&Sensitive::new(raw));
    }

    #[test]
    fn the_secret_value_parser_never_panics_on_json(value in any_json()) {
        let _ = SecretValue::parse(&Sensitive::new(value.to_string()));
    }

    #[test]
    fn a_secret_value_error_never_quotes_the_secret(
        secret in "[A-Za-z0-9/+]{20,40}",
        shape in 0usize..6,
        other in any_json(),
    ) {
        let value = match shape {
            0 => json!({"UserName": other, "AccessKeyId": "AKIA1XXXXXXXXXXXXXXX", "SecretAccessKey": secret}),
            1 => json!({"UserName": "u", "AccessKeyId": other, "SecretAccessKey": secret}),
            2 => json!({"UserName": "u", "SecretAccessKey": secret}),
            3 => json!({"UserName": "u", "AccessKeyId": "AKIA1XXXXXXXXXXXXXXX", "SecretAccessKey": secret, "aws_access_key_id": other, "aws_secret_access_key": secret}),
            4 => json!([secret, other]),
            _ => json!(secret),
        };
        let raw = value.to_string();
        let half: String = raw.chars().take(raw.chars().count() / 2).collect();
        for text in [raw.clone(), half] {
            if let Err(reason) = SecretValue::parse(&Sensitive::new(text)) {
                prop_assert!(!reason.contains(&secret), "{}", reason);
            }
        }
    }

    /// Nulls, empty strings, numbers and both namings, mixed in every way: the parser refuses
    /// every null and every disagreement, and what it accepts holds a whole key pair or none.
    #[test]
    fn nulls_and_mixed_namings_are_refused_or_whole(
        fields in prop::collection::vec(key_field(), 4),
        user in prop_oneof![Just(None), Just(Some(Value::Null)), Just(Some(json!("u")))],
    ) {
        let names = ["AccessKeyId", "SecretAccessKey", "aws_access_key_id", "aws_secret_access_key"];
        let mut object = serde_json::Map::new();
        if let Some(user) = &user {
            object.insert("UserName".into(), user.clone());
        }
        for (name, field) in names.iter().zip(&fields) {
            if let Some(field) = field {
                object.insert((*name).into(), field.clone());
            }
        }
        let present: Vec<&Value> = fields.iter().flatten().chain(user.iter()).collect();
        let parsed = SecretValue::parse(&Sensitive::new(Value::Object(object).to_string()));
        let Ok(value) = parsed else { return Ok(()) };
        prop_assert!(!present.iter().any(|v| v.is_null()), "a null was accepted");
        prop_assert_eq!(value.access_key_id().is_some(), value.secret_access_key().is_some());
        prop_assert_eq!(value.access_key_id().is_none(), fields.iter().all(Option::is_none),
            "a value with any key field holds a whole pair");
        if let (Some(Some(a)), Some(Some(b))) = (fields.first(), fields.get(2)) {
            prop_assert_eq!(a, b, "both namings name one key");
        }
        if let (Some(Some(a)), Some(Some(b))) = (fields.get(1), fields.get(3)) {
            prop_assert_eq!(a, b, "both namings hold one secret");
        }
    }

    #[test]
    fn the_template_parser_and_renderer_never_panic(template in ".{0,30}", name in ".{0,60}") {
        if let Ok(t) = UserNameTemplate::parse(&template) {
            let _ = t.render(&name);
        }
    }
}
