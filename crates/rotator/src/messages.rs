//! The messages of the refusals that depend on where the user is (its account, §17) and the
//! sentence saying when and where a key was last used: shared by the errors (`error.rs`) and the
//! sweep's log lines. Each names what is wrong and the command that fixes it, never a secret.

use crate::aws::KeyLastUse;
use crate::binding::{tag_user_command, BINDING_TAG};
use crate::secret_value::format_date;

/// A previous key still in use (§16), boxed: the error stays small.
#[derive(Debug)]
pub struct InUse {
    pub key_id: String,
    pub user: String,
    /// The member account the user is in (§17), if not the secret's own.
    pub account: Option<String>,
    /// When, and where if IAM says: "2026-12-03T10:00:00Z by sts in eu-west-1".
    pub last_use: String,
    pub idle_hours: u64,
}

pub(crate) fn in_use_message(in_use: &InUse) -> String {
    let InUse {
        key_id,
        user,
        account,
        last_use,
        idle_hours,
    } = in_use;
    let who = who(user, account.as_deref());
    let deactivate = command(
        account.as_deref(),
        format!("aws iam update-access-key --user-name {user} --access-key-id {key_id} --status Inactive"),
    );
    let delete = delete_command(user, account.as_deref(), key_id);
    format!("the previous access key {key_id} of IAM user {who} was last used at {last_use}, within RETIRE_IDLE_HOURS={idle_hours}: a consumer may not have moved to AWSCURRENT yet, and deleting it now (to make room for a new key) would cut that consumer off. Nothing was changed. A later attempt (Secrets Manager's retry, or the next rotation) goes ahead once the key has been idle for {idle_hours} hours. Once you know nothing needs the key: deactivate it ({deactivate}) to have it deleted after its quarantine, or, for an emergency rotation, delete it ({delete}) and rotate again")
}

/// An Inactive previous key within its quarantine (§18), boxed: the error stays small.
#[derive(Debug)]
pub struct Quarantined {
    pub key_id: String,
    pub user: String,
    pub account: Option<String>,
    /// When the quarantine ends, RFC 3339.
    pub ends: String,
}

pub(crate) fn quarantine_message(quarantined: &Quarantined) -> String {
    let Quarantined {
        key_id,
        user,
        account,
        ends,
    } = quarantined;
    let who = who(user, account.as_deref());
    let delete = delete_command(user, account.as_deref(), key_id);
    format!("the previous access key {key_id} of IAM user {who} is Inactive, in its quarantine (RETIRE_QUARANTINE_DAYS): it is kept so that a consumer that still needed it shows up and can be given it back. The quarantine ends no sooner than {ends}; nothing was changed. A later attempt (Secrets Manager's retry, or the next rotation) goes ahead then, or once the sweep has deleted the key. For an emergency rotation now, delete the key by hand ({delete}) and rotate again")
}

fn who(user: &str, account: Option<&str>) -> String {
    match account {
        None => user.to_owned(),
        Some(account) => format!("{user} in account {account}"),
    }
}

/// A command to run as written, in the user's account.
fn command(account: Option<&str>, command: String) -> String {
    match account {
        None => command,
        Some(account) => format!("in account {account}: {command}"),
    }
}

fn delete_command(user: &str, account: Option<&str>, key_id: &str) -> String {
    let delete = format!("aws iam delete-access-key --user-name {user} --access-key-id {key_id}");
    command(account, delete)
}

/// "<date> by sts in eu-west-1": when and where IAM saw a key used ("never" if it never was), so
/// its consumer can be found.
pub fn describe_use(used: &KeyLastUse) -> String {
    let at = used.at.map_or_else(|| "never".to_owned(), format_date);
    let (service, region) = (used.service.as_deref(), used.region.as_deref());
    match (service, region) {
        (Some(service), Some(region)) => format!("{at} by {service} in {region}"),
        (Some(service), None) => format!("{at} by {service}"),
        (None, Some(region)) => format!("{at} in {region}"),
        (None, None) => at,
    }
}

/// A user the secret may not act for (§15), boxed: the error stays small.
#[derive(Debug)]
pub struct Unbound {
    pub user: String,
    /// The member account the user is in (§17), if not the secret's own.
    pub account: Option<String>,
    pub secret_arn: String,
    /// The secret the user's tag names instead, if any.
    pub bound_to: Option<String>,
}

/// §15: who decides, and the command that binds (or re-binds) the user to this secret.
pub(crate) fn unbound_message(unbound: &Unbound) -> String {
    let Unbound {
        user,
        account,
        secret_arn,
        bound_to,
    } = unbound;
    let command = tag_user_command(user, secret_arn);
    let (user, admin) = match account {
        None => (user.to_owned(), "an IAM administrator".to_owned()),
        Some(account) => (
            format!("{user} in account {account}"),
            format!("an IAM administrator of account {account}"),
        ),
    };
    match bound_to {
        None => format!("IAM user {user} is not bound to this secret: it has no tag {BINDING_TAG}, and the function makes, deletes or deactivates keys only for a user whose tag names the secret being rotated. If this secret is meant to hold the user's access key, {admin} binds it with `{command}`; nothing was changed"),
        Some(other) => format!("IAM user {user} is bound to another secret, {other} (its tag {BINDING_TAG}): one user's keys are managed by one secret. If this secret is to take the user over, stop rotating the other one and have {admin} re-bind the user with `{command}`; nothing was changed"),
    }
}
