//! The fleet's `unstick --apply` (`crates/fleet/src/unstick.rs`), deciding with its own rules:
//! which keys an abandoned rotation made (`unstick::is_candidate`) and which are proven unused
//! (`keys::orphan_proof`), each read again just before its delete.

use std::collections::BTreeSet;

use iam_key_fleet::time::epoch_seconds;
use iam_key_fleet::unstick::{is_candidate, Repair, DEFAULT_MIN_AGE_SECONDS};
use iam_key_rotator::rotation::keys::{self, OrphanProof};

use crate::calls::{Call, Invocation, Job, Why};
use crate::view::{self, key_id, time};
use crate::world::{State, Value, CURRENT};

/// The rotation window the fleet assumes for a secret without a Duration: a day.
const WINDOW: u32 = DEFAULT_MIN_AGE_SECONDS as u32;

/// `unstick --apply` on the secret, when its AWSPENDING is old enough; `None` when it leaves the
/// secret alone.
pub fn unstick(s: &State) -> Option<Invocation> {
    let pending = s.pending()?;
    if s.now < pending.created + WINDOW {
        return None;
    }
    let held = held(s, pending.id)?;
    let user = match s.labelled(CURRENT)?.value {
        Value::Pair(owner, _) | Value::Bootstrap(owner) => owner,
        _ => return None,
    };
    let mut inv = Invocation::new(Job::Unstick, user, s.bound);
    inv.token = Some(pending.id);
    inv.since = Some(pending.created);
    inv.calls.push(Call::RemovePending(pending.id));
    let orphans: Vec<u8> = s
        .keys_of(user)
        .filter(|k| candidate(s, &held, pending.created, k.id) && proven(s, k.id))
        .map(|k| k.id)
        .collect();
    for key in orphans {
        inv.calls.push(Call::StillOrphan(key));
        inv.calls.push(Call::DeleteKey(key, Why::Orphan));
    }
    Some(inv)
}

/// The keys the labelled versions other than the pending one hold; `None` when one of them is
/// not a usable value (then nothing is deleted).
fn held(s: &State, pending: u8) -> Option<BTreeSet<String>> {
    let mut held = BTreeSet::new();
    for v in s
        .versions
        .iter()
        .filter(|v| v.labels != 0 && v.id != pending)
    {
        match view::parsed(v.value) {
            Some(Ok(value)) => held.extend(value.access_key_id().map(str::to_owned)),
            Some(Err(_)) => return None,
            None => {}
        }
    }
    Some(held)
}

fn repair(started: u32) -> Repair {
    Repair {
        pending_version: String::new(),
        started: epoch_seconds(time(started)),
        window: i64::from(WINDOW),
    }
}

fn candidate(s: &State, held: &BTreeSet<String>, started: u32, key: u8) -> bool {
    let Some(k) = s.key(key) else {
        return false;
    };
    let created = epoch_seconds(time(k.created));
    is_candidate(&key_id(key), created, held, &repair(started))
}

fn proven(s: &State, key: u8) -> bool {
    let (Some(k), Some(used)) = (s.key(key), view::last_use(s, key)) else {
        return false;
    };
    keys::orphan_proof(time(k.created), used.at, time(s.now)) == OrphanProof::NeverUsed
}

/// The re-read before a delete: still the user's, still a candidate, still proven unused.
pub fn still_an_orphan(s: &State, inv: &Invocation, key: u8) -> bool {
    let (Some(pending), Some(started)) = (inv.token, inv.since) else {
        return false;
    };
    let Some(held) = held(s, pending) else {
        return false;
    };
    let owned = s.key(key).is_some_and(|k| k.owner == inv.user);
    owned && candidate(s, &held, started, key) && proven(s, key)
}
