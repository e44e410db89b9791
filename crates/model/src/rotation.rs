//! The four steps' decisions, in the order the function reads and decides (`rotation/*.rs`),
//! each rule the crate's own function: the calls they come to are made one model action at a
//! time (`effects.rs`). Error names are the function's `error_type`s.

use iam_key_rotator::aws::KeyStatus;
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::overrides;
use iam_key_rotator::rotation::keys::{self, PreviousKeyStep};
use iam_key_rotator::Config;

use crate::calls::{Call, EventKind, Invocation, Job, Why};
use crate::create_secret;
use crate::reads::{hand_edit, require_binding, user_of, value, Decided};
use crate::view::{self, key_of_id};
use crate::world::{Owner, State, CURRENT, PENDING, PREVIOUS};

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
        CREATE => create_secret::create_secret(s, config, token, &mut inv),
        SET => set_secret(s),
        TEST => test_secret(s).map(|key| inv.calls.extend(key.map(Call::Authenticate))),
        _ => finish_secret(s, config, token, already_current, &mut inv),
    };
    match decided {
        Ok(()) => inv,
        Err(error) => inv.failing(error),
    }
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
    // §19: the mirror gets the new key once it is AWSCURRENT, before the previous key's action.
    if s.mirror.is_some() {
        if let Some(key) = new_value.access_key_id().and_then(key_of_id) {
            inv.calls
                .extend([crate::mirror::pass(token, key, 0), Call::MirrorGate]);
        }
    }
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
