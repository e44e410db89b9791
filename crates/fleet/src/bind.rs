//! How `enable` binds a user to its secret (§15): only where an administrator names the pair
//! (`--bind USER_ARN=SECRET_ARN`), and only after proof that this gives nobody anything new.
//!
//! Binding hands the user's keys to whoever can write the secret: a rotation deletes what the
//! secret's history says is its own. Possession of a key pair proves nothing about which secret
//! should rotate the user: whoever holds a leaked key can store it in a secret of their own. So
//! `enable` never binds on its own inference: it prints the evidence (which secrets of the run
//! hold the user's keys) and the command. A named pair is bound only if the secret holds the
//! user's working key pair, no other secret in any enabled Region of any account of the run holds
//! any of the user's keys, and the user has no key the secret does not hold. A bootstrap value
//! or a user bound elsewhere is left to an IAM administrator, with the command.

use super::aws::FleetAws;
use super::claims::{Claims, NotSole};
use super::commands::bind_command;
use super::outcome::{Outcome, SecretOutcome};
use super::report::SecretReport;
use iam_key_rotator::aws::{VersionRef, AWSCURRENT};
use iam_key_rotator::binding::{binding_of, tag_user_command, Binding};
use iam_key_rotator::secret_value::SecretValue;

/// A pair an administrator named: bind this user to this secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    pub user_arn: String,
    pub secret_arn: String,
}

/// `USER_ARN=SECRET_ARN`, both full ARNs: users repeat across accounts (§17), names across
/// Regions.
pub fn parse_bind(text: &str) -> Result<Bind, String> {
    let text = text.trim();
    let bad = |why: &str| {
        Err(format!(
            "`{text}` {why}: write USER_ARN=SECRET_ARN, for example arn:aws:iam::111122223333:user/ci=arn:aws:secretsmanager:us-east-1:111122223333:secret:app/prod/ci-AbCdEf"
        ))
    };
    let Some((user_arn, secret_arn)) = text.split_once('=') else {
        return bad("is not USER_ARN=SECRET_ARN");
    };
    fn parts(arn: &str) -> Vec<&str> {
        arn.splitn(6, ':').collect()
    }
    match parts(user_arn).as_slice() {
        ["arn", _, "iam", "", account, user]
            if account.len() == 12 && user.starts_with("user/") && user.len() > 5 => {}
        _ => return bad("does not start with an IAM user's ARN"),
    }
    match parts(secret_arn).as_slice() {
        ["arn", _, "secretsmanager", region, account, secret]
            if !region.is_empty() && account.len() == 12 && secret.starts_with("secret:") => {}
        _ => return bad("does not end with a secret's ARN"),
    }
    Ok(Bind {
        user_arn: user_arn.to_owned(),
        secret_arn: secret_arn.to_owned(),
    })
}

/// The lines of a `--bind-file`: one USER_ARN=SECRET_ARN each; blank lines and `#` comments
/// are skipped.
pub fn parse_bind_file(text: &str) -> Result<Vec<Bind>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .map(|(n, line)| parse_bind(line).map_err(|e| format!("line {}: {e}", n + 1)))
        .collect()
}

/// Each pair names a secret of the scan whose user is the named one; no user or secret twice.
/// `Err`: what is wrong, before anything changes.
pub fn check_binds(binds: &[Bind], secrets: &[SecretReport]) -> Result<(), String> {
    for (i, bind) in binds.iter().enumerate() {
        let twice = binds[..i]
            .iter()
            .any(|b| b.user_arn == bind.user_arn || b.secret_arn == bind.secret_arn);
        if twice {
            return Err(format!(
                "--bind names {} or {} twice: one secret per user, one user per secret",
                bind.user_arn, bind.secret_arn
            ));
        }
        let Some(secret) = secrets.iter().find(|s| s.arn == bind.secret_arn) else {
            return Err(format!("--bind names {}, which is not among the selected secrets of this account and Region: check the ARN (and --region), and that the filters select it", bind.secret_arn));
        };
        if secret.user_arn.as_deref() != Some(bind.user_arn.as_str()) {
            let found = secret.user_arn.as_deref().unwrap_or("no existing IAM user");
            return Err(format!("--bind pairs {} with {}, but that secret's value is for {found}: nothing was bound", bind.secret_arn, bind.user_arn));
        }
    }
    Ok(())
}

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

