//! The four steps' decisions, in the order the function reads and decides (`rotation/*.rs`),
//! each rule the crate's own function: the calls they come to are made one model action at a
//! time (`effects.rs`). Error names are the function's `error_type`s.

use std::collections::HashSet;

use iam_key_rotator::aws::KeyStatus;
use iam_key_rotator::binding::{self, Binding};
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::holder::Holder;
use iam_key_rotator::overrides;
use iam_key_rotator::retire::decide::{self, Facts, KeepPrevious, Settings};
use iam_key_rotator::rotation::keys::{self, DeleteReason, Evidence, OrphanProof, PreviousKeyStep};
use iam_key_rotator::secret_value::SecretValue;
use iam_key_rotator::Config;

use crate::effects::{Call, EventKind, Invocation, Job, Why};
use crate::view::{self, key_of_id, time};
use crate::world::{Owner, State, Value, CURRENT, PENDING, PREVIOUS};

pub const CREATE: usize = 0;
pub const SET: usize = 1;
pub const TEST: usize = 2;
pub const FINISH: usize = 3;

/// Secrets Manager invokes `step` of the rotation `token`: the checks every step starts with
/// (§5), the ignored-tag events, then the step's decision.
pub fn decide(s: &State, config: &Config, step: usize, token: u8) -> Invocation {
    let mut inv = Invocation::new(Job::Step(step), Owner::Bound, s.bound);
    inv.token = Some(token);
    inv.bookkeeping = s.tags.bookkeeping;
    let Some(version) = s.version(token) else {
        return inv.failing("Permanent.VersionNotFound");
    };
    let already_current = version.labels & CURRENT != 0;
    if !already_current && version.labels & PENDING == 0 {
        return inv.failing("Permanent.VersionNotPending");
    }
    let (_, ignored) = overrides::effective(config, &view::secret_tags(s));
    if step == CREATE && !already_current {
        inv.calls
            .extend(ignored.iter().map(|_| Call::Event(EventKind::TagIgnored)));
    }
    if already_current && step != FINISH {
        return inv;
    }
    let decided = match step {
        CREATE => create_secret(s, config, token, &mut inv),
        SET => set_secret(s),
        TEST => test_secret(s).map(|key| inv.calls.extend(key.map(Call::Authenticate))),
        _ => finish_secret(s, config, token, already_current, &mut inv),
    };
    match decided {
        Ok(()) => inv,
        Err(error) => inv.failing(error),
    }
}

type Decided = Result<(), &'static str>;

fn value(s: &State, label: u8) -> Option<Result<SecretValue, String>> {
    view::parsed(s.labelled(label)?.value)
}

fn user_of(value: &SecretValue) -> Result<Owner, &'static str> {
    let holder = Holder::of(value, None, view::SECRET_NAME, view::SECRET_ARN);
    let holder = holder.map_err(|_| "Permanent.NoUserName")?;
    Ok(Owner::of_name(&holder.user).unwrap_or(Owner::Other))
}

/// §15: the user's tag names this secret.
fn require_binding(s: &State, user: Owner) -> Decided {
    let tags = view::user_tags(s, user);
    match binding::binding_of(&tags, view::SECRET_ARN) {
        Binding::Bound => Ok(()),
        _ => Err("Permanent.UserNotBound"),
    }
}

/// refuse_a_hand_edit (§9): AWSCURRENT written after the rotation started, or the token's version
/// once current. Returns (started, current's CreatedDate).
fn hand_edit(s: &State, token: u8) -> Result<Option<(u32, u32)>, &'static str> {
    let edited = "Permanent.CurrentWrittenDuringRotation";
    let version = s.version(token).ok_or(edited)?;
    if version.labels & !PENDING != 0 {
        return Err(edited);
    }
    let Some(current) = s.labelled(CURRENT) else {
        return Ok(None);
    };
    if current.created <= version.created {
        Ok(Some((version.created, current.created)))
    } else {
        Err(edited)
    }
}

