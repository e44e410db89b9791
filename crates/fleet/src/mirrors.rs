//! The fleet's view of mirrors (contract §19): a secret that claims a source, and the seed's split
//! layout (one field per secret, `<p>/aws_access_key_id` and `<p>/aws_secret_access_key`), which
//! becomes a source `<p>/aws` with the two field secrets as its mirrors.

use iam_key_rotator::mirror::{FORMAT_TAG, MIRROR_OF_TAG, NAMED_TAG_PREFIX};

/// The two field secrets of the split layout, by the last segment of their name.
pub const SPLIT_FIELDS: [&str; 2] = ["aws_access_key_id", "aws_secret_access_key"];

/// The source secret a secret's tags say it mirrors (its `iam-key-rotator:mirror-of`).
pub fn claimed_source(tags: &[(String, String)]) -> Option<String> {
    tags.iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(MIRROR_OF_TAG))
        .map(|(_, value)| value.clone())
}

/// `<p>` of a split-layout field secret `<p>/aws_access_key_id` or `<p>/aws_secret_access_key`.
pub fn split_field(name: &str) -> Option<&str> {
    let (prefix, field) = name.rsplit_once('/')?;
    // Exactly so named, as `enable` (split.rs) looks for them.
    let split = SPLIT_FIELDS.contains(&field);
    (split && !prefix.is_empty()).then_some(prefix)
}

/// `<p>` of a split layout's key id field `<p>/aws_access_key_id` (exactly so named).
pub fn id_field_prefix(name: &str) -> Option<&str> {
    name.strip_suffix(SPLIT_FIELDS[0])?
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
}

/// Both secret ARNs up to the name: the same partition, account and Region.
pub fn same_place(a: &str, b: &str) -> bool {
    let place = |arn: &str| arn.split_once(":secret:").map(|(p, _)| p.to_owned());
    place(a).is_some() && place(a) == place(b)
}

/// What to do with a split layout under `prefix`, so that its consumers keep reading the field
/// secrets they read today: `enable` does it on an administrator's word (`split.rs`).
pub fn split_layout_fix(prefix: &str) -> String {
    format!(
        "this is the split layout (one field per secret). If it is the one that should rotate the key's user (check who else holds the key, and who may write {prefix}/*: they can have the user rotated), an IAM administrator brings it under rotation with `iam-key-fleet enable --bind USER_ARN=<ARN of {prefix}/aws_access_key_id> --function-arn FUNCTION_ARN --apply`, which creates the source {prefix}/aws from the pair, tags {prefix}/aws_access_key_id and {prefix}/aws_secret_access_key {MIRROR_OF_TAG}=<its ARN> and {FORMAT_TAG}=access-key-id / secret-access-key, binds the user to the source and names both ({NAMED_TAG_PREFIX}1, 2), and turns rotation on: the consumers keep reading these secrets (docs/contract.md §19)"
    )
}
