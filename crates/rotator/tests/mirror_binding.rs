//! Which places a rotated secret's key may be written to (issue 23): only a target the bound
//! user names (an IAM administrator's tag) and that claims the source itself, in this account and
//! Region, in a format it states. Each refusal is an attack or a mistake reproduced.

use std::collections::BTreeMap;

use iam_key_rotator::key_text::TextFormat;
use iam_key_rotator::mirror::{
    agreed, format_of, named_by, MirrorFormat, Named, TargetFacts, TargetKind,
};

const SOURCE: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/prod/aws-AbCdEf";
const SPLIT_ID: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/prod/aws_access_key_id-Gh1jK2";
const PARAMETER: &str = "arn:aws:ssm:us-east-1:123456789012:parameter/app/prod/credentials";
const KMS: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn claiming(format: &str) -> TargetFacts {
    TargetFacts {
        exists: true,
        tags: tags(&[
            ("iam-key-rotator:mirror-of", SOURCE),
            ("iam-key-rotator:mirror-format", format),
        ]),
        ..TargetFacts::default()
    }
}

#[test]
fn a_user_names_secrets_and_parameters_of_the_source_s_account_and_region() {
    let user = tags(&[
        ("iam-key-rotator:secret", SOURCE),
        ("iam-key-rotator:mirror:2", PARAMETER),
        ("iam-key-rotator:mirror-kms:2", KMS),
        ("iam-key-rotator:mirror:1", SPLIT_ID),
        ("team", "ci"),
    ]);
    let (named, refused) = named_by(&user, SOURCE);
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(named.len(), 2);
    assert_eq!(
        (named[0].n, named[0].kind, named[0].arn.as_str()),
        (1, TargetKind::Secret, SPLIT_ID)
    );
    assert_eq!(
        (named[1].n, named[1].kind, named[1].name.as_str()),
        (2, TargetKind::Parameter, "/app/prod/credentials")
    );
    assert_eq!(named[1].kms_key.as_deref(), Some(KMS));
    let flat = tags(&[
        (
            "iam-key-rotator:mirror:1",
            "arn:aws:ssm:us-east-1:123456789012:parameter/flat",
        ),
        ("iam-key-rotator:mirror-kms:1", KMS),
    ]);
    assert_eq!(
        named_by(&flat, SOURCE).0[0].name,
        "flat",
        "a name outside a hierarchy has no leading /"
    );
}

#[test]
fn a_named_target_elsewhere_or_badly_named_is_refused() {
    let cases = [
        (
            "iam-key-rotator:mirror:1",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbCdEf",
            "account and Region",
        ),
        (
            "iam-key-rotator:mirror:1",
            "arn:aws:secretsmanager:us-east-1:999999999999:secret:x-AbCdEf",
            "account and Region",
        ),
        (
            "iam-key-rotator:mirror:1",
            "arn:aws-cn:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf",
            "account and Region",
        ),
        (
            "iam-key-rotator:mirror:1",
            SOURCE,
            "the source secret itself",
        ),
        // A name without the suffix could be taken by a secret made later under that name.
        (
            "iam-key-rotator:mirror:1",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/prod/aws_access_key_id",
            "not a secret's full ARN",
        ),
        (
            "iam-key-rotator:mirror:1",
            "arn:aws:s3:us-east-1:123456789012:bucket/x",
            "neither",
        ),
        (
            "iam-key-rotator:mirror:1",
            "not an arn",
            "account and Region",
        ),
        ("iam-key-rotator:mirror:1", PARAMETER, "names no KMS key"),
        (
            "iam-key-rotator:mirror:11",
            SPLIT_ID,
            "not iam-key-rotator:mirror:<1 to 10>",
        ),
        (
            "iam-key-rotator:mirror:01",
            SPLIT_ID,
            "not iam-key-rotator:mirror:<1 to 10>",
        ),
        (
            "iam-key-rotator:mirror:0",
            SPLIT_ID,
            "not iam-key-rotator:mirror:<1 to 10>",
        ),
    ];
    for (key, arn, reason) in cases {
        let (named, refused) = named_by(&tags(&[(key, arn)]), SOURCE);
        assert!(named.is_empty(), "{key}={arn} was taken");
        assert_eq!(refused.len(), 1);
        assert!(
            refused[0].reason.contains(reason),
            "{key}={arn}: {}",
            refused[0].reason
        );
        assert_eq!(refused[0].target, arn);
    }
    let twice = tags(&[
        ("iam-key-rotator:mirror:1", SPLIT_ID),
        ("iam-key-rotator:mirror:3", SPLIT_ID),
    ]);
    let (named, refused) = named_by(&twice, SOURCE);
    assert_eq!(
        (named.len(), refused.len()),
        (1, 1),
        "one target, written once"
    );
}

fn secret_target() -> Named {
    named_by(&tags(&[("iam-key-rotator:mirror:1", SPLIT_ID)]), SOURCE)
        .0
        .remove(0)
}

fn parameter_target() -> Named {
    named_by(
        &tags(&[
            ("iam-key-rotator:mirror:1", PARAMETER),
            ("iam-key-rotator:mirror-kms:1", KMS),
        ]),
        SOURCE,
    )
    .0
    .remove(0)
}

