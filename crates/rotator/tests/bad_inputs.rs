//! The bad-input catalogue (SPEC §10.6): every case gets its own clear error, and changes nothing.
//! Each runs through the Lambda handler, against the in-memory fake; the world is compared before
//! and after, and the error must hold no secret.

mod support;

use iam_key_rotator::aws::{KeyStatus, AWSCURRENT, AWSPREVIOUS};
use iam_key_rotator::config::{Config, PreviousKeyAction};
use iam_key_rotator::event::Step;
use iam_key_rotator::user_name::UserNameTemplate;
use lambda_runtime::{Context, Diagnostic, LambdaEvent};
use serde_json::{json, Value};

use support::fake::FakeAws;
use support::*;

/// A user with a key, its secret, rotation on, and a rotation started: returns the token.
fn started(fake: &FakeAws) -> String {
    setup(fake);
    fake.start_rotation(SECRET).unwrap()
}

fn ev(step: &str, secret: &str, token: &str) -> Value {
    json!({"Step": step, "SecretId": secret, "ClientRequestToken": token})
}

/// createSecret on a secret whose AWSCURRENT value is `value`.
fn current_value(fake: &FakeAws, value: &str) -> Value {
    let token = started(fake);
    let current = fake.version_with(SECRET, AWSCURRENT).unwrap().id;
    fake.set_value(SECRET, &current, Some(value));
    ev("createSecret", SECRET, &token)
}

/// A step after createSecret ran, with the pending value replaced by `value`.
fn pending_value(fake: &FakeAws, step: &str, value: impl Fn(&FakeAws) -> String) -> Value {
    let token = started(fake);
    let v = value(fake);
    fake.set_value(SECRET, &token, Some(&v));
    ev(step, SECRET, &token)
}

const TOKEN: &str = "0c8b6f1e-3f4a-4d2b-9a7e-5b1d2c3e4f60";
type Setup = fn(&FakeAws) -> Value;

