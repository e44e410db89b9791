//! Mirrors as an operator sets them up (issue 23, §19): the targets with their tags, and the
//! user's tags that name them.

use iam_key_rotator::aws::AWSCURRENT;
use iam_key_rotator::mirror::{
    FORMAT_TAG, KMS_TAG_PREFIX, MIRROR_OF_TAG, NAMED_TAG_PREFIX, PROFILE_TAG,
};

use super::fake::FakeAws;
use super::{parsed, SECRET, USER};

/// The KMS key an administrator names for the parameter mirrors.
pub const KMS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-mirror";

/// A secret that claims SECRET as its source, in `format` (and `profile`); returns its ARN.
pub fn secret_claiming(fake: &FakeAws, name: &str, format: &str, value: &str) -> String {
    fake.create_secret(name, value, false);
    let source = fake.secret(SECRET).arn;
    fake.tag_secret_by_hand(name, MIRROR_OF_TAG, Some(&source));
    fake.tag_secret_by_hand(name, FORMAT_TAG, Some(format));
    fake.secret(name).arn
}

/// A SecureString under KMS_KEY that claims SECRET as its source; returns its ARN.
pub fn parameter_claiming(fake: &FakeAws, name: &str, format: &str, value: &str) -> String {
    let arn = fake.put_parameter_by_hand(name, "SecureString", Some(KMS_KEY), value);
    let source = fake.secret(SECRET).arn;
    fake.tag_parameter_by_hand(name, MIRROR_OF_TAG, Some(&source));
    fake.tag_parameter_by_hand(name, FORMAT_TAG, Some(format));
    arn
}

pub fn with_profile(fake: &FakeAws, parameter: &str, profile: &str) {
    fake.tag_parameter_by_hand(parameter, PROFILE_TAG, Some(profile));
}

/// The IAM administrator's side: USER's tag `mirror:<n>` = `arn` (and the KMS key of a
/// parameter).
pub fn name_mirror(fake: &FakeAws, n: u8, arn: &str) {
    fake.tag_user(USER, &format!("{NAMED_TAG_PREFIX}{n}"), arn);
    if arn.contains(":ssm:") {
        fake.tag_user(USER, &format!("{KMS_TAG_PREFIX}{n}"), KMS_KEY);
    }
}

/// What a secret mirror holds now.
pub fn secret_mirror_value(fake: &FakeAws, name: &str) -> String {
    let version = fake
        .version_with(name, AWSCURRENT)
        .expect("a current version");
    version.value.expect("a value")
}

/// The key id a JSON value holds.
pub fn key_of(json: &str) -> String {
    parsed(json).access_key_id().expect("a key").to_owned()
}
