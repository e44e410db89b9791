//! The world as the function reads it from AWS, in the crates' own types: the decisions the model
//! makes are the crates' functions called on these, never a copy of their rules.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iam_key_rotator::aws::{
    AccessKeyInfo, KeyLastUse, KeyStatus, SecretMetadata, AWSCURRENT, AWSPENDING, AWSPREVIOUS,
};
use iam_key_rotator::binding::BINDING_TAG;
use iam_key_rotator::overrides::{ACTION_TAG, IDLE_TAG, INACTIVE_SINCE_TAG};
use iam_key_rotator::retire::decide::{self, Tag};
use iam_key_rotator::secret_value::SecretValue;
use iam_key_rotator::sensitive::Sensitive;

use crate::world::{
    Bookkeeping, Owner, Setting, State, TagDate, Value, CURRENT, PENDING, PREVIOUS,
};

/// The model's start, as the in-memory fake counts: a replay's dates are the model's.
pub const START: u64 = 1_790_000_000;
pub const SECRET_NAME: &str = "app1/production/deployer";
pub const SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:app1/production/deployer-AbCdEf";
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:iam-key-rotator";

pub fn time(t: u32) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(START + u64::from(t))
}

/// An access key id of the model's key `id`: the shape AWS gives them.
pub fn key_id(id: u8) -> String {
    format!("AKIAMODEL{id:011}")
}

pub fn key_of_id(text: &str) -> Option<u8> {
    text.strip_prefix("AKIAMODEL")?.parse().ok()
}

pub fn version_id(id: u8) -> String {
    format!("00000000-0000-4000-8000-{id:012}")
}

pub fn version_of_id(text: &str) -> Option<u8> {
    text.strip_prefix("00000000-0000-4000-8000-")?.parse().ok()
}

/// A key's secret access key, in the model only: never logged, never compared with the fake's.
fn secret_of(id: u8) -> String {
    format!("modelSecret/{id:04}+wJalrXUtnFEMI")
}

/// The SecretString a version holds, `None` for the placeholder.
pub fn json(value: Value) -> Option<String> {
    json_with(value, key_id, secret_of)
}

/// The SecretString of `value`, a key's id and secret as `id` and `secret` give them (the model's
/// own, or the fake's in a replay).
pub fn json_with(
    value: Value,
    id: impl Fn(u8) -> String,
    secret: impl Fn(u8) -> String,
) -> Option<String> {
    let pair = |owner: Owner, id: String, secret: String| {
        serde_json::json!({"UserName": owner.name(), "AccessKeyId": id, "SecretAccessKey": secret})
            .to_string()
    };
    match value {
        Value::Empty => None,
        Value::Bootstrap(owner) => Some(serde_json::json!({"UserName": owner.name()}).to_string()),
        Value::Pair(owner, key) => Some(pair(owner, id(key), secret(key))),
        Value::Swapped(owner, key) => Some(pair(owner, secret(key), id(key))),
        Value::Garbage => Some("not json, {".into()),
    }
}

/// The staging labels and the model's bit for each.
const LABELS: [(u8, &str); 3] = [
    (CURRENT, AWSCURRENT),
    (PENDING, AWSPENDING),
    (PREVIOUS, AWSPREVIOUS),
];

/// The staging labels of a version's label bits.
pub fn stages(bits: u8) -> Vec<String> {
    let named = LABELS.iter().filter(|(bit, _)| bits & bit != 0);
    named.map(|(_, name)| (*name).to_owned()).collect()
}

/// The label bits of a version's staging labels (others ignored).
pub fn label_bits(stages: &[String]) -> u8 {
    let named = LABELS
        .iter()
        .filter(|(_, name)| stages.iter().any(|s| s == name));
    named.fold(0, |bits, (bit, _)| bits | bit)
}

/// A version's value as the function parses it: `None` without a value, `Err` when unusable.
pub fn parsed(value: Value) -> Option<Result<SecretValue, String>> {
    json(value).map(|raw| SecretValue::parse(&Sensitive::new(raw)))
}

/// DescribeSecret.
pub fn metadata(s: &State) -> SecretMetadata {
    let versions: BTreeMap<String, Vec<String>> = s
        .versions
        .iter()
        .map(|v| (version_id(v.id), stages(v.labels)))
        .collect();
    SecretMetadata {
        arn: SECRET_ARN.into(),
        name: SECRET_NAME.into(),
        rotation_enabled: true,
        rotation_lambda_arn: Some(FUNCTION_ARN.into()),
        last_rotated: s.last_rotated.map(time),
        versions,
        tags: secret_tags(s),
    }
}

/// The secret's tags, as TagResource wrote them.
pub fn secret_tags(s: &State) -> Vec<(String, String)> {
    let mut tags = Vec::new();
    if let Some(setting) = s.tags.setting {
        tags.push(setting_tag(setting));
    }
    if let Some(b) = s.tags.bookkeeping {
        tags.push((INACTIVE_SINCE_TAG.to_owned(), bookkeeping_value(b)));
    }
    tags
}

pub fn setting_tag(setting: Setting) -> (String, String) {
    let (key, value) = match setting {
        Setting::Unknown => ("iam-key-rotator:previous-key-actoin", "keep"),
        Setting::Harsher => (ACTION_TAG, "delete"),
        Setting::LongerIdle => (IDLE_TAG, "30"),
    };
    (key.to_owned(), value.to_owned())
}

pub fn bookkeeping_value(b: Bookkeeping) -> String {
    let at = match b.date {
        TagDate::At(t) => time(t),
        TagDate::FarPast => UNIX_EPOCH + Duration::from_secs(978_307_200),
        TagDate::FarFuture => UNIX_EPOCH + Duration::from_secs(253_370_764_800),
    };
    let tag = if b.reactivated {
        Tag::ReactivatedAt(at)
    } else {
        Tag::InactiveSince(at)
    };
    decide::tag_value(&key_id(b.key), tag)
}

/// The bound user's tags (GetUser): the binding, when it is there.
pub fn user_tags(s: &State, owner: Owner) -> Vec<(String, String)> {
    match owner {
        Owner::Bound if s.bound => vec![(BINDING_TAG.to_owned(), SECRET_ARN.to_owned())],
        _ => Vec::new(),
    }
}

/// ListAccessKeys.
pub fn access_keys(s: &State, owner: Owner) -> Vec<AccessKeyInfo> {
    s.keys_of(owner)
        .map(|k| AccessKeyInfo {
            id: key_id(k.id),
            status: if k.active {
                KeyStatus::Active
            } else {
                KeyStatus::Inactive
            },
            created: time(k.created),
        })
        .collect()
}

/// GetAccessKeyLastUsed: IAM's record, late.
pub fn last_use(s: &State, key: u8) -> Option<KeyLastUse> {
    let k = s.key(key)?;
    let at = k.reported.map(time);
    Some(KeyLastUse {
        user: Some(k.owner.name().to_owned()),
        at,
        service: at.map(|_| "sts".to_owned()),
        region: at.map(|_| "us-east-1".to_owned()),
    })
}

/// ListSecretVersionIds: each version's CreatedDate.
pub fn created(s: &State) -> BTreeMap<String, SystemTime> {
    s.versions
        .iter()
        .map(|v| (version_id(v.id), time(v.created)))
        .collect()
}