/// Whether the user is unbound and could be bound (`Ok(true)`), is bound (`Ok(false)`), or why
/// the secret is left alone.
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

/// The user's key ids.
fn key_ids(secret: &SecretReport) -> Vec<String> {
    secret.user_key_list.iter().map(|k| k.id.clone()).collect()
}

fn unread(claims: &Claims) -> String {
    match claims.unread.as_slice() {
        [] => String::new(),
        unread => format!(" Not read, so not known: {}.", unread.join("; ")),
    }
}

/// An unbound user no `--bind` names: left alone, with the evidence and the command.
pub fn evidence(secret: &SecretReport, claims: &Claims) -> SecretOutcome {
    let user = secret.user.as_deref().unwrap_or_default();
    let user_arn = secret.user_arn.as_deref().unwrap_or_default();
    let holders = claims.holders.of(&key_ids(secret));
    let detail = format!(
        "not bound: IAM user {user} is not bound to this secret, and binding is an IAM administrator's act. Secrets holding the user's keys, in every enabled Region of the {} account(s)/Region(s) read: {}.{} If this secret is the one that should rotate the user: `{}`",
        claims.places,
        holders.join(", "),
        unread(claims),
        bind_command(user_arn, &secret.arn)
    );
    SecretOutcome::new(&secret.name, Outcome::Skipped, detail)
}

/// `Ok` when every place was read and no other secret holds one of the user's keys.
pub fn sole_holder(secret: &SecretReport, claims: &Claims) -> Result<(), SecretOutcome> {
    let user = secret.user.as_deref().unwrap_or_default();
    // A mirror paired both ways (it claims this secret, the user names it) holds the key by
    // design (§19): it counts as this secret's.
    let paired = |arn: &str| {
        secret.named_mirrors.iter().any(|m| m == arn) && claims.holders.claims(arn, &secret.arn)
    };
    let why = match claims.sole_holder(&key_ids(secret), &secret.arn, paired) {
        Ok(()) => return Ok(()),
        Err(NotSole::Unread) => format!("could not read every secret of the run to rule out another holder of IAM user {user}'s keys.{} Grant the reads (or leave the unreadable account out of --accounts) and run it again", unread(claims)),
        // The secret holds the user's working key: a claim check that did not find it there did
        // not look where it should (its own account and Region left out, no Region listed).
        Err(NotSole::Missed) => format!("the claim check did not find IAM user {user}'s key in this very secret ({} account(s)/Region(s) read): it did not read this account and Region, so it rules nothing out. Run it again; if it persists, report it", claims.places),
        Err(NotSole::Others(others)) => format!("IAM user {user}'s key is also held by {}: whoever can read it has the key, and binding would give its next keys to whoever writes this one. Keep the key in one secret (delete the others, rotate), then bind", others.join(", ")),
    };
    skipped(secret, format!("not bound: {why}"))
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
    if now.as_ref().is_some_and(|u| u.arn != identity.arn) {
        return Err(refused(format!(
            "IAM user {user} is not the one the key authenticates as (made again since?)"
        )));
    }
    match now.map(|u| binding_of(&u.tags, &secret.arn)) {
        Some(Binding::Unbound) => aws.bind(user, &secret.arn).await.map_err(|e| e.to_string()),
        Some(Binding::Bound) => Ok(()),
        Some(Binding::BoundElsewhere(other)) => Err(refused(format!(
            "IAM user {user} was bound to {other} since the scan"
        ))),
        None => Err(refused(format!("IAM user {user} no longer exists"))),
    }
}
