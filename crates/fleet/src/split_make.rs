//! The split layout's changes (`split.rs`), in an order where a failure part way hands no key
//! anywhere new: the source, the fields' claims, then the user's binding naming them (one
//! TagUser), then rotation on. A failure after CreateSecret says what was made and how to undo it.

use super::aws::{FleetAws, Schedule};
use super::mirrors::same_place;
use super::split_plan::{check_user, Layout};
use iam_key_rotator::aws::{VersionRef, AWSCURRENT};
use iam_key_rotator::binding::{BINDING_TAG, MAX_TAG_VALUE_LEN};
use iam_key_rotator::mirror::{FORMAT_TAG, MIRROR_OF_TAG, NAMED_TAG_PREFIX};
use iam_key_rotator::sensitive::Sensitive;

/// The pair proven and the user checked again, then the changes in order; the source's ARN.
pub async fn make(
    aws: &dyn FleetAws,
    layout: &Layout,
    rotation: (&str, &Schedule),
) -> Result<String, String> {
    let value = proven_value(aws, layout).await?;
    check_user(aws, layout).await?;
    let kms = layout.kms_key_id.as_deref();
    let name = &layout.source_name;
    let arn = match aws.create_secret(name, &value, kms, &layout.tags).await {
        Ok(arn) => arn,
        Err(e) if e.code.as_deref() == Some("ResourceExistsException") => {
            return Err(format!("{name} exists since the scan (made by someone else, or by this call if an answer was lost): it is never adopted; check who made it, delete it if unsure, and run enable again"));
        }
        Err(e) if e.is_transient() => {
            return Err(format!("CreateSecret gave no answer ({e}): {name} may exist; check it before running enable again"));
        }
        Err(e) => return Err(format!("nothing changed: {e}")),
    };
    let undo = Undo { layout, arn: &arn };
    if arn.len() > MAX_TAG_VALUE_LEN || !same_place(&arn, &layout.id_field) {
        return Err(undo.after(
            "the check of its ARN",
            "it cannot be named in a tag".into(),
            0,
        ));
    }
    let fields = [
        (&layout.id_field, "access-key-id"),
        (&layout.secret_field, "secret-access-key"),
    ];
    for (done, (field, format)) in fields.into_iter().enumerate() {
        for (key, value) in [(MIRROR_OF_TAG, arn.as_str()), (FORMAT_TAG, format)] {
            let tagged = aws.tag_secret(field, key, value).await;
            tagged.map_err(|e| undo.after(&format!("tagging {field}"), e.to_string(), done + 1))?;
        }
    }
    // Read again just before: TagUser would overwrite a binding made since.
    check_user(aws, layout)
        .await
        .map_err(|e| undo.after("the user's check", e, 2))?;
    let tags = [
        (BINDING_TAG.to_owned(), arn.clone()),
        (format!("{NAMED_TAG_PREFIX}1"), layout.id_field.clone()),
        (format!("{NAMED_TAG_PREFIX}2"), layout.secret_field.clone()),
    ];
    let bound = aws.tag_user(&layout.user, &tags).await;
    bound.map_err(|e| undo.after("binding the user (TagUser)", e.to_string(), 2))?;
    let on = aws.rotate(&arn, Some(rotation), false).await;
    on.map_err(|e| format!("{name} ({arn}) is made, its fields are its mirrors and the user is bound, but turning rotation on failed: {e}. Run `iam-key-fleet enable --name-prefix {name} --function-arn ... --apply` for it"))?;
    Ok(arn)
}

/// What a failure after CreateSecret left, and the commands that undo it.
struct Undo<'a> {
    layout: &'a Layout,
    arn: &'a str,
}

impl Undo<'_> {
    /// `step` failed with `e` once `tagged` fields (0 to 2) may carry the claim.
    fn after(&self, step: &str, e: String, tagged: usize) -> String {
        let (layout, arn) = (self.layout, self.arn);
        let mut undo = vec![format!(
            "aws secretsmanager delete-secret --secret-id {arn} --force-delete-without-recovery"
        )];
        for field in [&layout.id_field, &layout.secret_field]
            .into_iter()
            .take(tagged)
        {
            undo.push(format!("aws secretsmanager untag-resource --secret-id {field} --tag-keys {MIRROR_OF_TAG} {FORMAT_TAG}"));
        }
        format!("{} was made ({arn}) but {step} failed: {e}. No key goes anywhere new until the user is bound. To start over: {}; then run enable again", layout.source_name, undo.join("; "))
    }
}

/// The source's value, once the two fields still hold the scanned key and the pair authenticates
/// as the user: a key id beside someone else's secret gives nobody a key.
async fn proven_value(aws: &dyn FleetAws, layout: &Layout) -> Result<Sensitive, String> {
    let current = VersionRef::Stage(AWSCURRENT);
    let id = aws.value(&layout.id_field, current).await;
    let id = id
        .map_err(|e| e.to_string())?
        .map(|v| v.expose().trim().to_owned());
    if id.as_deref() != Some(layout.key_id.as_str()) {
        return Err(
            "the key id field changed since the scan: nothing changed; run it again".into(),
        );
    }
    let secret = aws.value(&layout.secret_field, current).await;
    let secret = secret.map_err(|e| e.to_string())?;
    let secret = secret.map(|v| Sensitive::new(v.expose().trim().to_owned()));
    let secret = secret.filter(|s| !s.expose().is_empty());
    let secret = secret.ok_or("the secret field holds no value: nothing changed")?;
    let identity = aws.identity_of(&layout.key_id, &secret).await;
    let identity =
        identity.map_err(|e| format!("the pair does not authenticate ({e}): nothing changed"))?;
    if identity.arn != layout.user_arn {
        let user = &layout.user;
        return Err(format!(
            "the pair authenticates as {}, not as IAM user {user}: nothing changed",
            identity.arn
        ));
    }
    let json = serde_json::json!({
        "UserName": layout.user,
        "AccessKeyId": layout.key_id,
        "SecretAccessKey": secret.expose(),
    });
    Ok(Sensitive::new(json.to_string()))
}
