//! The rotation: the checks every step starts with (§5), then one module per step, named after it.

mod context;
mod create_secret;
mod finish_secret;
mod keep_previous;
pub mod keys;
mod mirrors;
mod set_secret;
mod test_secret;

use tokio::time::Instant;
use tracing::{info, info_span, warn, Instrument};

use crate::aws::{SecretMetadata, AWSCURRENT, AWSPENDING};
use crate::error::{Problem, RotationError};
use crate::event::{RotationEvent, Step};
use crate::lifecycle;
use crate::overrides;
use context::Rotation;
pub use context::Rotator;

impl Rotator {
    /// Runs one step. `deadline` is when the Lambda invocation times out.
    pub async fn handle(
        &self,
        event: &RotationEvent,
        deadline: Instant,
    ) -> Result<(), RotationError> {
        let span = info_span!(
            "rotation",
            secret = %event.secret_id,
            step = %event.step,
            token = %event.token,
            user = tracing::field::Empty,
            account = tracing::field::Empty,
        );
        async {
            self.run_step(event, deadline).await.map_err(|problem| {
                let error = RotationError::new(&event.secret_id, event.step, problem);
                warn!(error_type = %error.error_type(), "{error}");
                error
            })
        }
        .instrument(span)
        .await
    }

    async fn run_step(&self, event: &RotationEvent, deadline: Instant) -> Result<(), Problem> {
        let metadata = self.secrets.describe_secret(&event.secret_id).await?;
        let already_current = check_version(&metadata, &event.token)?;
        let (settings, ignored) = overrides::effective(&self.config, &metadata.tags);
        // Announced once per attempt: createSecret starts every attempt.
        let announce = event.step == Step::CreateSecret && !already_current;
        let events = &*self.events;
        lifecycle::report_ignored_tags(events, &metadata.arn, &ignored, announce).await;
        let rotation = Rotation {
            rotator: self,
            event,
            metadata,
            settings,
            deadline,
        };
        if already_current && event.step != Step::FinishSecret {
            info!("version is already AWSCURRENT: nothing to do");
            return Ok(());
        }
        match event.step {
            Step::CreateSecret => create_secret::create_secret(&rotation).await,
            Step::SetSecret => set_secret::set_secret(&rotation).await,
            Step::TestSecret => test_secret::test_secret(&rotation).await,
            Step::FinishSecret => finish_secret::finish_secret(&rotation, already_current).await,
        }
    }
}

/// §5: rotation on, the token a version of the secret, and that version AWSPENDING, unless it is
/// already AWSCURRENT (returns true then).
fn check_version(metadata: &SecretMetadata, token: &str) -> Result<bool, Problem> {
    if !metadata.rotation_enabled {
        return Err(Problem::RotationDisabled);
    }
    let stages = metadata
        .stages_of(token)
        .ok_or_else(|| Problem::VersionNotFound {
            token: token.to_owned(),
        })?;
    if stages.iter().any(|s| s == AWSCURRENT) {
        return Ok(true);
    }
    if !stages.iter().any(|s| s == AWSPENDING) {
        return Err(Problem::VersionNotPending {
            token: token.to_owned(),
            stages: stages.to_vec(),
        });
    }
    Ok(false)
}
