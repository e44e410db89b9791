//! The lifecycle events (§16), on the account's default EventBridge bus, source
//! `iam-key-rotator`, the secret's ARN as the resource:
//!
//! | detail-type | when | detail |
//! |---|---|---|
//! | `Access Key Rotated` | finishSecret moved AWSCURRENT | userName, accessKeyId, previousAccessKeyId, previousKeyAction |
//! | `Previous Access Key Deactivated` | the sweep deactivated it | userName, accessKeyId, reason, lastUsed* |
//! | `Previous Access Key Deleted` | the sweep deleted it | userName, accessKeyId, lastUsed* |
//! | `Previous Access Key Still In Use` | past the deadline, once a day | userName, accessKeyId, lastUsed*, deadlineDays |
//! | `Invalid Setting Tag Ignored` | createSecret, and the sweep once a day, met a bad `iam-key-rotator:` tag | tagKey, tagValue (its first 32 characters), tagValueLength |
//!
//! Each detail also has secretArn, and accountId when the user is in a member account (§17).
//! Ids, names and dates only, never a secret. Best effort and at most once: a failed PutEvents is
//! a warning and the step or sweep goes on (the key action it reports has happened, and failing
//! would only make Secrets Manager retry it); a crash between the action and the event loses the
//! event. Consumers must read AWS before acting: anyone who may put events on the bus can send
//! this source too.

use serde_json::{json, Value};
use tracing::warn;

use crate::aws::{Events, KeyLastUse, LifecycleEvent};
use crate::holder::Holder;
use crate::secret_value::format_date;

pub const ROTATED: &str = "Access Key Rotated";
pub const DEACTIVATED: &str = "Previous Access Key Deactivated";
pub const DELETED: &str = "Previous Access Key Deleted";
pub const STILL_IN_USE: &str = "Previous Access Key Still In Use";
/// A secret tag with our prefix that is not valid: ignored, the function's setting applied (§18).
pub const TAG_IGNORED: &str = "Invalid Setting Tag Ignored";

/// Who and which key an event is about.
pub struct Subject<'a> {
    pub secret_arn: &'a str,
    pub user: &'a Holder,
    pub key_id: &'a str,
}

/// The event, with `extra` fields in its detail beside the user and the key.
pub fn event(detail_type: &'static str, subject: &Subject<'_>, extra: Value) -> LifecycleEvent {
    let mut detail = json!({
        "secretArn": subject.secret_arn,
        "userName": subject.user.user,
        "accessKeyId": subject.key_id,
    });
    // The member account the user is in (§17); absent for the secret's own account.
    if let (Some(detail), Some(account)) = (detail.as_object_mut(), &subject.user.account) {
        detail.insert("accountId".into(), json!(account));
    }
    if let (Some(detail), Value::Object(extra)) = (detail.as_object_mut(), extra) {
        detail.extend(extra);
    }
    LifecycleEvent {
        detail_type,
        secret_arn: subject.secret_arn.to_owned(),
        detail,
    }
}

/// The last use of a key, as event fields.
pub fn last_use(used: &KeyLastUse) -> Value {
    json!({
        "lastUsedDate": used.at.map(format_date),
        "lastUsedService": used.service,
        "lastUsedRegion": used.region,
    })
}

/// Sends the event; a failure is logged, never returned.
pub async fn publish(events: &dyn Events, event: LifecycleEvent) {
    if let Err(error) = events.put(&event).await {
        warn!(detail_type = event.detail_type, %error, "the lifecycle event was not sent");
    }
}

/// How much of an ignored tag's value an event carries.
const TAG_VALUE_EXCERPT: usize = 32;

/// Says that a secret's bad setting tags are ignored (§18): an ERROR line for each, and with
/// `announce` an event for each (createSecret once per attempt, the sweep once a day: not every
/// hour). Tags are not secret material: anyone who may describe the secret reads them.
pub async fn report_ignored_tags(
    events: &dyn Events,
    secret_arn: &str,
    ignored: &[crate::error::Problem],
    announce: bool,
) {
    for problem in ignored {
        let crate::error::Problem::InvalidSecretTag { key, value, .. } = problem else {
            continue;
        };
        tracing::error!(tag_key = %key, "{problem}");
        if announce {
            // Anyone who may tag the secret writes these: the alarm channel gets a short excerpt.
            let excerpt: String = value.chars().take(TAG_VALUE_EXCERPT).collect();
            let detail = json!({
                "secretArn": secret_arn,
                "tagKey": key,
                "tagValue": excerpt,
                "tagValueLength": value.chars().count(),
            });
            let event = LifecycleEvent {
                detail_type: TAG_IGNORED,
                secret_arn: secret_arn.to_owned(),
                detail,
            };
            publish(events, event).await;
        }
    }
}
