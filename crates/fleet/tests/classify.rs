//! What `classify` makes of each form a value may take: rotatable as the function rotates it,
//! key material it cannot rotate (with a fix), or nothing to do with AWS keys.

use iam_key_fleet::classify::{classify, key_ids_in, Holding};
use iam_key_rotator::sensitive::Sensitive;

fn of(text: &str) -> Holding {
    classify(&Sensitive::new(text))
}

const ID: &str = "AKIAIOSFODNN7EXAMPLE";
const KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

#[test]
fn both_namings_and_bootstrap_values_are_rotatable() {
    let rotatable = |user: Option<&str>, id: Option<&str>| Holding::Rotatable {
        user_name: user.map(str::to_owned),
        account_id: None,
        access_key_id: id.map(str::to_owned),
        text: false,
    };
    let iam = format!(r#"{{"UserName":"ci","AccessKeyId":"{ID}","SecretAccessKey":"{KEY}"}}"#);
    assert_eq!(of(&iam), rotatable(Some("ci"), Some(ID)));
    let file = format!(r#"{{"aws_access_key_id":"{ID}","aws_secret_access_key":"{KEY}"}}"#);
    assert_eq!(of(&file), rotatable(None, Some(ID)));
    assert_eq!(of(r#"{"UserName":"ci"}"#), rotatable(Some("ci"), None));
}

#[test]
fn key_material_the_function_cannot_rotate_comes_with_a_fix() {
    for (text, id) in [
        (ID.to_owned(), Some(ID)),
        (format!("\"{ID}\""), Some(ID)),
        (
            format!("[a]\naws_access_key_id = {ID}\n[b]\naws_access_key_id = {ID}\n"),
            Some(ID),
        ),
        (
            format!("AWS_ACCESS_KEY_ID={ID}\nAWS_SESSION_TOKEN={KEY}\n"),
            Some(ID),
        ),
        (KEY.to_owned(), None),
        (
            format!(r#"{{"AWS_ACCESS_KEY_ID":"{ID}","AWS_SECRET_ACCESS_KEY":"{KEY}"}}"#),
            Some(ID),
        ),
        (format!(r#"{{"deploy":{{"key":"{ID}"}}}}"#), Some(ID)),
        (
            format!(r#"{{"UserName":"ci","AccessKeyId":"{ID}"}}"#),
            Some(ID),
        ),
        // The two fields swapped by mistake (§18): the id reported is the one proven a key
        // id, and the secret key is in no finding.
        (
            format!(r#"{{"UserName":"ci","AccessKeyId":"{KEY}","SecretAccessKey":"{ID}"}}"#),
            Some(ID),
        ),
    ] {
        match of(&text) {
            Holding::NotRotatable {
                access_key_id,
                fix,
                what,
            } => {
                assert_eq!(access_key_id.as_deref(), id, "{what}");
                assert!(!fix.is_empty());
                assert!(
                    !what.contains(KEY) && !fix.contains(KEY),
                    "no secret key in a finding"
                );
            }
            other => panic!("{other:?} for a value holding key material"),
        }
    }
}

#[test]
fn credentials_files_and_dotenv_texts_are_rotatable_as_the_function_rotates_them() {
    let text = |id: &str| Holding::Rotatable {
        user_name: None,
        account_id: None,
        access_key_id: Some(id.to_owned()),
        text: true,
    };
    let file = format!("[default]\naws_access_key_id = {ID}\naws_secret_access_key = {KEY}\n");
    assert_eq!(of(&file), text(ID));
    assert_eq!(
        of(&format!(
            "AWS_ACCESS_KEY_ID={ID}\nAWS_SECRET_ACCESS_KEY={KEY}\n"
        )),
        text(ID)
    );
    let Holding::NotRotatable { what, .. } = of(&format!("[default]\naws_access_key_id = {ID}\n"))
    else {
        panic!("a key id without its secret is not rotatable")
    };
    assert!(what.contains("no aws_secret_access_key"), "{what}");
}

#[test]
fn the_nested_field_is_named_in_the_finding() {
    let Holding::NotRotatable { what, .. } = of(&format!(r#"{{"deploy":{{"key":"{ID}"}}}}"#))
    else {
        panic!("not rotatable expected")
    };
    assert!(what.contains("`deploy.key`"), "{what}");
}

#[test]
fn other_secrets_are_unrelated() {
    for text in [
        r#"{"username":"app","password":"hunter2"}"#,
        "0123456789abcdef0123456789abcdef01234567", // a 40-character hex token
        "AKIA-not-a-key",
        "ASIAIOSFODNN7EXAMPLE", // temporary credentials are not IAM user keys
        "",
        "[1, 2]",
    ] {
        assert_eq!(of(text), Holding::Unrelated, "{text}");
    }
}

#[test]
fn every_key_id_in_a_value_is_found_whatever_its_form() {
    let ids = |text: &str| key_ids_in(&Sensitive::new(text));
    let second = "AKIAABCDEFGHIJKLMNOP";
    assert_eq!(
        ids(&format!("{{\"profiles\": [{{\"id\": \"{ID}\"}}]}}")),
        vec![ID]
    );
    let file =
        format!("[default]\naws_access_key_id = {ID}\n[other]\naws_access_key_id={second}\n");
    assert_eq!(ids(&file), vec![second, ID], "sorted");
    let escaped = serde_json::json!({ "credentials": format!("\n{ID}") }).to_string();
    assert_eq!(ids(&escaped), vec![ID]);
    assert!(ids(&format!("X{ID}")).is_empty() && ids(KEY).is_empty());
}