#[test]
fn a_target_is_written_only_when_it_claims_this_source() {
    assert_eq!(
        agreed(&secret_target(), SOURCE, &claiming("access-key-id")),
        Ok(MirrorFormat::AccessKeyId)
    );
    let refusals = [
        (
            TargetFacts {
                exists: false,
                ..claiming("json")
            },
            "does not exist",
        ),
        (
            TargetFacts {
                tags: tags(&[("iam-key-rotator:mirror-format", "json")]),
                ..claiming("json")
            },
            "has no tag iam-key-rotator:mirror-of",
        ),
        (
            TargetFacts {
                tags: tags(&[
                    ("iam-key-rotator:mirror-of", SPLIT_ID),
                    ("iam-key-rotator:mirror-format", "json"),
                ]),
                ..claiming("json")
            },
            "names another source",
        ),
        (claiming("yaml"), "is not one of"),
        (
            TargetFacts {
                tags: tags(&[("iam-key-rotator:mirror-of", SOURCE)]),
                ..claiming("json")
            },
            "is not one of",
        ),
        (
            TargetFacts {
                rotation_enabled: true,
                ..claiming("json")
            },
            "rotation on",
        ),
    ];
    for (facts, reason) in refusals {
        let refused = agreed(&secret_target(), SOURCE, &facts).unwrap_err();
        assert!(refused.reason.contains(reason), "{}", refused.reason);
    }
}

#[test]
fn a_parameter_must_be_a_secure_string_under_the_key_the_user_names() {
    let good = TargetFacts {
        parameter_type: Some("SecureString".into()),
        parameter_kms_key: Some(KMS.into()),
        ..claiming("dotenv")
    };
    assert_eq!(
        agreed(&parameter_target(), SOURCE, &good),
        Ok(MirrorFormat::Text(TextFormat::Dotenv))
    );
    let plain = TargetFacts {
        parameter_type: Some("String".into()),
        ..good.clone()
    };
    assert!(agreed(&parameter_target(), SOURCE, &plain)
        .unwrap_err()
        .reason
        .contains("String parameter"));
    let other_key = TargetFacts {
        parameter_kms_key: Some("alias/aws/ssm".into()),
        ..good.clone()
    };
    assert!(agreed(&parameter_target(), SOURCE, &other_key)
        .unwrap_err()
        .reason
        .contains("another KMS key"));
    let no_key = TargetFacts {
        parameter_kms_key: None,
        ..good
    };
    assert!(agreed(&parameter_target(), SOURCE, &no_key).is_err());
}

#[test]
fn the_formats_a_target_may_ask_for() {
    let of = |pairs: &[(&str, &str)]| format_of(&tags(pairs));
    assert_eq!(
        of(&[("iam-key-rotator:mirror-format", "secret-access-key")]),
        Ok(MirrorFormat::SecretAccessKey)
    );
    assert_eq!(
        of(&[("iam-key-rotator:mirror-format", "json")]),
        Ok(MirrorFormat::Json)
    );
    assert_eq!(
        of(&[("iam-key-rotator:mirror-format", "credentials-file")]),
        Ok(MirrorFormat::Text(TextFormat::CredentialsFile {
            profile: "default".into()
        }))
    );
    assert_eq!(
        of(&[
            ("iam-key-rotator:mirror-format", "credentials-file"),
            ("iam-key-rotator:mirror-profile", "ci")
        ]),
        Ok(MirrorFormat::Text(TextFormat::CredentialsFile {
            profile: "ci".into()
        }))
    );
    for profile in ["", "a]\n[b", "two words"] {
        let format = of(&[
            ("iam-key-rotator:mirror-format", "credentials-file"),
            ("iam-key-rotator:mirror-profile", profile),
        ]);
        assert!(format.is_err(), "profile {profile:?} taken");
    }
    assert!(
        of(&[("iam-key-rotator:mirror-format", "JSON")]).is_err(),
        "formats are lower case, as documented"
    );
}

#[test]
fn the_user_s_tag_keys_count_in_any_case_as_iam_keeps_them() {
    // IAM keeps one tag per key whatever its case: a mirror named as `IAM-Key-Rotator:Mirror:1`
    // is named, and must not go unseen (its consumers would lose the previous key).
    let user = tags(&[
        ("IAM-Key-Rotator:Mirror:1", SPLIT_ID),
        ("iam-key-rotator:MIRROR:2", PARAMETER),
        ("Iam-Key-Rotator:Mirror-Kms:2", KMS),
    ]);
    let (named, refused) = named_by(&user, SOURCE);
    assert!(refused.is_empty(), "{refused:?}");
    let arns: Vec<&str> = named.iter().map(|t| t.arn.as_str()).collect();
    assert_eq!(arns, [SPLIT_ID, PARAMETER]);
    assert_eq!(named[1].kms_key.as_deref(), Some(KMS));
    assert!(iam_key_rotator::mirror::names_any(&user));
    assert!(!iam_key_rotator::mirror::names_any(&tags(&[(
        "team", "ci"
    )])));
}

#[test]
fn a_parameter_s_key_is_named_by_its_arn_in_the_source_s_account_and_region() {
    // An alias can be pointed at another key by whoever may update it: only a key ARN names one
    // key for good.
    for kms in [
        "alias/mirror",
        "arn:aws:kms:us-east-1:123456789012:alias/mirror",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ] {
        let user = tags(&[
            ("iam-key-rotator:mirror:1", PARAMETER),
            ("iam-key-rotator:mirror-kms:1", kms),
        ]);
        let (named, refused) = named_by(&user, SOURCE);
        assert!(named.is_empty(), "{kms}");
        assert!(
            refused[0].reason.contains("key ARN"),
            "{kms}: {}",
            refused[0].reason
        );
    }
}