fn create_secret(s: &State, config: &Config, token: u8, inv: &mut Invocation) -> Decided {
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
        let settings = Settings::new(config, &settings);
        let now = time(s.now);
        let promoted = dates.map_or(now, |d| {
            decide::promotion(s.last_rotated.map(time), time(d.1))
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
    }
    for (id, why) in &plan.delete {
        let active = user_keys
            .iter()
            .any(|k| k.id == *id && k.status == KeyStatus::Active);
        let key = key_of_id(id).expect("a model key");
        let why = match why {
            DeleteReason::Previous if active => Why::Previous,
            DeleteReason::Previous => Why::PreviousInactive,
            DeleteReason::Orphan => Why::Orphan,
        };
        if !active {
            inv.calls.push(Call::StillInactive(key));
        }
        inv.calls.push(Call::DeleteKey(key, why));
    }
    inv.calls.extend([Call::CreateKey, Call::PutPending]);
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

fn set_secret(s: &State) -> Decided {
    let pending = match value(s, PENDING) {
        None => return Err("Permanent.MissingValue"),
        Some(Err(_)) => return Err("Permanent.InvalidSecretValue"),
        Some(Ok(v)) => v,
    };
    let current = match value(s, CURRENT) {
        None => return Err("Permanent.MissingValue"),
        Some(Err(_)) => return Err("Permanent.InvalidSecretValue"),
        Some(Ok(v)) => v,
    };
    let current_user = user_of(&current)?;
    if user_of(&pending)? != current_user {
        return Err("Permanent.UserMismatch");
    }
    let id = pending
        .access_key_id()
        .ok_or("Permanent.InvalidSecretValue")?;
    let keys = view::access_keys(s, current_user);
    match keys.iter().find(|k| k.id == id) {
        Some(k) if k.status == KeyStatus::Active => Ok(()),
        _ => Err("Permanent.PendingKeyNotUsable"),
    }
}

/// testSecret: the pending key (or the current one, for a test-only rotation) authenticates as
/// its user; the key it signed with, whose use IAM records.
fn test_secret(s: &State) -> Result<Option<u8>, &'static str> {
    let (value, pending) = match value(s, PENDING) {
        Some(v) => (v, true),
        None => (value(s, CURRENT).ok_or("Permanent.MissingValue")?, false),
    };
    let value = value.map_err(|_| "Permanent.InvalidSecretValue")?;
    let user = user_of(&value)?;
    let Some(id) = value.access_key_id() else {
        return if pending {
            Err("Permanent.InvalidSecretValue")
        } else {
            Ok(None)
        };
    };
    // STS answers as the key's owner; a key gone or Inactive is rejected until the deadline.
    match key_of_id(id).and_then(|k| s.key(k)) {
        Some(k) if k.active && k.owner == user => Ok(Some(k.id)),
        Some(k) if k.active => Err("Permanent.IdentityMismatch"),
        _ => Err("Transient.KeyNotPropagated"),
    }
}

fn finish_secret(
    s: &State,
    config: &Config,
    token: u8,
    already_current: bool,
    inv: &mut Invocation,
) -> Decided {
    let (settings, _) = overrides::effective(config, &view::secret_tags(s));
    let action = settings.action;
    let new_value = match s.version(token).and_then(|v| view::parsed(v.value)) {
        None => return Err("Permanent.MissingValue"),
        Some(Err(_)) => return Err("Permanent.InvalidSecretValue"),
        Some(Ok(v)) => v,
    };
    let user = user_of(&new_value)?;
    inv.user = user;
    let acting = !matches!(action, PreviousKeyAction::Keep | PreviousKeyAction::Retire);
    if acting {
        require_binding(s, user)?;
    }
    let previous_version = if already_current {
        s.labelled(PREVIOUS).map(|v| v.id)
    } else {
        hand_edit(s, token)?;
        let old = s.labelled(CURRENT).map(|v| v.id);
        inv.calls.push(Call::MoveCurrent {
            to: token,
            from: old,
        });
        inv.calls.push(Call::Event(EventKind::Rotated));
        old
    };
    if !acting {
        return Ok(());
    }
    let Some(previous) = previous_version.and_then(|v| s.version(v)) else {
        return Ok(());
    };
    let Some(Ok(previous)) = view::parsed(previous.value) else {
        return Ok(());
    };
    let Some(previous_key) = previous.access_key_id() else {
        return Ok(());
    };
    if user_of(&previous) != Ok(user) {
        return Ok(());
    }
    let key = key_of_id(previous_key).expect("a model key");
    match keys::previous_key_step(action, previous_key, new_value.access_key_id()) {
        PreviousKeyStep::Deactivate(_) => inv.calls.push(Call::Deactivate(key, Why::Action)),
        PreviousKeyStep::Delete(_) => inv.calls.push(Call::DeleteKey(key, Why::Action)),
        PreviousKeyStep::LeaveAlone(_) => {}
    }
    Ok(())
}
