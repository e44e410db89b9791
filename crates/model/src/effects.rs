//! Applying an invocation's next call to the world. Applying records what the properties judge:
//! who did what to which key, and what was true then.

use iam_key_rotator::Config;

use crate::calls::{Answer, Call, EventKind, Invocation, Why};
use crate::properties;
use crate::world::{Bookkeeping, State, TagDate, Value, CURRENT, PENDING, PREVIOUS};

/// Makes the invocation's next call on `s`. A call that fails ends the invocation with its error
/// (and, for createSecret's put, its rollback first).
pub fn apply(s: &mut State, inv: &mut Invocation, config: &Config) {
    let call = inv.calls[inv.done];
    inv.done += 1;
    match call {
        Call::Event(kind) => {
            if kind == EventKind::StillInUse {
                inv.alarmed = true;
                s.truth.seen |= properties::SEEN_ALARM;
            }
        }
        Call::DeleteKey(key, why) => {
            properties::judge_retirement(s, inv, config, (key, why), true);
            s.keys.retain(|k| k.id != key);
        }
        Call::Deactivate(key, why) => {
            properties::judge_retirement(s, inv, config, (key, why), false);
            inv.deactivated = Some(key);
            let now = s.now;
            if let Some(k) = s.key_mut(key) {
                k.active = false;
                k.inactive_since.get_or_insert(now);
            }
        }
        Call::CreateKey => create_key(s, inv),
        Call::PutPending => put_pending(s, inv),
        Call::MoveCurrent { to, from } => move_current(s, inv, to, from),
        Call::Tag(b) => tag(s, b),
        Call::Untag => s.tags.bookkeeping = None,
        Call::Recheck { previous, current } => {
            let same = s.labelled(PREVIOUS).map(|v| v.id) == Some(previous)
                && s.labelled(CURRENT).map(|v| v.id) == Some(current);
            let made = s.pending().is_some_and(|v| v.value != Value::Empty);
            if !same || made {
                cut(inv);
            }
        }
        Call::StillInactive(key) => match s.key(key) {
            Some(k) if !k.active => properties::judge_quarantine(s, config, key),
            _ => cut(inv),
        },
        Call::Reread { key, was_active } => {
            let active = s.key(key).is_some_and(|k| k.active);
            if (!was_active && active) || retagged(s, inv, key) {
                stop(inv, "Transient.PreviousKeyChanged");
            } else if !was_active && s.key(key).is_some() {
                properties::judge_quarantine(s, config, key);
            } else if was_active {
                properties::judge_idle(s, config, key);
            }
        }
        Call::Authenticate(key) => {
            s.authenticate(key);
        }
        Call::RemovePending(version) => {
            if let Some(v) = s.version_mut(version) {
                v.labels &= !PENDING;
            }
        }
        Call::MirrorPass { .. }
        | Call::ProveMirrorKey(_)
        | Call::MirrorCheck { .. }
        | Call::WriteMirror(_)
        | Call::MirrorAfter { .. }
        | Call::MirrorGate => {
            crate::mirror::apply(s, inv, call);
        }
        Call::StillOrphan(key) => {
            if !crate::fleet::still_an_orphan(s, inv, key) {
                // Only this key is left; the next one is judged by its own re-read.
                if let Some(Call::DeleteKey(..)) = inv.calls.get(inv.done) {
                    inv.calls.remove(inv.done);
                }
            }
        }
    }
}

/// TagResource of the bookkeeping tag by the function.
fn tag(s: &mut State, b: Bookkeeping) {
    if b.reactivated {
        if let TagDate::At(at) = b.date {
            s.truth.reactivated = Some((b.key, at));
        }
        // Ground truth: the reactivation is on record; a later deactivation starts a new
        // quarantine.
        if let Some(k) = s.key_mut(b.key).filter(|k| k.active) {
            k.inactive_since = None;
        }
    }
    s.tags.bookkeeping = Some(b);
}

fn create_key(s: &mut State, inv: &mut Invocation) {
    if s.keys_of(inv.user).count() >= 2 {
        // A key a person made by hand during the rotation is theirs to explain (the exception).
        if s.keys_of(inv.user).all(|k| !k.by_hand) {
            s.truth.violations |= properties::LIMIT_EXCEEDED;
        }
        stop(inv, "Permanent.Aws.LimitExceeded");
        return;
    }
    properties::judge_key_change(s, inv, None);
    // createSecret waits for the next second before it creates (keys::wait_before_creating).
    s.advance(1);
    let id = s.fresh_id();
    s.keys.push(crate::world::Key {
        id,
        owner: inv.user,
        active: true,
        created: s.now,
        reported: None,
        unreported: Vec::new(),
        inactive_since: None,
        by_hand: false,
        reactivated: None,
    });
    inv.made = Some(id);
}

/// PutSecretValue of the made key into the token's version: refused when that version holds
/// another value (then the rollback deletes the made key, §6 rule 5).
fn put_pending(s: &mut State, inv: &mut Invocation) {
    let (Some(token), Some(made)) = (inv.token, inv.made) else {
        return;
    };
    let stored = Value::Pair(inv.user, made);
    let version = s.version_mut(token);
    match version {
        Some(v) if v.value == Value::Empty || v.value == stored => v.value = stored,
        None => {
            // The version is gone: the put makes it again, labelled AWSPENDING.
            for v in &mut s.versions {
                v.labels &= !PENDING;
            }
            let now = s.now;
            s.versions.push(crate::world::Version {
                id: token,
                value: stored,
                labels: PENDING,
                created: now,
            });
        }
        Some(_) => {
            inv.calls.truncate(inv.done);
            inv.calls.push(Call::DeleteKey(made, Why::Rollback));
            inv.answer = Answer::Err("Permanent.Aws.ResourceExistsException");
        }
    }
}

/// UpdateSecretVersionStage: refused when AWSCURRENT is no longer on `from`.
fn move_current(s: &mut State, inv: &mut Invocation, to: u8, from: Option<u8>) {
    let actual = s.labelled(CURRENT).map(|v| v.id);
    if actual == Some(to) {
        return;
    }
    if actual != from || s.version(to).is_none() {
        stop(inv, "Permanent.Aws.InvalidParameterException");
        return;
    }
    properties::judge_promotion(s, to);
    for v in &mut s.versions {
        if Some(v.id) == from {
            v.labels = (v.labels & !CURRENT) | PREVIOUS;
        } else if v.id == to {
            v.labels = (v.labels & !PREVIOUS) | CURRENT;
        } else {
            v.labels &= !PREVIOUS;
        }
    }
    s.drop_unlabelled();
    s.truth.promoted = s.now;
}

/// createSecret's re-read: the bookkeeping tag of `key` is not what it decided with.
fn retagged(s: &State, inv: &Invocation, key: u8) -> bool {
    let of = |b: Option<Bookkeeping>| b.filter(|b| b.key == key);
    of(s.tags.bookkeeping) != of(inv.bookkeeping)
}

/// A re-read found the secret changed: the visit ends, having changed nothing more.
fn cut(inv: &mut Invocation) {
    inv.calls.truncate(inv.done);
    inv.cut = true;
}

fn stop(inv: &mut Invocation, error: &'static str) {
    inv.calls.truncate(inv.done);
    inv.answer = Answer::Err(error);
}
