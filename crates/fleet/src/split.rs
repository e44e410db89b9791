//! `enable` for the seed's split layout (§19): `<p>/aws_access_key_id` and
//! `<p>/aws_secret_access_key`, one field each, which consumers read as they are. An IAM
//! administrator names the user and the layout (`--bind USER_ARN=<ARN of
//! <p>/aws_access_key_id>`); with `--apply`, enable creates the source `<p>/aws` from the pair,
//! tags both field secrets as its mirrors, binds the user to the source and names the two mirrors
//! on the user (one TagUser: all or none), then turns rotation on. The consumers keep reading the
//! field secrets; each rotation writes them, and retire by use sees their consumers move.
//!
//! Never adopted: a `<p>/aws` this run did not create (whoever made it chose its value and may
//! read it); the binding names the ARN CreateSecret returned. Bound only on proof, as in
//! `bind.rs`: the pair authenticates as the user, the user has no other key and no binding or
//! mirror tag yet, and no other secret of the run holds the key.

use super::aws::FleetAws;
use super::aws::Schedule;
use super::bind::Bind;
use super::claims::Claims;
use super::mirrors::{id_field_prefix as prefix, same_place};
use super::outcome::{Outcome, SecretOutcome};
use super::report::SecretReport;
use super::verdict::Verdict;
use iam_key_rotator::aws::{VersionRef, AWSCURRENT};
use iam_key_rotator::binding::BINDING_TAG;
use iam_key_rotator::mirror::{FORMAT_TAG, KMS_TAG_PREFIX, MIRROR_OF_TAG, NAMED_TAG_PREFIX};
use iam_key_rotator::sensitive::Sensitive;

const ID_FIELD: &str = super::mirrors::SPLIT_FIELDS[0];
const SECRET_FIELD: &str = "aws_secret_access_key";
const SOURCE: &str = "aws";
/// The longest value an IAM tag holds: the binding and each mirror tag carry an ARN.
const TAG_VALUE_MAX: usize = 256;

/// One split layout, as planned from the scan.
pub struct Layout {
    id_field: String,
    secret_field: String,
    source_name: String,
    user: String,
    user_arn: String,
    key_id: String,
}

/// Whether `secret` is the key id field of a split layout that a `--bind` names.
pub fn named(secret: &SecretReport, binds: &[Bind]) -> bool {
    secret.verdict == Verdict::NotRotatable
        && prefix(&secret.name).is_some()
        && binds.iter().any(|b| b.secret_arn == secret.arn)
}

/// A split layout's key id field no `--bind` names: left alone, with how to enable it.
pub fn unnamed(secret: &SecretReport, binds: &[Bind]) -> Option<SecretOutcome> {
    let layout = secret.verdict == Verdict::NotRotatable && prefix(&secret.name).is_some();
    if !layout || named(secret, binds) {
        return None;
    }
    let finding = secret.findings.first()?;
    let detail = format!("{}: {}", finding.detail, finding.fix);
    Some(SecretOutcome::new(&secret.name, Outcome::Skipped, detail))
}

/// Plans (dry run) or, when `apply`, applies the layout's change for its key id field `secret`;
/// rotation goes on with `rotation` (the function's ARN and the schedule).
pub async fn enable(
    aws: &dyn FleetAws,
    secret: &SecretReport,
    (rotation, apply): ((&str, &Schedule), bool),
    claims: &Claims,
) -> SecretOutcome {
    let outcome = |outcome, detail: String| SecretOutcome::new(&secret.name, outcome, detail);
    let layout = match plan(aws, secret, claims).await {
        Ok(layout) => layout,
        Err(why) => return outcome(Outcome::Skipped, format!("split layout not enabled: {why}")),
    };
    let describe = layout.describe(rotation);
    if !apply {
        return outcome(Outcome::WouldDo, describe);
    }
    match make(aws, &layout, rotation).await {
        Ok(arn) => outcome(Outcome::Done, format!("{describe}: the source is {arn}")),
        Err(e) => outcome(Outcome::Failed, format!("{describe}: {e}")),
    }
}

