//! Who holds a secret's key (§4, §17): an IAM user, in the secret's own account or in the member
//! account its value names in `AccountId`.
//!
//! The account is part of who the user is: `ci` in one account and `ci` in another are two
//! users, so every comparison of "the same user" (a rotation never moves a secret to another
//! user) compares the account too. A value that names the secret's own account holds the same
//! user as one that names none.

use std::fmt;

use crate::aws::{AwsError, Iam};
use crate::secret_value::SecretValue;
use crate::user_name::{resolve_user, NoUser, UserNameTemplate};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub user: String,
    /// The member account the user is in; `None` for the secret's own account.
    pub account: Option<String>,
}

impl Holder {
    /// The holder of `value`, a value of the secret `secret_name` (ARN `secret_arn`): its
    /// UserName (or the template over the name), in its AccountId unless that is the secret's.
    pub fn of(
        value: &SecretValue,
        template: Option<&UserNameTemplate>,
        secret_name: &str,
        secret_arn: &str,
    ) -> Result<Holder, NoUser> {
        let (user, _) = resolve_user(value.user_name(), template, secret_name)?;
        let account = value
            .account_id()
            .filter(|account| Some(*account) != arn_account(secret_arn))
            .map(str::to_owned);
        Ok(Holder { user, account })
    }
}

/// A text value (a credentials file, a dotenv text: issue 23) names no user. Unless
/// USER_NAME_TEMPLATE names one, its key's owner as IAM reports it (GetAccessKeyLastUsed) stands
/// for its UserName: IAM's word, so the binding (§15) is checked against the key's true owner.
/// The IAM of the secret's own account: a text names no AccountId. Asked of the AWSCURRENT key
/// only (the other versions of the secret hold the same user: see `Rotation::resolve_user`), so a
/// version labelled by whoever may write the secret never makes the function ask about a key of
/// their choosing. A key IAM does not know, or will not tell about (a user outside UserPath),
/// leaves the text without a user: `NoUserName` where one is needed.
pub async fn with_key_owner(
    value: SecretValue,
    template: Option<&UserNameTemplate>,
    iam: &dyn Iam,
) -> Result<SecretValue, AwsError> {
    match (value.text_format(), value.access_key_id(), template) {
        (Some(_), Some(key_id), None) => match iam.access_key_last_used(key_id).await {
            Ok(used) => Ok(value.with_key_owner(used.user)),
            Err(e) if e.is_not_found() || e.has_code("AccessDenied") => Ok(value),
            Err(e) => Err(e),
        },
        _ => Ok(value),
    }
}

/// "ci" in the secret's own account, "ci in account 111111111111" in another.
impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.account {
            None => f.write_str(&self.user),
            Some(account) => write!(f, "{} in account {account}", self.user),
        }
    }
}

/// The account of an ARN (its fifth field), if it has one.
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|account| !account.is_empty())
}

/// The partition of an ARN (its second field): `aws`, `aws-cn`, `aws-us-gov`.
pub fn arn_partition(arn: &str) -> &str {
    arn.split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
}
