//! What a mirror is written (issue 23): the key in the target's format, the target's other lines
//! or fields kept, a text a tool would read two ways refused, and nothing written to a target that
//! already holds exactly it.

use iam_key_rotator::key_text::TextFormat;
use iam_key_rotator::mirror::{holds, render, MirrorFormat};

const ID: &str = "AKIAI44QH8DHBEXAMPLE";
const SECRET: &str = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY";
const OLD_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const OLD_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn credentials(profile: &str) -> MirrorFormat {
    MirrorFormat::Text(TextFormat::CredentialsFile {
        profile: profile.into(),
    })
}

#[test]
fn a_split_field_mirror_holds_one_value_alone() {
    assert_eq!(
        render(&MirrorFormat::AccessKeyId, Some(OLD_ID), ID, SECRET).unwrap(),
        ID
    );
    assert_eq!(
        render(&MirrorFormat::SecretAccessKey, None, ID, SECRET).unwrap(),
        SECRET
    );
}

#[test]
fn a_text_mirror_keeps_its_other_lines() {
    let held = format!("[other]\nregion = eu-west-1\n[ci]\naws_access_key_id = {OLD_ID}\naws_secret_access_key = {OLD_SECRET}\n");
    let written = render(&credentials("ci"), Some(&held), ID, SECRET).unwrap();
    assert_eq!(
        written,
        held.replace(OLD_ID, ID).replace(OLD_SECRET, SECRET)
    );
    let fresh = render(&credentials("default"), None, ID, SECRET).unwrap();
    assert_eq!(
        fresh,
        format!("[default]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n")
    );
    let dotenv = render(
        &MirrorFormat::Text(TextFormat::Dotenv),
        Some("REGION=x\n"),
        ID,
        SECRET,
    )
    .unwrap();
    assert_eq!(
        dotenv,
        format!("REGION=x\nAWS_ACCESS_KEY_ID={ID}\nAWS_SECRET_ACCESS_KEY={SECRET}\n")
    );
}

#[test]
fn a_text_a_tool_would_read_two_ways_is_left_for_a_person() {
    let held = format!("[ci]\naws_access_key_id = {OLD_ID}\naws_access_key_id = {OLD_ID}\naws_secret_access_key = {OLD_SECRET}\n");
    let reason = render(&credentials("ci"), Some(&held), ID, SECRET).unwrap_err();
    assert!(
        reason.contains("a second time") && reason.contains("by hand"),
        "{reason}"
    );
    assert!(!reason.contains(OLD_SECRET) && !reason.contains(SECRET));
    assert!(!holds(&credentials("ci"), Some(&held), ID, SECRET));
}

#[test]
fn a_json_mirror_keeps_its_other_fields_and_replaces_what_is_not_an_object() {
    let held = format!(
        r#"{{"region":"eu-west-1","AccessKeyId":"{OLD_ID}","SecretAccessKey":"{OLD_SECRET}"}}"#
    );
    let written: serde_json::Value =
        serde_json::from_str(&render(&MirrorFormat::Json, Some(&held), ID, SECRET).unwrap())
            .unwrap();
    assert_eq!(
        written,
        serde_json::json!({"region": "eu-west-1", "AccessKeyId": ID, "SecretAccessKey": SECRET})
    );
    for placeholder in [None, Some("-"), Some("[1]")] {
        let written: serde_json::Value =
            serde_json::from_str(&render(&MirrorFormat::Json, placeholder, ID, SECRET).unwrap())
                .unwrap();
        assert_eq!(
            written,
            serde_json::json!({"AccessKeyId": ID, "SecretAccessKey": SECRET})
        );
    }
}

#[test]
fn a_target_that_holds_the_key_already_is_not_written_again() {
    for format in [
        MirrorFormat::AccessKeyId,
        MirrorFormat::SecretAccessKey,
        MirrorFormat::Json,
        credentials("ci"),
        MirrorFormat::Text(TextFormat::Dotenv),
    ] {
        let written = render(&format, None, ID, SECRET).unwrap();
        assert!(holds(&format, Some(&written), ID, SECRET), "{format:?}");
        let stale = render(&format, None, OLD_ID, OLD_SECRET).unwrap();
        assert!(
            !holds(&format, Some(&stale), ID, SECRET),
            "{format:?}: a drifted mirror is repaired"
        );
        assert!(
            !holds(&format, None, ID, SECRET),
            "{format:?}: an empty target is written"
        );
    }
}

#[test]
fn a_json_mirror_that_also_holds_the_pair_in_another_naming_is_left_for_a_person() {
    // A consumer may read `aws_secret_access_key` (or a session token) instead of our naming:
    // writing our fields alone would leave it the previous key, which retire then removes.
    for other in [
        "aws_access_key_id",
        "AWS_SECRET_ACCESS_KEY",
        "accesskeyid",
        "SessionToken",
        "aws_session_token",
    ] {
        let held = format!(
            r#"{{"AccessKeyId":"{OLD_ID}","SecretAccessKey":"{OLD_SECRET}","{other}":"x"}}"#
        );
        let err = render(&MirrorFormat::Json, Some(&held), ID, SECRET).unwrap_err();
        assert!(err.contains(other), "{other}: {err}");
        assert!(!err.contains(OLD_SECRET) && !err.contains("\"x\""), "{err}");
    }
    // Its other fields stay.
    let held = format!(
        r#"{{"AccessKeyId":"{OLD_ID}","SecretAccessKey":"{OLD_SECRET}","Region":"eu-west-1"}}"#
    );
    let written = render(&MirrorFormat::Json, Some(&held), ID, SECRET).unwrap();
    assert!(written.contains(r#""Region":"eu-west-1""#), "{written}");
}

#[test]
fn a_stale_session_token_in_the_mirror_s_profile_goes() {
    // A tool would send it with the long-term key and fail: the write removes it, and a target
    // still holding it does not hold what it should (so the sweep writes it again).
    let held = format!("[ci]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\naws_session_token = stale\n");
    assert!(!holds(&credentials("ci"), Some(&held), ID, SECRET));
    let written = render(&credentials("ci"), Some(&held), ID, SECRET).unwrap();
    assert_eq!(
        written,
        format!("[ci]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n")
    );
    assert!(holds(&credentials("ci"), Some(&written), ID, SECRET));
}
