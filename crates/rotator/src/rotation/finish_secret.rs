//! finishSecret (§9): promote the new version, write the mirrors (§19), then apply
//! PREVIOUS_KEY_ACTION to the key that just left AWSCURRENT. A retry whose version is already
//! current writes the mirrors and re-applies the action, so a crash between the label move and
//! the key action still converges.

use tracing::{info, warn};

use super::context::Rotation;
use super::keys::{self, PreviousKeyStep};
use crate::aws::{KeyStatus, VersionRef, AWSCURRENT, AWSPREVIOUS};
use crate::config::PreviousKeyAction;
use crate::error::Problem;
use crate::holder::Holder;
use crate::lifecycle;
use crate::metrics::{self, Unit};
use crate::secret_value::SecretValue;

use serde_json::json;

pub(super) async fn finish_secret(r: &Rotation<'_>, already_current: bool) -> Result<(), Problem> {
    let action = r.settings.action;
    // §15: under deactivate or delete a key of the user will be acted on, so the binding is
    // checked first, before the label moves: a refusal changes nothing. keep and retire touch
    // no key here.
    // The value about to be promoted, read before anything moves: its user is checked, and the
    // lifecycle event names it.
    let new_value = r
        .require_value(
            VersionRef::Id(&r.event.token),
            "finishSecret promotes the value createSecret stored",
        )
        .await?;
    let new_user = r
        .resolve_user(&new_value, VersionRef::Id(&r.event.token))
        .await?;
    let acting_on = if matches!(action, PreviousKeyAction::Keep | PreviousKeyAction::Retire) {
        None
    } else {
        r.require_binding(&new_user).await?;
        Some((new_value.clone(), new_user.clone()))
    };

    let previous_version = if already_current {
        info!("version is already AWSCURRENT: re-applying the previous key action");
        r.metadata.version_with(AWSPREVIOUS)
    } else {
        let old_current = r.metadata.version_with(AWSCURRENT);
        let started = r.refuse_a_hand_edit().await?.map(|dates| dates.started);
        r.rotator
            .secrets
            .move_current(r.secret_id(), &r.event.token, old_current)
            .await?;
        info!(
            previous_version = old_current.unwrap_or("none"),
            "moved AWSCURRENT to the new version"
        );
        if let Some(started) = started {
            let took = r.rotator.clock.now().duration_since(started);
            let seconds = took.unwrap_or_default().as_secs_f64();
            metrics::emit(&[("RotationSeconds", seconds, Unit::Seconds)]);
        }
        announce(r, &new_value, &new_user, old_current).await;
        old_current
    };

    // §19: the mirrors get the new key now that it is AWSCURRENT (never before: a rotation that
    // fails must not hand out a key it will delete), and before anything is done to the previous
    // key, which a mirror not written keeps (its consumers still read that key from it).
    r.write_mirrors(&new_value, previous_version, &new_user)
        .await?;

    let Some((current, user)) = acting_on else {
        let reason = match action {
            PreviousKeyAction::Retire => keys::RETIRE_REASON,
            _ => keys::KEEP_REASON,
        };
        info!(reason, "left the previous access key alone");
        return Ok(());
    };
    let Some(previous_version) = previous_version else {
        info!("no previous version: no previous access key to act on");
        return Ok(());
    };
    let previous = match r.read_value(VersionRef::Id(previous_version)).await {
        Ok(Some(value)) => value,
        Ok(None) => {
            info!("the previous version holds no value: no previous access key to act on");
            return Ok(());
        }
        Err(Problem::InvalidSecretValue { reason, .. }) => {
            warn!(%reason, "left the previous access key alone: the previous value is not usable");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let Some(previous_key_id) = previous.access_key_id() else {
        info!("the previous value holds no key (a bootstrap value): nothing to act on");
        return Ok(());
    };

    let previous_user = match r
        .resolve_user(&previous, VersionRef::Id(previous_version))
        .await
    {
        Ok(user) => user,
        Err(problem) => {
            // AWSCURRENT has moved already: failing now would only make the retries fail too.
            warn!(key_id = %previous_key_id, reason = %problem, "left the previous access key alone: its user is unknown");
            return Ok(());
        }
    };
    // The log lines that follow are about the current user (resolve_user recorded the previous).
    tracing::Span::current().record("user", user.user.as_str());
    if previous_user != user {
        info!(key_id = %previous_key_id, %previous_user,
            "left the previous access key alone: it belongs to another user than the current one");
        return Ok(());
    }

    act_on_previous_key(r, action, &user, previous_key_id, current.access_key_id()).await
}

/// The lifecycle event of the promotion, best effort: AWSCURRENT has moved whatever it says.
async fn announce(r: &Rotation<'_>, value: &SecretValue, user: &Holder, previous: Option<&str>) {
    let subject = lifecycle::Subject {
        secret_arn: &r.metadata.arn,
        user,
        key_id: value.access_key_id().unwrap_or_default(),
    };
    let extra = json!({
        "versionId": r.event.token,
        "previousVersionId": previous,
        "previousKeyAction": r.settings.action.as_str(),
    });
    let event = lifecycle::event(lifecycle::ROTATED, &subject, extra);
    lifecycle::publish(&*r.rotator.events, event).await;
}

async fn act_on_previous_key(
    r: &Rotation<'_>,
    action: PreviousKeyAction,
    user: &Holder,
    previous_key_id: &str,
    current_key_id: Option<&str>,
) -> Result<(), Problem> {
    match keys::previous_key_step(action, previous_key_id, current_key_id) {
        PreviousKeyStep::Deactivate(key_id) => {
            let iam = r.iam(user).await?;
            match iam
                .update_access_key(&user.user, &key_id, KeyStatus::Inactive)
                .await
            {
                Ok(()) => info!(%key_id, "deactivated the previous access key"),
                Err(e) if e.is_not_found() => {
                    info!(%key_id, "the previous access key is already gone")
                }
                Err(e) => return Err(e.into()),
            }
        }
        PreviousKeyStep::Delete(key_id) => {
            r.delete_key(user, &key_id, "PREVIOUS_KEY_ACTION=delete")
                .await?;
        }
        PreviousKeyStep::LeaveAlone(reason) => {
            info!(key_id = %previous_key_id, reason, "left the previous access key alone");
        }
    }
    Ok(())
}
