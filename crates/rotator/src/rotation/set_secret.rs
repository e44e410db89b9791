//! setSecret (§7): IAM already holds the new key (createSecret made it), so only verify it.

use tracing::info;

use super::context::Rotation;
use crate::aws::KeyStatus;
use crate::error::Problem;

pub(super) async fn set_secret(r: &Rotation<'_>) -> Result<(), Problem> {
    let pending = r
        .require_value(
            r.pending(),
            "createSecret stores the new key there before setSecret runs: let Secrets Manager run the rotation from createSecret",
        )
        .await?;
    let (_, current_user) = r
        .current_value_and_user("A rotatable secret needs an AWSCURRENT value")
        .await?;
    let pending_user = r.resolve_user(&pending, r.pending()).await?;
    if pending_user != current_user {
        return Err(Problem::UserMismatch {
            pending_user: pending_user.to_string(),
            current_user: current_user.to_string(),
        });
    }

    let key_id = pending
        .access_key_id()
        .ok_or_else(|| Problem::InvalidSecretValue {
            version: r.pending().to_string(),
            reason: "it holds no access key".into(),
        })?;
    let iam = r.iam(&current_user).await?;
    let user_keys = iam.list_access_keys(&current_user.user).await?;
    match user_keys.iter().find(|k| k.id == key_id) {
        None => Err(Problem::PendingKeyNotUsable {
            key_id: key_id.to_owned(),
            reason: format!("IAM user {current_user} does not have it (deleted, or never made)"),
        }),
        Some(key) if key.status != KeyStatus::Active => Err(Problem::PendingKeyNotUsable {
            key_id: key_id.to_owned(),
            reason: format!("it is {}", key.status),
        }),
        Some(_) => {
            info!(%key_id, "pending access key verified: the user's, and Active");
            Ok(())
        }
    }
}
