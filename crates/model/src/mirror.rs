//! A mirror of the secret (contract §19) in the model: one target in the split layout (the key id
//! alone), named by the bound user, claiming the secret unless a person removed the claim. Its
//! pass is the code's: the target agreed ([`mirror::agreed`]) and planned ([`mirror::plan`]) by
//! the crate's own functions, AWSCURRENT read again before the write and after it, the pass
//! started over (at most three) when it moved; a gate then decides what the invocation may still
//! do to the previous key.

use std::collections::BTreeMap;

use iam_key_rotator::mirror::{
    self, Action as Planned, KeyPair, MirrorFormat, Named, Observed, TargetFacts, TargetKind,
    FORMAT_TAG, MIRROR_OF_TAG,
};
use iam_key_rotator::sensitive::Sensitive;

use crate::calls::{Call, Invocation, Job, Why};
use crate::properties;
use crate::view::{self, key_id};
use crate::world::{Owner, State, Value, CURRENT};

pub const MIRROR_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:app1/production/aws_access_key_id-AbCdEf";

/// How many passes over the mirror an invocation makes when AWSCURRENT keeps moving.
const PASSES: u8 = 3;

/// The pass over the mirror for the key AWSCURRENT holds now, and the gate after it: for a step
/// (finishSecret, createSecret before it deletes a previous key) and for the sweep's visit.
pub fn pass_now(s: &State) -> Option<[Call; 2]> {
    s.mirror.as_ref()?;
    let current = s.labelled(CURRENT)?;
    let Value::Pair(Owner::Bound, key) = current.value else {
        return None;
    };
    Some([pass(current.id, key, 0), Call::MirrorGate])
}

/// The pass for the key `key` of AWSCURRENT's version `version`.
pub fn pass(version: u8, key: u8, restarts: u8) -> Call {
    Call::MirrorPass {
        version,
        key,
        restarts,
    }
}

/// Applies a mirror call (any other call is left to `effects.rs`).
pub fn apply(s: &mut State, inv: &mut Invocation, call: Call) {
    match call {
        Call::MirrorPass {
            version,
            key,
            restarts,
        } => plan(s, inv, (version, key, restarts)),
        // A key gone, Inactive or another user's does not prove itself: nothing is written.
        Call::ProveMirrorKey(key) if !proves(s, key) => {
            inv.mirror.behind = true;
            inv.calls.drain(inv.done..inv.done + 3);
        }
        Call::ProveMirrorKey(key) => {
            s.authenticate(key);
        }
        // Nothing is written once AWSCURRENT moved: the write and the check after it go.
        Call::MirrorCheck { version, restarts } if moved_from(s, version) => {
            inv.calls.drain(inv.done..inv.done + 2);
            moved(s, inv, restarts);
        }
        Call::WriteMirror(key) => {
            if s.truth.ever_current & properties::bit(key) == 0 {
                s.truth.violations |= properties::MIRROR_NOT_CURRENT;
            }
            if let Some(m) = &mut s.mirror {
                m.holds = Some(key);
            }
            inv.mirror.wrote = true;
            s.truth.seen |= properties::SEEN_MIRROR;
        }
        Call::MirrorAfter { version, restarts } if moved_from(s, version) => {
            moved(s, inv, restarts);
        }
        Call::MirrorGate => gate(inv),
        _ => {}
    }
}

/// The pass itself: nothing for an unbound user (it names no mirror); the key must be an Active
/// key of the user (the code lists it and proves it with STS); then the crate decides.
fn plan(s: &State, inv: &mut Invocation, (version, key, restarts): (u8, u8, u8)) {
    let Some(mirror) = s.mirror else {
        return;
    };
    if !s.bound {
        return;
    }
    // The user's keys must list it, else every mirror is refused.
    if s.key(key).is_none_or(|k| k.owner != Owner::Bound) {
        inv.mirror.behind = true;
        return;
    }
    let named = Named {
        n: 1,
        arn: MIRROR_ARN.into(),
        kind: TargetKind::Secret,
        name: MIRROR_ARN.into(),
        kms_key: None,
    };
    let mut tags = BTreeMap::from([(FORMAT_TAG.to_owned(), "access-key-id".to_owned())]);
    if mirror.claims {
        tags.insert(MIRROR_OF_TAG.into(), view::SECRET_ARN.into());
    }
    let facts = TargetFacts {
        exists: true,
        tags,
        ..TargetFacts::default()
    };
    let held = mirror.holds.map(|k| Sensitive::new(key_id(k)));
    let read = mirror::agreed(&named, view::SECRET_ARN, &facts)
        .map(|format: MirrorFormat| (format, held.as_ref()));
    let observed = [Observed {
        arn: MIRROR_ARN,
        read,
    }];
    let (id, secret) = (key_id(key), Sensitive::new(format!("secret-of-{key}")));
    let current = KeyPair {
        id: &id,
        secret: &secret,
    };
    match mirror::plan(&observed, &current, None).remove(0) {
        Planned::Holds { .. } => {}
        Planned::Refused(_) => inv.mirror.behind = true,
        Planned::Write { .. } => {
            let at = inv.done;
            let calls = [
                Call::ProveMirrorKey(key),
                Call::MirrorCheck { version, restarts },
                Call::WriteMirror(key),
                Call::MirrorAfter { version, restarts },
            ];
            inv.calls.splice(at..at, calls);
        }
    }
}

/// Whether `key` authenticates as the bound user.
fn proves(s: &State, key: u8) -> bool {
    s.key(key)
        .is_some_and(|k| k.active && k.owner == Owner::Bound)
}

/// AWSCURRENT is no longer on `version`.
fn moved_from(s: &State, version: u8) -> bool {
    s.labelled(CURRENT).map(|v| v.id) != Some(version)
}

/// AWSCURRENT moved during the pass: it starts over with what AWSCURRENT holds now.
fn moved(s: &State, inv: &mut Invocation, restarts: u8) {
    inv.mirror.moved = true;
    if restarts + 1 >= PASSES {
        return;
    }
    if let Some(current) = s.labelled(CURRENT) {
        if let Value::Pair(Owner::Bound, key) = current.value {
            inv.calls
                .insert(inv.done, pass(current.id, key, restarts + 1));
        }
    }
}

/// What the invocation may still do to the previous key. A step: nothing when a mirror was not
/// written or AWSCURRENT moved (finishSecret and createSecret answer `MirrorNotWritten`), nor, for
/// createSecret, when it wrote the mirror only now. The sweep: no idle deactivation and no delete
/// unless every mirror held the current key already (an enforced deadline and the alarm go on).
fn gate(inv: &mut Invocation) {
    let state = inv.mirror;
    let held = !state.behind && !state.moved;
    let rest = &inv.calls[inv.done..];
    match inv.job {
        Job::Step(_) => {
            let deletes_previous = rest
                .iter()
                .any(|c| matches!(c, Call::DeleteKey(_, Why::Previous | Why::PreviousInactive)));
            if !held || (deletes_previous && state.wrote) {
                inv.calls.truncate(inv.done);
                inv.answer = crate::calls::Answer::Err("Transient.MirrorNotWritten");
            }
        }
        Job::Sweep => {
            let retires = rest.iter().any(|c| {
                matches!(
                    c,
                    Call::Deactivate(_, Why::Idle) | Call::DeleteKey(_, Why::Quarantine)
                )
            });
            if retires && (!held || state.wrote) {
                inv.calls.truncate(inv.done);
                inv.cut = true;
            }
        }
        Job::Unstick => {}
    }
}