impl Layout {
    fn describe(&self, (function_arn, schedule): (&str, &Schedule)) -> String {
        format!(
            "split layout: create {} from the pair in {} and {}, tag both as its mirrors, bind IAM user {} to it and name both on the user, then rotation on: {}, function {}",
            self.source_name,
            self.id_field,
            self.secret_field,
            self.user,
            schedule.expression,
            function_arn
        )
    }
}

/// What to do, from reads only; `Err`: why the layout is left alone.
async fn plan(
    aws: &dyn FleetAws,
    secret: &SecretReport,
    claims: &Claims,
) -> Result<Layout, String> {
    let prefix = prefix(&secret.name).ok_or("not a split layout's key id field")?;
    // A secret with rotation on is a source, never a mirror (§19).
    if secret.rotation.enabled {
        return Err(
            "its rotation is on: turn it off first (a rotated secret is never a mirror)".into(),
        );
    }
    let (Some(key_id), Some(user), Some(user_arn)) =
        (&secret.held_key, &secret.user, &secret.user_arn)
    else {
        return Err("its key id is not an existing key of a user of this account".into());
    };
    let field_name = format!("{prefix}/{SECRET_FIELD}");
    let field = aws.describe(&field_name).await.map_err(|e| e.to_string())?;
    let field = field
        .filter(|f| f.name == field_name && same_place(&f.arn, &secret.arn))
        .ok_or(format!("there is no {field_name} beside it"))?;
    if field.rotation_enabled
        || field
            .tags
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(MIRROR_OF_TAG))
    {
        return Err(format!(
            "{field_name} is rotated or claims a source already: a person settles it first"
        ));
    }
    let source_name = format!("{prefix}/{SOURCE}");
    if aws
        .describe(&source_name)
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Err(format!("{source_name} exists and this run did not create it: it is never adopted (whoever made it chose its value); rename or delete it, or enable it as a source of its own"));
    }
    // The source's ARN is the key id field's with `aws` for the field (and its own suffix).
    let source_arn_len = secret.arn.len() - ID_FIELD.len() + SOURCE.len();
    for (what, len) in [
        (&secret.arn, secret.arn.len()),
        (&field.arn, field.arn.len()),
        (&source_name, source_arn_len),
    ] {
        if len > TAG_VALUE_MAX {
            return Err(format!("the ARN of {what} is longer than an IAM tag value ({TAG_VALUE_MAX} characters): the user cannot name it; shorten the name"));
        }
    }
    let layout = Layout {
        id_field: secret.arn.clone(),
        secret_field: field.arn,
        source_name,
        user: user.clone(),
        user_arn: user_arn.clone(),
        key_id: key_id.clone(),
    };
    check_user(aws, &layout).await?;
    sole_holder(&layout, claims)?;
    Ok(layout)
}

/// The user may be bound here: it exists as scanned, is bound to nothing, names no mirror, and
/// its only key is the layout's (a rotation would otherwise act on keys nobody proved are its).
async fn check_user(aws: &dyn FleetAws, layout: &Layout) -> Result<(), String> {
    let user = &layout.user;
    let found = aws.user(user).await.map_err(|e| e.to_string())?;
    let found = found.filter(|u| u.arn == layout.user_arn);
    let found = found.ok_or(format!(
        "IAM user {user} is not the one scanned (gone, or made again)"
    ))?;
    let ours = [BINDING_TAG, NAMED_TAG_PREFIX, KMS_TAG_PREFIX];
    let tagged = |key: &str| ours.iter().any(|t| key.to_ascii_lowercase().starts_with(t));
    if let Some((key, value)) = found.tags.iter().find(|(key, _)| tagged(key)) {
        return Err(format!(
            "IAM user {user} already carries {key}={value}: an IAM administrator settles it first"
        ));
    }
    let keys = aws.user_keys(user).await.map_err(|e| e.to_string())?;
    let ids: Vec<String> = keys.unwrap_or_default().into_iter().map(|k| k.id).collect();
    if ids != [layout.key_id.clone()] {
        return Err(format!(
            "IAM user {user} has key(s) {} where only {} should be: settle the others first",
            ids.join(", "),
            layout.key_id
        ));
    }
    Ok(())
}

