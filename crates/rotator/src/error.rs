//! The one error type of the function, and the one place that decides which problems are
//! transient (for a failed AWS call, `aws/error.rs` decides from the service's answer).
//!
//! Every failure is a [`RotationError`]: the secret and step it happened in, and a [`Problem`]
//! that says what is wrong and what the operator can do. It becomes a Lambda `Diagnostic` whose
//! `error_type` starts with `Transient.` (Secrets Manager's retry may well succeed: throttling,
//! time-outs, a key not yet propagated) or `Permanent.` (a person must fix something first).

use std::fmt;

use lambda_runtime::Diagnostic;

use crate::aws::AwsError;
use crate::binding::{BINDING_TAG, MAX_TAG_VALUE_LEN};
use crate::messages::{
    in_use_message, quarantine_message, unbound_message, InUse, Quarantined, Unbound,
};
use crate::step::Step;

/// What went wrong. Each message says what is wrong and what to do about it; none holds secret
/// material (the value of a secret, a secret access key, a RotationToken).
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error("invalid rotation event: {0}. Secrets Manager sends Step, SecretId and ClientRequestToken; to invoke the function by hand, copy one of the files in events/")]
    InvalidEvent(String),

    #[error("rotation is not enabled for this secret. Turn it on with `aws secretsmanager rotate-secret --secret-id <secret> --rotation-lambda-arn <this function>`; nothing was changed")]
    RotationDisabled,

    #[error("version {token} is not a version of this secret. Only Secrets Manager should invoke this function, with the ClientRequestToken of a rotation it started; nothing was changed")]
    VersionNotFound { token: String },

    #[error("version {token} is labelled [{}], not AWSPENDING: this rotation was abandoned (a newer rotation or a manual change replaced it). Start a new rotation; nothing was changed", stages.join(", "))]
    VersionNotPending { token: String, stages: Vec<String> },

    #[error("the {version} version holds no value. {hint}")]
    MissingValue { version: String, hint: &'static str },

    #[error("the {version} value is not usable: {reason}. A rotatable secret is a JSON object with UserName, AccessKeyId and SecretAccessKey (or only UserName before its first rotation); nothing was changed")]
    InvalidSecretValue { version: String, reason: String },

    #[error("no IAM user for this secret: its {version} value has no UserName and no USER_NAME_TEMPLATE is configured. Add \"UserName\" to the secret value; nothing was changed")]
    NoUserName { version: String },

    #[error("USER_NAME_TEMPLATE {template:?} does not fit the secret name {secret_name:?}: {reason}. Add \"UserName\" to the secret value or fix the template; nothing was changed")]
    TemplateMismatch {
        template: String,
        secret_name: String,
        reason: String,
    },

    #[error("{}", unbound_message(.0))]
    UserNotBound(Box<Unbound>),

    #[error("this secret's ARN is {length} characters long, more than the {MAX_TAG_VALUE_LEN} an IAM tag value holds, so no IAM user can be bound to it by the tag {BINDING_TAG}. Recreate the secret under a shorter name (the ARN must fit in {MAX_TAG_VALUE_LEN} characters); nothing was changed")]
    SecretArnTooLong { length: usize },

    #[error("the {version} value holds no access key but a field {field}: it is another kind of credential (a console password, a token), not an access key secret. This function only rotates IAM access keys: give this secret another rotation function, or turn its rotation off; nothing was changed")]
    NotAKeySecret { version: String, field: String },

    #[error("{reason}: going on would move AWSCURRENT off a value a person (or another tool) put there, and act on its key. Nothing was changed. If that value is right, cancel this rotation: remove AWSPENDING from version {token}, and delete the key its value holds, if any (aws iam delete-access-key), which no secret will hold then; if not, put AWSCURRENT back where it was and let Secrets Manager retry")]
    CurrentWrittenDuringRotation { reason: String, token: String },

    #[error("{}", in_use_message(.0))]
    PreviousKeyInUse(Box<InUse>),

    #[error("{}", quarantine_message(.0))]
    PreviousKeyInQuarantine(Box<Quarantined>),

    #[error("access key {key_id} of IAM user {user} was Inactive when createSecret decided to delete it to make room, and has changed since: a person reactivated it (for a consumer that still needs it), or the sweep recorded a change of it. Nothing was deleted. Secrets Manager's retry decides again")]
    PreviousKeyChanged { key_id: String, user: String },

    #[error("access key {key_id} was made after this rotation started and no version holds it (an earlier attempt of this rotation likely made it and died before storing it), but IAM reports a key's use up to 4 hours late, so that nobody has used it cannot be proven before {provable_at}. Nothing was changed. Secrets Manager's retry, or the next rotation, deletes it then and goes ahead; if a person made it for a consumer, store it in a secret of its own user instead")]
    OrphanTooRecent { key_id: String, provable_at: String },

    #[error("AWSCURRENT holds access key {key_id}, which IAM user {user} does not have: the secret and the user disagree. Fix the secret by hand (or write a value with only UserName to start over); nothing was changed")]
    KeyNotOwnedByUser { key_id: String, user: String },

    #[error("the AWSCURRENT access key {key_id} of IAM user {user} is Inactive, so its consumers are already locked out. Reactivate it (aws iam update-access-key --status Active) and retry, or if it was deactivated on purpose, delete it and write a value with only UserName to start over; nothing was changed")]
    CurrentKeyInactive { key_id: String, user: String },

    #[error("IAM user {user} has no free access key slot: key(s) {} are not managed by this secret (in no labelled version, created before this rotation), so they are never touched. Delete or move them, then retry; nothing was changed", foreign.join(", "))]
    NoFreeKeySlot { user: String, foreign: Vec<String> },

    #[error("the AWSPENDING value names IAM user {pending_user} but AWSCURRENT names {current_user}: a rotation never moves a secret to another user. Cancel this rotation (remove the AWSPENDING label) and fix the secret")]
    UserMismatch {
        pending_user: String,
        current_user: String,
    },

    #[error("the AWSPENDING access key {key_id} cannot be used: {reason}. Cancel this rotation (remove the AWSPENDING label) and start a new one")]
    PendingKeyNotUsable { key_id: String, reason: String },

    #[error("the new access key {key_id} did not authenticate within {waited_secs}s ({attempts} attempts; last error: {last_error}). IAM may still be propagating it: Secrets Manager retries the rotation, or raise PROPAGATION_TIMEOUT_SECONDS (and the function's timeout). Nothing was deleted")]
    KeyNotPropagated {
        key_id: String,
        attempts: u32,
        waited_secs: u64,
        last_error: String,
    },

    #[error("the access key {key_id} authenticates as {actual}, not as the expected {expected}: the secret holds a key of another identity. Fix the secret by hand; nothing was deleted")]
    IdentityMismatch {
        key_id: String,
        expected: String,
        actual: String,
    },

    #[error("the secret's tag {key}={value:?} is not valid (allowed are {allowed}): it is ignored, and the function's own setting applies. Fix or remove the tag (aws secretsmanager tag-resource / untag-resource)")]
    InvalidSecretTag {
        key: String,
        value: String,
        allowed: String,
    },

    #[error("the sweep cannot tell which secrets are this function's: the runtime gave the function ARN {given:?}, not an ARN, and EMULATED_FUNCTION_ARN is not set. Under an emulator, set EMULATED_FUNCTION_ARN to the ARN the secrets name in RotationLambdaARN; nothing was changed")]
    UnknownFunctionArn { given: String },

    #[error("the value names AccountId {account}, not the secret's own account, but this function has no member role to enter it: set MEMBER_ROLE_NAME and MEMBER_ROLE_EXTERNAL_ID (the template's MemberRoleName and MemberRoleExternalId) and deploy member-role.yaml to that account, or remove AccountId from the value; nothing was changed")]
    CrossAccountNotConfigured { account: String },

    #[error("cannot enter account {account}: sts:AssumeRole of {role_arn} was refused ({reason}). AWS answers so when the role does not exist, when its trust policy does not trust this function's role, when the external id differs, and when the function's own policy refuses (no sts:AssumeRole, or an account outside the function's organization): check that the member-role stack is deployed in account {account}, that it trusts this function's role, that its ExternalId equals MEMBER_ROLE_EXTERNAL_ID, and that the account is in this organization; nothing was changed")]
    MemberRoleRefused {
        account: String,
        role_arn: String,
        reason: String,
    },

    #[error("{} mirror(s) of this secret do not hold its current key: {}. The previous access key is left as it is (a consumer reading such a mirror still uses it). Each reason says what to fix; the sweep, or Secrets Manager's retry, writes the mirrors again", reasons.len(), reasons.join("; "))]
    MirrorNotWritten { reasons: Vec<String> },
    #[error("{0}")]
    Aws(#[from] AwsError),
}

impl Problem {
    pub fn is_transient(&self) -> bool {
        match self {
            Problem::KeyNotPropagated { .. }
            | Problem::PreviousKeyInUse(_)
            | Problem::PreviousKeyInQuarantine(_)
            | Problem::OrphanTooRecent { .. }
            | Problem::PreviousKeyChanged { .. }
            | Problem::MirrorNotWritten { .. } => true,
            Problem::Aws(e) => e.is_transient(),
            _ => false,
        }
    }

    /// A short, stable name for the Diagnostic's `error_type`.
    pub fn name(&self) -> String {
        let name = match self {
            Problem::InvalidEvent(_) => "InvalidEvent",
            Problem::RotationDisabled => "RotationDisabled",
            Problem::VersionNotFound { .. } => "VersionNotFound",
            Problem::VersionNotPending { .. } => "VersionNotPending",
            Problem::MissingValue { .. } => "MissingValue",
            Problem::InvalidSecretValue { .. } => "InvalidSecretValue",
            Problem::NoUserName { .. } => "NoUserName",
            Problem::TemplateMismatch { .. } => "TemplateMismatch",
            Problem::UserNotBound(_) => "UserNotBound",
            Problem::SecretArnTooLong { .. } => "SecretArnTooLong",
            Problem::NotAKeySecret { .. } => "NotAKeySecret",
            Problem::CurrentWrittenDuringRotation { .. } => "CurrentWrittenDuringRotation",
            Problem::PreviousKeyInUse(_) => "PreviousKeyInUse",
            Problem::PreviousKeyInQuarantine(_) => "PreviousKeyInQuarantine",
            Problem::OrphanTooRecent { .. } => "OrphanTooRecent",
            Problem::PreviousKeyChanged { .. } => "PreviousKeyChanged",
            Problem::KeyNotOwnedByUser { .. } => "KeyNotOwnedByUser",
            Problem::CurrentKeyInactive { .. } => "CurrentKeyInactive",
            Problem::NoFreeKeySlot { .. } => "NoFreeKeySlot",
            Problem::UserMismatch { .. } => "UserMismatch",
            Problem::PendingKeyNotUsable { .. } => "PendingKeyNotUsable",
            Problem::KeyNotPropagated { .. } => "KeyNotPropagated",
            Problem::IdentityMismatch { .. } => "IdentityMismatch",
            Problem::UnknownFunctionArn { .. } => "UnknownFunctionArn",
            Problem::InvalidSecretTag { .. } => "InvalidSecretTag",
            Problem::CrossAccountNotConfigured { .. } => "CrossAccountNotConfigured",
            Problem::MemberRoleRefused { .. } => "MemberRoleRefused",
            Problem::MirrorNotWritten { .. } => "MirrorNotWritten",
            Problem::Aws(e) => return format!("Aws.{}", e.code.as_deref().unwrap_or("NoAnswer")),
        };
        name.to_owned()
    }
}

/// Any failure of an invocation: where it happened, and the problem. Its `Debug` is its message
/// (lambda_runtime logs failures with `{:?}`).
pub struct RotationError {
    pub secret: Option<String>,
    pub step: Option<Step>,
    pub problem: Problem,
}

impl RotationError {
    pub fn new(secret: &str, step: Step, problem: impl Into<Problem>) -> Self {
        RotationError {
            secret: Some(secret.to_owned()),
            step: Some(step),
            problem: problem.into(),
        }
    }

    /// A failure of the sweep as a whole, which is about no one secret.
    pub fn of_sweep(problem: impl Into<Problem>) -> Self {
        RotationError {
            secret: None,
            step: None,
            problem: problem.into(),
        }
    }

    /// An event too broken to say which secret or step it is about.
    pub fn invalid_event(reason: impl Into<String>) -> Self {
        RotationError {
            secret: None,
            step: None,
            problem: Problem::InvalidEvent(reason.into()),
        }
    }

    pub fn is_transient(&self) -> bool {
        self.problem.is_transient()
    }

    /// `Transient.<Name>` or `Permanent.<Name>`: what Diagnostic.error_type carries.
    pub fn error_type(&self) -> String {
        let class = if self.is_transient() {
            "Transient"
        } else {
            "Permanent"
        };
        format!("{class}.{}", self.problem.name())
    }
}

impl fmt::Display for RotationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.step, &self.secret) {
            (Some(step), Some(secret)) => write!(f, "{step} of secret {secret}: {}", self.problem),
            (None, Some(secret)) => write!(f, "secret {secret}: {}", self.problem),
            _ => write!(f, "{}", self.problem),
        }
    }
}

impl fmt::Debug for RotationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {self}", self.error_type())
    }
}

impl std::error::Error for RotationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.problem)
    }
}

impl From<RotationError> for Diagnostic {
    fn from(error: RotationError) -> Self {
        Diagnostic {
            error_type: error.error_type(),
            error_message: error.to_string(),
        }
    }
}