const CASES: &[(&str, &str, Setup)] = &[
    // ---- malformed events ----
    (
        "event without Step",
        "Permanent.InvalidEvent",
        |_| json!({"SecretId": SECRET, "ClientRequestToken": TOKEN}),
    ),
    (
        "event without SecretId",
        "Permanent.InvalidEvent",
        |_| json!({"Step": "createSecret", "ClientRequestToken": TOKEN}),
    ),
    (
        "event without ClientRequestToken",
        "Permanent.InvalidEvent",
        |_| json!({"Step": "createSecret", "SecretId": SECRET}),
    ),
    ("empty Step", "Permanent.InvalidEvent", |_| {
        ev("", SECRET, TOKEN)
    }),
    ("empty SecretId", "Permanent.InvalidEvent", |_| {
        ev("createSecret", "", TOKEN)
    }),
    ("empty ClientRequestToken", "Permanent.InvalidEvent", |_| {
        ev("createSecret", SECRET, "")
    }),
    ("unknown step", "Permanent.InvalidEvent", |_| {
        ev("rotateSecret", SECRET, TOKEN)
    }),
    ("step in the wrong case", "Permanent.InvalidEvent", |_| {
        ev("CreateSecret", SECRET, TOKEN)
    }),
    (
        "Step is a number",
        "Permanent.InvalidEvent",
        |_| json!({"Step": 1, "SecretId": SECRET, "ClientRequestToken": TOKEN}),
    ),
    ("token too short", "Permanent.InvalidEvent", |_| {
        ev("createSecret", SECRET, "v1")
    }),
    ("token too long", "Permanent.InvalidEvent", |_| {
        ev("createSecret", SECRET, &"x".repeat(65))
    }),
    (
        "RotationToken not a string",
        "Permanent.InvalidEvent",
        |_| json!({"Step": "createSecret", "SecretId": SECRET, "ClientRequestToken": TOKEN, "RotationToken": 7}),
    ),
    (
        "RotationToken empty",
        "Permanent.InvalidEvent",
        |_| json!({"Step": "createSecret", "SecretId": SECRET, "ClientRequestToken": TOKEN, "RotationToken": ""}),
    ),
    ("event is an array", "Permanent.InvalidEvent", |_| {
        json!([ev("createSecret", SECRET, TOKEN)])
    }),
    ("event is a string", "Permanent.InvalidEvent", |_| {
        json!("createSecret")
    }),
    ("event is null", "Permanent.InvalidEvent", |_| Value::Null),
    // ---- wrong tokens, rotation state ----
    (
        "secret does not exist",
        "Permanent.Aws.ResourceNotFoundException",
        |f| {
            started(f);
            ev("createSecret", "no/such/secret", TOKEN)
        },
    ),
    ("rotation disabled", "Permanent.RotationDisabled", |f| {
        let token = started(f);
        f.set_rotation_enabled(SECRET, false);
        ev("createSecret", SECRET, &token)
    }),
    ("token is no version", "Permanent.VersionNotFound", |f| {
        started(f);
        ev("setSecret", SECRET, TOKEN)
    }),
    (
        "token is the AWSPREVIOUS version",
        "Permanent.VersionNotPending",
        |f| {
            setup(f);
            let rotator = f.rotator(config(PreviousKeyAction::Keep));
            futures_block(rotate(f, &rotator, SECRET)).expect("the earlier rotation");
            f.start_rotation(SECRET).unwrap();
            ev(
                "createSecret",
                SECRET,
                &f.version_with(SECRET, AWSPREVIOUS).unwrap().id,
            )
        },
    ),
    // ---- secret values of every broken shape ----
    ("value is not JSON", "Permanent.InvalidSecretValue", |f| {
        current_value(f, "AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI")
    }),
    (
        "value is truncated JSON",
        "Permanent.InvalidSecretValue",
        |f| current_value(f, r#"{"UserName": "ci-deployer""#),
    ),
    (
        "value is a JSON array",
        "Permanent.InvalidSecretValue",
        |f| current_value(f, r#"["ci-deployer"]"#),
    ),
    (
        "value is a JSON string",
        "Permanent.InvalidSecretValue",
        |f| current_value(f, r#""ci-deployer""#),
    ),
    (
        "value is a JSON number",
        "Permanent.InvalidSecretValue",
        |f| current_value(f, "42"),
    ),
    ("value is null", "Permanent.InvalidSecretValue", |f| {
        current_value(f, "null")
    }),
    (
        "UserName is a number",
        "Permanent.InvalidSecretValue",
        |f| current_value(f, r#"{"UserName": 7}"#),
    ),
    ("UserName is empty", "Permanent.InvalidSecretValue", |f| {
        current_value(f, r#"{"UserName": ""}"#)
    }),
    (
        "UserName holds a path",
        "Permanent.InvalidSecretValue",
        |f| current_value(f, r#"{"UserName": "svc/ci-deployer"}"#),
    ),
    ("UserName too long", "Permanent.InvalidSecretValue", |f| {
        current_value(f, &json!({"UserName": "u".repeat(65)}).to_string())
    }),
    // A null is not an absence: this was taken for a bootstrap value, and a key made.
    (
        "key id null (a bootstrap value in disguise)",
        "Permanent.InvalidSecretValue",
        |f| current_value(f, r#"{"UserName": "ci-deployer", "AccessKeyId": null}"#),
    ),
    ("key pair null", "Permanent.InvalidSecretValue", |f| {
        current_value(
            f,
            r#"{"UserName": "ci-deployer", "AccessKeyId": null, "SecretAccessKey": null}"#,
        )
    }),
    ("UserName null", "Permanent.InvalidSecretValue", |f| {
        current_value(f, r#"{"UserName": null}"#)
    }),
    (
        "both namings, one pair null",
        "Permanent.InvalidSecretValue",
        |f| {
            let value = json!({"UserName": USER, "AccessKeyId": "AKIAONEXXXXXXXXXXXXX", "SecretAccessKey": "wJalrXUtnFEMI-n",
                "aws_access_key_id": null, "aws_secret_access_key": null});
            current_value(f, &value.to_string())
        },
    ),
    (
        "both namings naming different keys",
        "Permanent.InvalidSecretValue",
        |f| {
            let value = json!({"UserName": USER, "AccessKeyId": "AKIAONEXXXXXXXXXXXXX", "SecretAccessKey": "wJalrXUtnFEMI-m",
                "aws_access_key_id": "AKIAOTHER0000000000X", "aws_secret_access_key": "wJalrXUtnFEMI-m"});
            current_value(f, &value.to_string())
        },
    ),
    (
        "key id without secret",
        "Permanent.InvalidSecretValue",
        |f| {
            current_value(
                f,
                r#"{"UserName": "ci-deployer", "AccessKeyId": "AKIA1XXXXXXXXXXXXXXX"}"#,
            )
        },
    ),
    (
        "secret without key id",
        "Permanent.InvalidSecretValue",
        |f| {
            current_value(
                f,
                r#"{"UserName": "ci-deployer", "SecretAccessKey": "wJalrXUtnFEMI-x"}"#,
            )
        },
    ),
    (
        "credentials-file id without secret",
        "Permanent.InvalidSecretValue",
        |f| {
            current_value(
                f,
                r#"{"UserName": "ci-deployer", "aws_access_key_id": "AKIA1XXXXXXXXXXXXXXX"}"#,
            )
        },
    ),
    (
        "the two namings disagree",
        "Permanent.InvalidSecretValue",
        |f| {
            current_value(
                f,
                r#"{"UserName": "ci-deployer", "AccessKeyId": "AKIA1XXXXXXXXXXXXXXX", "SecretAccessKey": "wJalrXUtnFEMI-a", "aws_access_key_id": "AKIA2XXXXXXXXXXXXXXX", "aws_secret_access_key": "wJalrXUtnFEMI-a"}"#,
            )
        },
    ),
    (
        "SecretAccessKey is a number",
        "Permanent.InvalidSecretValue",
        |f| {
            current_value(
                f,
                r#"{"UserName": "ci-deployer", "AccessKeyId": "AKIA1XXXXXXXXXXXXXXX", "SecretAccessKey": 5}"#,
            )
        },
    ),
    ("no UserName and no template", "Permanent.NoUserName", |f| {
        current_value(
            f,
            r#"{"AccessKeyId": "AKIA1XXXXXXXXXXXXXXX", "SecretAccessKey": "wJalrXUtnFEMI-b"}"#,
        )
    }),
    ("AWSCURRENT holds no value", "Permanent.MissingValue", |f| {
        let token = started(f);
        let current = f.version_with(SECRET, AWSCURRENT).unwrap().id;
        f.set_value(SECRET, &current, None);
        ev("createSecret", SECRET, &token)
    }),
    // ---- the wrong user, deleted or recreated ----
    ("user does not exist", "Permanent.Aws.NoSuchEntity", |f| {
        let token = started(f);
        f.delete_user(USER);
        ev("createSecret", SECRET, &token)
    }),
    (
        // A user deleted and made again has lost its tags: the binding does not carry over.
        "user recreated under the same name",
        "Permanent.UserNotBound",
        |f| {
            let token = started(f);
            f.delete_user(USER);
            f.add_user(USER, "/svc/");
            ev("createSecret", SECRET, &token)
        },
    ),
    (
        "AWSCURRENT key belongs to another user",
        "Permanent.KeyNotOwnedByUser",
        |f| {
            let token = started(f);
            f.add_user("someone-else", "/");
            let (id, secret) = f.add_key("someone-else");
            let current = f.version_with(SECRET, AWSCURRENT).unwrap().id;
            f.set_value(SECRET, &current, Some(&value_json(USER, &id, &secret)));
            ev("createSecret", SECRET, &token)
        },
    ),
    // ---- an AWSCURRENT key that is inactive or deleted ----
    (
        "AWSCURRENT key inactive",
        "Permanent.CurrentKeyInactive",
        |f| {
            let token = started(f);
            let key = key_in(f, SECRET, AWSCURRENT).unwrap();
            f.set_key_status(USER, &key, KeyStatus::Inactive);
            ev("createSecret", SECRET, &token)
        },
    ),
    (
        "AWSCURRENT key deleted",
        "Permanent.KeyNotOwnedByUser",
        |f| {
            let token = started(f);
            let key = key_in(f, SECRET, AWSCURRENT).unwrap();
            f.remove_key(USER, &key);
            ev("createSecret", SECRET, &token)
        },
    ),
    // ---- keys that are not ours; two secrets on one user ----
    (
        "user holds two keys that are not ours",
        "Permanent.NoFreeKeySlot",
        |f| {
            f.add_user(USER, "/");
            f.add_key(USER);
            f.add_key(USER);
            f.create_secret(SECRET, &format!(r#"{{"UserName":"{USER}"}}"#), true);
            f.bind(USER, SECRET);
            ev("createSecret", SECRET, &f.start_rotation(SECRET).unwrap())
        },
    ),
    (
        "user holds our key and one not ours",
        "Permanent.NoFreeKeySlot",
        |f| {
            setup(f);
            f.add_key(USER);
            ev("createSecret", SECRET, &f.start_rotation(SECRET).unwrap())
        },
    ),
    (
        "two secrets point at the same user",
        "Permanent.NoFreeKeySlot",
        |f| {
            setup(f);
            let (id, secret) = f.add_key(USER);
            f.create_secret(
                "app2/production/deployer",
                &value_json(USER, &id, &secret),
                true,
            );
            ev("createSecret", SECRET, &f.start_rotation(SECRET).unwrap())
        },
    ),
    // ---- the binding (§15): a key only for a user an administrator bound to this secret ----
    (
        "user not bound to the secret",
        "Permanent.UserNotBound",
        |f| {
            f.add_user(USER, "/svc/");
            let (id, secret) = f.add_key(USER);
            f.create_secret(SECRET, &value_json(USER, &id, &secret), true);
            ev("createSecret", SECRET, &f.start_rotation(SECRET).unwrap())
        },
    ),
    (
        // The attack: whoever may write the secret names an administrator in a bootstrap value.
        "bootstrap value naming an unbound administrator",
        "Permanent.UserNotBound",
        |f| {
            setup(f);
            f.add_user("admin", "/");
            f.add_key("admin");
            let current = f.version_with(SECRET, AWSCURRENT).unwrap().id;
            f.set_value(SECRET, &current, Some(r#"{"UserName":"admin"}"#));
            ev("createSecret", SECRET, &f.start_rotation(SECRET).unwrap())
        },
    ),
    (
        "user's tag names another secret",
        "Permanent.UserNotBound",
        |f| {
            setup(f);
            f.tag_user(
                USER,
                "IAM-Key-Rotator:Secret",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-QwErTy",
            );
            ev("createSecret", SECRET, &f.start_rotation(SECRET).unwrap())
        },
    ),
    (
        "tag naming the secret by name instead of ARN",
        "Permanent.UserNotBound",
        |f| {
            setup(f);
            f.tag_user(USER, iam_key_rotator::binding::BINDING_TAG, SECRET);
            ev("createSecret", SECRET, &f.start_rotation(SECRET).unwrap())
        },
    ),
    (
        "two secrets on one user: the one it is not bound to",
        "Permanent.UserNotBound",
        |f| {
            setup(f);
            f.create_secret(
                "app2/production/deployer",
                &format!(r#"{{"UserName":"{USER}"}}"#),
                true,
            );
            let token = f.start_rotation("app2/production/deployer").unwrap();
            ev("createSecret", "app2/production/deployer", &token)
        },
    ),
    ("console password secret", "Permanent.NotAKeySecret", |f| {
        setup(f);
        let current = f.version_with(SECRET, AWSCURRENT).unwrap().id;
        let value = format!(r#"{{"UserName":"{USER}","Password":"wJalrXUtnFEMI-pw"}}"#);
        f.set_value(SECRET, &current, Some(&value));
        ev("createSecret", SECRET, &f.start_rotation(SECRET).unwrap())
    }),
    (
        "secret ARN too long for a tag value",
        "Permanent.SecretArnTooLong",
        |f| {
            let name = format!("app1/production/{}", "k".repeat(200));
            f.add_user(USER, "/svc/");
            f.create_secret(&name, &format!(r#"{{"UserName":"{USER}"}}"#), true);
            ev("createSecret", &name, &f.start_rotation(&name).unwrap())
        },
    ),
    (
        "user unbound between createSecret and finishSecret",
        "Permanent.UserNotBound",
        |f| {
            let token = started(f);
            let rotator = f.rotator(config(PreviousKeyAction::Delete));
            for s in [Step::CreateSecret, Step::SetSecret, Step::TestSecret] {
                futures_block(step(&rotator, s, SECRET, &token)).unwrap();
            }
            f.tag_user(USER, iam_key_rotator::binding::BINDING_TAG, "unbound");
            ev("finishSecret", SECRET, &token)
        },
    ),
    // ---- a person's edit while the rotation runs (issue 12) ----
    (
        "a new AWSCURRENT value written between createSecret and finishSecret",
        "Permanent.CurrentWrittenDuringRotation",
        |f| {
            let token = started(f);
            let rotator = f.rotator(config(PreviousKeyAction::Delete));
            for s in [Step::CreateSecret, Step::SetSecret, Step::TestSecret] {
                futures_block(step(&rotator, s, SECRET, &token)).unwrap();
            }
            // The same key, a field edited: reverting it would be silent, and the key acted on.
            let key = f.user(USER).keys[0].clone();
            let edited = json!({"UserName": USER, "AccessKeyId": key.id,
                "SecretAccessKey": key.secret, "owner": "edited by hand"});
            f.put_current_value(SECRET, &edited.to_string());
            ev("finishSecret", SECRET, &token)
        },
    ),
    // ---- setSecret and testSecret on a tampered pending version ----
    (
        "pending value for another user",
        "Permanent.UserMismatch",
        |f| {
            pending_value(f, "setSecret", |f| {
                f.add_user("someone-else", "/");
                let (id, secret) = f.add_key("someone-else");
                value_json("someone-else", &id, &secret)
            })
        },
    ),
    (
        "pending key that IAM never made",
        "Permanent.PendingKeyNotUsable",
        |f| {
            pending_value(f, "setSecret", |_| {
                value_json(USER, "AKIANEVERMADE0000000", "wJalrXUtnFEMI-c")
            })
        },
    ),
    (
        "pending value without a key",
        "Permanent.InvalidSecretValue",
        |f| pending_value(f, "setSecret", |_| format!(r#"{{"UserName":"{USER}"}}"#)),
    ),
    (
        "pending value not JSON",
        "Permanent.InvalidSecretValue",
        |f| pending_value(f, "testSecret", |_| "wJalrXUtnFEMI-d".into()),
    ),
    (
        "pending key with a wrong secret",
        "Transient.KeyNotPropagated",
        |f| {
            pending_value(f, "testSecret", |f| {
                let key = f.user(USER).keys[0].id.clone();
                value_json(USER, &key, "wJalrXUtnFEMI-wrong-secret")
            })
        },
    ),
];

/// Runs a future to completion on the current (paused-clock) runtime, for set-up code.
fn futures_block<F: std::future::Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn every_bad_input_gets_its_error_and_changes_nothing() {
    let mut tried = 0;
    for (name, expected, setup_case) in CASES {
        let fake = FakeAws::new();
        let mut cfg = config(PreviousKeyAction::Delete);
        cfg.propagation_timeout = std::time::Duration::from_secs(2);
        let rotator = fake.rotator(cfg);
        let payload = setup_case(&fake);
        let before = fake.world();
        let result =
            iam_key_rotator::handler(&rotator, LambdaEvent::new(payload, Context::default())).await;
        let diagnostic = Diagnostic::from(result.expect_err(name));
        assert_eq!(
            diagnostic.error_type, *expected,
            "{name}: {}",
            diagnostic.error_message
        );
        assert_eq!(fake.world(), before, "{name} changed something");
        // (Values as short as "null" or "42" are set-up data, not secrets a message could leak.)
        for material in fake.secret_material().into_iter().filter(|m| m.len() >= 8) {
            assert!(
                !diagnostic.error_message.contains(&material),
                "{name}: secret in the error"
            );
        }
        assert!(
            !diagnostic.error_message.contains("wJalrXUtnFEMI"),
            "{name}: secret in the error"
        );
        tried += 1;
    }
    println!("bad inputs: {tried} tried, {tried} refused with their error, none changed anything");
    assert!(tried >= 40);
}

#[test]
fn every_bad_configuration_is_refused() {
    let cases: &[(&str, &str)] = &[
        ("PREVIOUS_KEY_ACTION", "purge"),
        ("PREVIOUS_KEY_ACTION", "Keep"),
        ("PROPAGATION_TIMEOUT_SECONDS", "0"),
        ("PROPAGATION_TIMEOUT_SECONDS", "900"),
        ("PROPAGATION_TIMEOUT_SECONDS", "1.5"),
        ("PROPAGATION_TIMEOUT_SECONDS", "soon"),
        ("USER_NAME_TEMPLATE", "static-name"),
        ("USER_NAME_TEMPLATE", "{1}/{2}"),
        ("USER_NAME_TEMPLATE", "{0}"),
        ("USER_NAME_TEMPLATE", "{1"),
    ];
    for (variable, value) in cases {
        let err = Config::from_lookup(|name| (name == *variable).then(|| value.to_string()))
            .expect_err(value)
            .to_string();
        assert!(
            err.contains(variable) && err.contains("allowed values")
                || err.contains("template looks like"),
            "{err}"
        );
    }
    assert!(UserNameTemplate::parse("{3}")
        .unwrap()
        .render("a/b")
        .is_err());
    println!(
        "bad configurations: {} tried, {} refused",
        cases.len(),
        cases.len()
    );
}
