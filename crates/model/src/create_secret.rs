//! createSecret's decision (`rotation/create_secret.rs`, `keep_previous.rs`), each rule the
//! crate's own: make room (the key policy), keep a previous key in use or in quarantine, then
//! create the key and store it.

use std::collections::HashSet;

use iam_key_rotator::aws::KeyStatus;
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::overrides;
use iam_key_rotator::retire::decide::{self, Facts, KeepPrevious, Settings};
use iam_key_rotator::rotation::keys::{self, DeleteReason, Evidence, OrphanProof};
use iam_key_rotator::secret_value::SecretValue;
use iam_key_rotator::Config;

use crate::calls::{Call, Invocation, Why};
use crate::reads::{hand_edit, require_binding, user_of, value, Decided};
use crate::view::{self, key_of_id, time};
use crate::world::{State, Value, CURRENT, PREVIOUS};

pub fn create_secret(s: &State, config: &Config, token: u8, inv: &mut Invocation) -> Decided {
    if s.version(token).is_some_and(|v| v.value != Value::Empty) {
        return Ok(());
    }
    let dates = hand_edit(s, token)?;
    let current = match value(s, CURRENT) {
        None => return Err("Permanent.MissingValue"),
        Some(Err(_)) => return Err("Permanent.InvalidSecretValue"),
        Some(Ok(current)) => current,
    };
    let user = user_of(&current)?;
    inv.user = user;
    require_binding(s, user)?;
    let user_keys = view::access_keys(s, user);
    let current_key = current.access_key_id();
    if let Some(id) = current_key {
        match user_keys.iter().find(|k| k.id == id) {
            None => return Err("Permanent.KeyNotOwnedByUser"),
            Some(k) if k.status != KeyStatus::Active => return Err("Permanent.CurrentKeyInactive"),
            Some(_) => {}
        }
    }
    let evidence = if keys::needs_evidence(&user_keys, current_key) {
        evidence(s, &current, &user_keys, dates.map(|d| d.0), token)?
    } else {
        Evidence::default()
    };
    let plan = keys::plan_room(&user_keys, current_key, &evidence)
        .map_err(|_| "Permanent.NoFreeKeySlot")?;
    let (settings, _) = overrides::effective(config, &view::secret_tags(s));
    if settings.action == PreviousKeyAction::Retire {
        keep_previous(s, config, &plan, &user_keys, dates.map(|d| d.1))?;
    }
    // §19: a previous key goes only once the mirror held the current key before this attempt.
    if plan
        .delete
        .iter()
        .any(|(_, why)| *why == DeleteReason::Previous)
    {
        inv.calls
            .extend(crate::mirror::pass_now(s).into_iter().flatten());
    }
    for (id, why) in &plan.delete {
        let active = user_keys
            .iter()
            .any(|k| k.id == *id && k.status == KeyStatus::Active);
        let key = key_of_id(id).expect("a model key");
        let reason = match why {
            DeleteReason::Previous if active => Why::Previous,
            DeleteReason::Previous => Why::PreviousInactive,
            DeleteReason::Orphan => Why::Orphan,
        };
        if !active || *why == DeleteReason::Previous {
            inv.calls.push(Call::Reread {
                key,
                was_active: active,
            });
        }
        inv.calls.push(Call::DeleteKey(key, reason));
    }
    inv.calls.extend([Call::CreateKey, Call::PutPending]);
    Ok(())
}

/// `keep_previous.rs`: under `retire`, a previous key the sweep would keep is kept.
fn keep_previous(
    s: &State,
    config: &Config,
    plan: &keys::RoomPlan,
    user_keys: &[iam_key_rotator::aws::AccessKeyInfo],
    current_created: Option<u32>,
) -> Decided {
    let (settings, _) = overrides::effective(config, &view::secret_tags(s));
    let settings = Settings::new(config, &settings);
    let now = time(s.now);
    let promoted = current_created.map_or(now, |c| {
        decide::promotion(s.last_rotated.map(time), time(c))
    });
    let previous = plan
        .delete
        .iter()
        .filter(|(_, why)| *why == DeleteReason::Previous);
    for (id, _) in previous {
        let Some(listed) = user_keys.iter().find(|k| k.id == *id) else {
            continue;
        };
        let key = key_of_id(id).expect("a model key");
        let facts = Facts {
            status: listed.status,
            last_use: view::last_use(s, key).unwrap_or_default(),
            promoted,
            tag: decide::tag_of(&view::secret_tags(s), id),
        };
        match decide::keep_previous(&facts, &settings, now) {
            Some(KeepPrevious::InUse) => return Err("Transient.PreviousKeyInUse"),
            Some(KeepPrevious::InQuarantine { .. }) => {
                return Err("Transient.PreviousKeyInQuarantine")
            }
            None => {}
        }
    }
    Ok(())
}

/// gather_evidence: the keys the labelled versions hold, and the orphans' proofs.
fn evidence(
    s: &State,
    current: &SecretValue,
    user_keys: &[iam_key_rotator::aws::AccessKeyInfo],
    started: Option<u32>,
    token: u8,
) -> Result<Evidence, &'static str> {
    let mut evidence = Evidence::default();
    let mut unknown = false;
    evidence.referenced = current
        .access_key_id()
        .map(str::to_owned)
        .into_iter()
        .collect::<HashSet<_>>();
    for v in &s.versions {
        if v.labels == 0 || v.labels & CURRENT != 0 || v.id == token {
            continue;
        }
        match view::parsed(v.value) {
            None => {}
            Some(Err(_)) => unknown = true,
            Some(Ok(value)) => {
                if let Some(id) = value.access_key_id() {
                    evidence.referenced.insert(id.to_owned());
                    if v.labels & PREVIOUS != 0 {
                        evidence.previous_key = Some(id.to_owned());
                    }
                }
            }
        }
    }
    let unexplained = user_keys.iter().any(|k| {
        Some(k.id.as_str()) != current.access_key_id()
            && Some(&k.id) != evidence.previous_key.as_ref()
    });
    if unexplained && !unknown {
        evidence.rotation_started = started.map(time);
    }
    let now = time(s.now);
    for id in keys::orphan_candidates(user_keys, current.access_key_id(), &evidence) {
        let key = key_of_id(&id).expect("a model key");
        let used = view::last_use(s, key).unwrap_or_default();
        let created = user_keys
            .iter()
            .find(|k| k.id == id)
            .map_or(now, |k| k.created);
        match keys::orphan_proof(created, used.at, now) {
            OrphanProof::NeverUsed => {
                evidence.never_used.insert(id);
            }
            OrphanProof::Used => {}
            OrphanProof::TooRecent { .. } => return Err("Transient.OrphanTooRecent"),
        }
    }
    Ok(evidence)
}