/// Every secret of the run was read, and none but the key id field holds the key.
fn sole_holder(layout: &Layout, claims: &Claims) -> Result<(), String> {
    if !claims.unread.is_empty() {
        return Err(format!(
            "not every secret of the run could be read to rule out another holder of the key: {}",
            claims.unread.join("; ")
        ));
    }
    let others: Vec<String> = claims
        .holders
        .of(std::slice::from_ref(&layout.key_id))
        .into_iter()
        .filter(|arn| *arn != layout.id_field && *arn != layout.secret_field)
        .collect();
    match others.as_slice() {
        [] => Ok(()),
        others => Err(format!(
            "the key is also held by {}: keep it in one place first",
            others.join(", ")
        )),
    }
}

/// The pair proven and the user checked again, then the changes in order; the ARN of the source.
async fn make(
    aws: &dyn FleetAws,
    layout: &Layout,
    rotation: (&str, &Schedule),
) -> Result<String, String> {
    let value = proven_value(aws, layout).await?;
    check_user(aws, layout).await?;
    let arn = match aws.create_secret(&layout.source_name, &value).await {
        Ok(arn) => arn,
        Err(e) if e.code.as_deref() == Some("ResourceExistsException") => {
            return Err(format!("{} was created by someone else since the scan: it is never adopted; nothing changed", layout.source_name));
        }
        Err(e) => return Err(format!("nothing changed: {e}")),
    };
    let made = |step: &str, e: String| {
        format!("{} was created ({arn}), then {step} failed: {e}. Finish by hand (docs/contract.md §19), or delete {arn} and run enable again", layout.source_name)
    };
    if arn.len() > TAG_VALUE_MAX || !same_place(&arn, &layout.id_field) {
        return Err(made(
            "the check of its ARN",
            "it cannot be named in a tag".into(),
        ));
    }
    for (field, format) in [
        (&layout.id_field, "access-key-id"),
        (&layout.secret_field, "secret-access-key"),
    ] {
        for (key, value) in [(MIRROR_OF_TAG, arn.as_str()), (FORMAT_TAG, format)] {
            let tagged = aws.tag_secret(field, key, value).await;
            tagged.map_err(|e| made(&format!("tagging {field}"), e.to_string()))?;
        }
    }
    let tags = [
        (BINDING_TAG.to_owned(), arn.clone()),
        (format!("{NAMED_TAG_PREFIX}1"), layout.id_field.clone()),
        (format!("{NAMED_TAG_PREFIX}2"), layout.secret_field.clone()),
    ];
    let bound = aws.tag_user(&layout.user, &tags).await;
    bound.map_err(|e| made("binding the user (TagUser)", e.to_string()))?;
    let configure = Some(rotation);
    let on = aws.rotate(&arn, configure, false).await;
    on.map_err(|e| made("turning rotation on (the user IS bound)", e.to_string()))?;
    Ok(arn)
}

/// The source's value, once the two fields still hold the scanned key and the pair authenticates
/// as the user: a key id beside someone else's secret gives nobody a key.
async fn proven_value(aws: &dyn FleetAws, layout: &Layout) -> Result<Sensitive, String> {
    let current = VersionRef::Stage(AWSCURRENT);
    let id = aws
        .value(&layout.id_field, current)
        .await
        .map_err(|e| e.to_string())?;
    let id = id.map(|v| v.expose().trim().to_owned());
    if id.as_deref() != Some(layout.key_id.as_str()) {
        return Err(
            "the key id field changed since the scan: nothing changed; run it again".into(),
        );
    }
    let secret = aws.value(&layout.secret_field, current).await;
    let secret = secret.map_err(|e| e.to_string())?;
    let secret = secret.map(|v| Sensitive::new(v.expose().trim().to_owned()));
    let secret = secret
        .filter(|s| !s.expose().is_empty())
        .ok_or("the secret field holds no value: nothing changed")?;
    let identity = aws.identity_of(&layout.key_id, &secret).await;
    let identity =
        identity.map_err(|e| format!("the pair does not authenticate ({e}): nothing changed"))?;
    if identity.arn != layout.user_arn {
        return Err(format!(
            "the pair authenticates as {}, not as IAM user {}: nothing changed",
            identity.arn, layout.user
        ));
    }
    let json = serde_json::json!({
        "UserName": layout.user,
        "AccessKeyId": layout.key_id,
        "SecretAccessKey": secret.expose(),
    });
    Ok(Sensitive::new(json.to_string()))
}
