//! testSecret (§8): prove the new key works, by signing sts:GetCallerIdentity with it and
//! checking who it says we are. A new key takes seconds to propagate, so poll until a deadline.

use crate::metrics::{self, Unit};
use tokio::time::{sleep_until, timeout_at, Instant};
use tracing::info;

use super::context::Rotation;
use crate::aws::{VersionRef, AWSCURRENT};
use crate::error::Problem;
use crate::sensitive::Sensitive;

pub(super) async fn test_secret(r: &Rotation<'_>) -> Result<(), Problem> {
    // createSecret may not have run for this token: a test-only rotation (RotateImmediately=false)
    // gives an AWSPENDING version without a value. Then the key to prove is the current one.
    let (value, version) = match r.read_value(r.pending()).await? {
        Some(value) => (value, r.pending()),
        None => {
            info!("AWSPENDING holds no value (a test-only rotation): testing the AWSCURRENT key");
            let current = VersionRef::Stage(AWSCURRENT);
            let value = r
                .require_value(current, "A rotatable secret needs an AWSCURRENT value")
                .await?;
            (value, current)
        }
    };
    let user_name = r.resolve_user(&value, version).await?;
    let user = r.iam(&user_name).await?.get_user(&user_name.user).await?;

    match (value.access_key_id(), value.secret_access_key()) {
        (Some(key_id), Some(secret)) => prove_key(r, key_id, &secret, &user.arn).await,
        _ if matches!(version, VersionRef::Stage(_)) => {
            info!("AWSCURRENT holds no key yet (a bootstrap value): the user exists, nothing more to test");
            Ok(())
        }
        _ => Err(Problem::InvalidSecretValue {
            version: version.to_string(),
            reason: "it holds no access key".into(),
        }),
    }
}

/// Polls GetCallerIdentity with the key until it answers as `expected_arn`, or the deadline.
async fn prove_key(
    r: &Rotation<'_>,
    key_id: &str,
    secret: &Sensitive,
    expected_arn: &str,
) -> Result<(), Problem> {
    let config = r.config();
    let started = Instant::now();
    let deadline = (started + config.propagation_timeout).min(
        r.deadline
            .checked_sub(config.deadline_margin)
            .unwrap_or(started),
    );
    info!(%key_id, budget_ms = deadline.saturating_duration_since(started).as_millis() as u64,
        "testing the key with sts:GetCallerIdentity until it works or the budget is spent");
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        // The first attempt is always made, even when the Lambda is nearly out of time.
        let attempt_deadline = deadline.max(Instant::now() + config.poll_interval);
        let answer = timeout_at(
            attempt_deadline,
            r.rotator.sts.caller_identity(key_id, secret),
        )
        .await;
        let last_error = match answer {
            Ok(Ok(identity)) if identity.arn == expected_arn => {
                info!(%key_id, attempts, waited_ms = started.elapsed().as_millis() as u64,
                    "test attempt succeeded: the key authenticates as the user");
                let waited = started.elapsed().as_secs_f64();
                metrics::emit(&[("PropagationWaitSeconds", waited, Unit::Seconds)]);
                return Ok(());
            }
            Ok(Ok(identity)) => {
                return Err(Problem::IdentityMismatch {
                    key_id: key_id.to_owned(),
                    expected: expected_arn.to_owned(),
                    actual: identity.arn,
                });
            }
            Ok(Err(e)) if e.may_be_propagation() || e.is_transient() => e.to_string(),
            Ok(Err(e)) => return Err(e.into()),
            Err(_elapsed) => "no answer before the deadline".to_owned(),
        };
        info!(%key_id, attempt = attempts, error = %last_error, "test attempt failed: the key does not work yet");

        let next = Instant::now() + config.poll_interval;
        if next > deadline {
            return Err(Problem::KeyNotPropagated {
                key_id: key_id.to_owned(),
                attempts,
                waited_secs: started.elapsed().as_secs(),
                last_error,
            });
        }
        sleep_until(next).await;
    }
}
