//! The trust model (§15): which IAM user a secret may cause an access key to be made for.
//!
//! Whoever can write a secret's value can name any user in it. So the value alone never decides:
//! an IAM administrator binds a user to one secret by tagging the user
//! `iam-key-rotator:secret` = the secret's ARN, and the function creates, deletes or deactivates
//! keys only for a user so bound to the very secret it rotates. Tagging a user takes
//! `iam:TagUser`, which a secret writer does not have (and the function is not granted).
//!
//! The full ARN, random suffix included, is what binds: a secret deleted and created again under
//! the same name has another ARN, so it does not inherit the binding of the one it replaces.
//! IAM treats tag keys of users case-insensitively (it keeps one `Department` or `department`,
//! not both), so the key is matched that way; the value must be the ARN exactly.

/// The tag that binds an IAM user to the secret that holds its access key.
pub const BINDING_TAG: &str = "iam-key-rotator:secret";

/// The longest value an IAM tag holds: a secret whose ARN is longer cannot be bound.
pub const MAX_TAG_VALUE_LEN: usize = 256;

/// The prefix of every tag this project reads or writes, on users and on secrets.
pub const TAG_PREFIX: &str = "iam-key-rotator:";

/// Whether a tag key is in the project's namespace: in any case (IAM keeps one tag per key
/// whatever its case) and with spaces around it (a near miss is still meant as ours).
pub fn is_ours(key: &str) -> bool {
    let key = key.trim();
    key.get(..TAG_PREFIX.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(TAG_PREFIX))
}

/// How a user stands towards a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// The user's tag names this secret.
    Bound,
    /// The user carries no binding tag.
    Unbound,
    /// The user's tag names another secret (its value is kept, to say which).
    BoundElsewhere(String),
}

/// How a user with these tags stands towards the secret `secret_arn`. IAM keeps one tag per key
/// whatever its case; should a listing ever hold several (moto keeps them apart), every one of
/// them must name this secret.
pub fn binding_of(tags: &[(String, String)], secret_arn: &str) -> Binding {
    let mut values = binding_tags(tags).peekable();
    if values.peek().is_none() {
        return Binding::Unbound;
    }
    match values.find(|value| *value != secret_arn) {
        None => Binding::Bound,
        Some(other) => Binding::BoundElsewhere(other.to_owned()),
    }
}

fn binding_tags(tags: &[(String, String)]) -> impl Iterator<Item = &str> {
    tags.iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case(BINDING_TAG))
        .map(|(_, value)| value.as_str())
}

/// `Err` with the ARN's length when no tag value can hold it.
pub fn check_bindable(secret_arn: &str) -> Result<(), usize> {
    match secret_arn.chars().count() {
        n if n > MAX_TAG_VALUE_LEN => Err(n),
        _ => Ok(()),
    }
}

/// The command an IAM administrator runs to bind `user` to the secret `secret_arn`.
pub fn tag_user_command(user: &str, secret_arn: &str) -> String {
    format!("aws iam tag-user --user-name {user} --tags Key={BINDING_TAG},Value={secret_arn}")
}
