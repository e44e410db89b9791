//! The split layout's plan (`split.rs`), from reads only: the layout, or why it is left alone.

use super::aws::{FleetAws, SecretFacts};
use super::claims::{Claims, NotSole};
use super::mirrors::{claimed_source, id_field_prefix, same_place, SPLIT_FIELDS};
use super::report::SecretReport;
use iam_key_rotator::binding::{is_ours, MAX_TAG_VALUE_LEN};

const SOURCE: &str = "aws";

/// One split layout, as planned.
pub struct Layout {
    pub id_field: String,
    pub secret_field: String,
    pub source_name: String,
    pub user: String,
    pub user_arn: String,
    pub key_id: String,
    /// The fields' customer managed KMS key: the source's too.
    pub kms_key_id: Option<String>,
    /// The secret field's tags (but ours): the source's too, for policies that grant by tag.
    pub tags: Vec<(String, String)>,
}

impl Layout {
    /// What guards the source, for the plan's description.
    pub fn guard(&self) -> String {
        match &self.kms_key_id {
            Some(key) => format!(" (under their KMS key {key}, with the secret field's tags)"),
            None => " (under the default key, with the secret field's tags)".into(),
        }
    }
}

/// What to do; `Err`: why the layout is left alone.
pub async fn plan(
    aws: &dyn FleetAws,
    secret: &SecretReport,
    claims: &Claims,
) -> Result<Layout, String> {
    let prefix = id_field_prefix(&secret.name).ok_or("not a split layout's key id field")?;
    let (Some(key_id), Some(user), Some(user_arn)) =
        (&secret.held_key, &secret.user, &secret.user_arn)
    else {
        return Err("its key id is not an existing key of a user of this account".into());
    };
    let id_field = vetted(aws, &secret.arn, &secret.name, &secret.arn).await?;
    let field_name = format!("{prefix}/{}", SPLIT_FIELDS[1]);
    let field = vetted(aws, &field_name, &field_name, &secret.arn).await?;
    if id_field.kms_key_id != field.kms_key_id {
        return Err(
            "the two fields are under different KMS keys: a person chooses the source's".into(),
        );
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
    // The binding and each mirror tag carry an ARN. The source's (`<p>/aws` and a suffix as long
    // as theirs) is shorter than the fields': `make` checks the one CreateSecret returns.
    let fields = [&secret.arn, &field.arn];
    if let Some(what) = fields.into_iter().find(|arn| arn.len() > MAX_TAG_VALUE_LEN) {
        return Err(format!("the ARN of {what} is longer than an IAM tag value ({MAX_TAG_VALUE_LEN} characters): the user cannot name it; shorten the name"));
    }
    // AWS's own tags are not ours to write.
    let ours = |key: &str| is_ours(key) || key.starts_with("aws:");
    let layout = Layout {
        id_field: secret.arn.clone(),
        secret_field: field.arn,
        source_name,
        user: user.clone(),
        user_arn: user_arn.clone(),
        key_id: key_id.clone(),
        kms_key_id: field.kms_key_id,
        tags: field.tags.into_iter().filter(|(k, _)| !ours(k)).collect(),
    };
    check_user(aws, &layout).await?;
    sole_holder(&layout, claims)?;
    Ok(layout)
}

/// The field secret named `id` (`name` exactly, beside `beside`), if it may become a mirror: not
/// rotated, claiming nothing, no replica, not being deleted, managed by no service, and under no
/// resource policy (the source could not be guarded as it is: a person makes that one).
async fn vetted(
    aws: &dyn FleetAws,
    id: &str,
    name: &str,
    beside: &str,
) -> Result<SecretFacts, String> {
    let found = aws.describe(id).await.map_err(|e| e.to_string())?;
    let field = found.filter(|f| f.name == name && same_place(&f.arn, beside));
    let field = field.ok_or(format!("there is no {name} beside it"))?;
    let claims = claimed_source(&field.tags).is_some();
    let why = match () {
        _ if field.rotation_enabled => "its rotation is on (a rotated secret is never a mirror): turn it off first",
        _ if claims => "it claims a source already: a person settles it first",
        _ if field.primary_region.is_some() => "it is a replica: enable the layout in its primary Region",
        _ if field.deleted => "it is scheduled for deletion",
        _ if field.owning_service.is_some() => "another service manages it",
        _ if field.has_policy => "a resource policy guards it, which the source would not have: create the source under the same policy by hand (docs/contract.md §19)",
        _ => return Ok(field),
    };
    Err(format!("{name}: {why}"))
}

/// The user may be bound here: it exists as scanned, carries none of our tags (bound to nothing,
/// naming no mirror), and its only key is the layout's (a rotation would otherwise act on keys
/// nobody proved are its).
pub async fn check_user(aws: &dyn FleetAws, layout: &Layout) -> Result<(), String> {
    let user = &layout.user;
    let found = aws.user(user).await.map_err(|e| e.to_string())?;
    let found = found.filter(|u| u.arn == layout.user_arn);
    let found = found.ok_or(format!(
        "IAM user {user} is not the one scanned (gone, or made again)"
    ))?;
    if let Some((key, value)) = found.tags.iter().find(|(key, _)| is_ours(key)) {
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

/// Every secret of the run was read, the check found the key in the key id field itself, and no
/// secret but the two fields holds it.
fn sole_holder(layout: &Layout, claims: &Claims) -> Result<(), String> {
    let key_ids = std::slice::from_ref(&layout.key_id);
    let field = |arn: &str| arn == layout.secret_field;
    match claims.sole_holder(key_ids, &layout.id_field, field) {
        Ok(()) => Ok(()),
        Err(NotSole::Unread) => Err(format!(
            "not every secret of the run could be read to rule out another holder of the key: {}",
            claims.unread.join("; ")
        )),
        Err(NotSole::Missed) => Err("the claim check did not find the key in the key id field itself: it did not read this account and Region, so it rules nothing out. Run it again".into()),
        Err(NotSole::Others(others)) => Err(format!(
            "the key is also held by {}: keep it in one place first",
            others.join(", ")
        )),
    }
}
