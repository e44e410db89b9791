//! Commands the fleet's findings and outcomes tell a person to run.

/// The `enable` that binds `user_arn` to `secret_arn` (§15): an administrator's explicit act,
/// with the fleet's checks (the stored key is the user's, no other secret of the run holds it).
pub fn bind_command(user_arn: &str, secret_arn: &str) -> String {
    format!(
        "iam-key-fleet enable --bind {user_arn}={secret_arn} --function-arn FUNCTION_ARN --apply"
    )
}
