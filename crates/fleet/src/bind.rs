//! How `enable` binds a user to its secret (§15): when it may, and the proof it asks for first.
//!
//! Binding hands the user's keys to whoever can write the secret: a rotation deletes what the
//! secret's history says is its own. So `enable` binds only where that gives nobody anything new:
//! the secret already holds the user's working key pair, no other secret holds any of the user's
//! keys, and the user has no key the secret does not hold. Everything else (a bootstrap value, a
//! user bound elsewhere, a key held twice) is an IAM administrator's decision, with the command.

use super::aws::FleetAws;
use super::claims::KeyHolders;
use super::outcome::{Outcome, SecretOutcome};
use super::report::SecretReport;
use iam_key_rotator::aws::{VersionRef, AWSCURRENT};
use iam_key_rotator::binding::{binding_of, tag_user_command, Binding};
use iam_key_rotator::secret_value::SecretValue;

fn skipped<T>(secret: &SecretReport, why: String) -> Result<T, SecretOutcome> {
    Err(SecretOutcome::new(&secret.name, Outcome::Skipped, why))
}

fn by_hand(secret: &SecretReport) -> String {
    let user = secret.user.as_deref().unwrap_or_default();
    format!(
        "an IAM administrator binds it by hand if it should (`{}`)",
        tag_user_command(user, &secret.arn)
    )
}

/// Whether the user must be bound first (`Ok(true)`), or why the secret is left alone.
pub fn must_bind(secret: &SecretReport) -> Result<bool, SecretOutcome> {
    let user = secret.user.as_deref().unwrap_or_default();
    match (&secret.binding, &secret.key) {
        (Some(Binding::Bound), _) => Ok(false),
        (Some(Binding::BoundElsewhere(other)), _) => skipped(
            secret,
            format!("IAM user {user} is bound to another secret, {other}: refused (one secret per user)"),
        ),
        (Some(Binding::Unbound), None) => skipped(
            secret,
            format!("a bootstrap value naming IAM user {user}, which is not bound to it: anyone who can write the secret can name any user, so {}", by_hand(secret)),
        ),
        (Some(Binding::Unbound), Some(_)) if !secret.foreign_keys.is_empty() => skipped(
            secret,
            format!("IAM user {user} also has key(s) {} that this secret does not hold: bound, a rotation could delete them at the word of whoever writes the secret; settle them first, or {}", secret.foreign_keys.join(", "), by_hand(secret)),
        ),
        (Some(Binding::Unbound), Some(_)) => Ok(true),
        (None, _) => skipped(secret, format!("IAM user {user} does not exist")),
    }
}

/// `Ok` when no other secret of the account holds one of the user's keys (`holders` is `Err`
/// when they could not all be read: then nothing is bound).
pub fn sole_holder(
    secret: &SecretReport,
    holders: Result<&KeyHolders, &String>,
) -> Result<(), SecretOutcome> {
    let user = secret.user.as_deref().unwrap_or_default();
    let holders = match holders {
        Ok(holders) => holders,
        Err(e) => return skipped(secret, format!("not bound: could not read every secret of the account to rule out another holder of IAM user {user}'s keys ({e}); {}", by_hand(secret))),
    };
    let key_ids: Vec<String> = secret.user_key_list.iter().map(|k| k.id.clone()).collect();
    let others = holders.others(&key_ids, &secret.arn);
    if others.is_empty() {
        return Ok(());
    }
    skipped(
        secret,
        format!("not bound: IAM user {user}'s key is also held by {}: which secret rotates the user is an administrator's decision, so {}", others.join(", "), by_hand(secret)),
    )
}

/// Binds the secret's user to it, once the key the secret holds now authenticates as that user
/// (sts:GetCallerIdentity signed with it): whoever can read or write the secret already holds the
/// user's key. A key id alone proves nothing (ids are not secret). The user's tags are read again
/// just before TagUser, which would overwrite another secret's binding.
pub async fn prove_and_bind(aws: &dyn FleetAws, secret: &SecretReport) -> Result<(), String> {
    let user = secret.user.as_deref().unwrap_or_default();
    let refused = |why: String| format!("not bound: {why}");
    let raw = aws
        .value(&secret.arn, VersionRef::Stage(AWSCURRENT))
        .await
        .map_err(|e| refused(e.to_string()))?
        .ok_or_else(|| refused("AWSCURRENT holds no value".into()))?;
    let value =
        SecretValue::parse(&raw).map_err(|reason| refused(format!("the value {reason}")))?;
    let (Some(key_id), Some(key_secret)) = (value.access_key_id(), value.secret_access_key())
    else {
        return Err(refused("AWSCURRENT holds no key pair".into()));
    };
    if value.user_name().is_some_and(|name| name != user) {
        return Err(refused(
            "the value names another user since the scan".into(),
        ));
    }
    let identity = aws.identity_of(key_id, &key_secret).await.map_err(|e| {
        refused(format!(
            "the stored key {key_id} does not authenticate: {e}"
        ))
    })?;
    if Some(&identity.arn) != secret.user_arn.as_ref() {
        return Err(refused(format!(
            "the stored key {key_id} authenticates as {}, not as IAM user {user}",
            identity.arn
        )));
    }
    let now = aws.user(user).await.map_err(|e| refused(e.to_string()))?;
    match now.map(|u| binding_of(&u.tags, &secret.arn)) {
        Some(Binding::Unbound) => aws.bind(user, &secret.arn).await.map_err(|e| e.to_string()),
        Some(Binding::Bound) => Ok(()),
        Some(Binding::BoundElsewhere(other)) => Err(refused(format!(
            "IAM user {user} was bound to {other} since the scan"
        ))),
        None => Err(refused(format!("IAM user {user} no longer exists"))),
    }
}
