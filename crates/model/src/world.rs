//! The model's world: what AWS holds (the keys, the secret's versions and tags, the binding), what
//! the actors hold (the consumers' keys, Secrets Manager's rotation, the invocations under way),
//! and the ground truth the properties judge by (every true use of a key, when the function
//! promoted a version). Times are whole seconds after the model's start.

use crate::calls::Invocation;
pub use crate::terms::*;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub id: u8,
    pub owner: Owner,
    pub active: bool,
    pub created: u32,
    /// IAM's record of its last use (GetAccessKeyLastUsed).
    pub reported: Option<u32>,
    /// Uses IAM has not reported yet, oldest first: each is reported within [`LAG`].
    pub unreported: Vec<u32>,
    /// Ground truth: since when it is Inactive, as far as anyone can tell (a reactivation no
    /// sweep recorded leaves no trace).
    pub inactive_since: Option<u32>,
    /// Made by a person, not by a rotation.
    pub by_hand: bool,
    /// Ground truth: when a person reactivated it while the sweep's record said it was Inactive
    /// (a reactivation the function can know of): it owes that key a whole idle time.
    pub reactivated: Option<u32>,
}

impl Key {
    /// The last use, reported or not.
    pub fn last_true_use(&self) -> Option<u32> {
        self.unreported.last().copied().or(self.reported)
    }

    /// The last use at or before `t`, reported or not.
    pub fn last_use_by(&self, t: u32) -> Option<u32> {
        let unreported = self.unreported.iter().rev().find(|u| **u <= t).copied();
        unreported.or(self.reported.filter(|r| *r <= t))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    pub id: u8,
    pub value: Value,
    pub labels: u8,
    pub created: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tags {
    pub bookkeeping: Option<Bookkeeping>,
    pub setting: Option<Setting>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Consumer {
    /// The key it signs with: what it read from AWSCURRENT (or the mirror), or was handed.
    pub holds: Option<u8>,
    /// It reads the mirror (§19), not the secret.
    pub via_mirror: bool,
}

/// The mirror (§19): one split-layout target the bound user names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Mirror {
    /// The key id it holds (`None`: nothing yet).
    pub holds: Option<u8>,
    /// It claims the secret (`iam-key-rotator:mirror-of`); a person may remove the claim.
    pub claims: bool,
}

/// Secrets Manager's rotation under way: its token (a version id) and the next step to invoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rotation {
    pub token: u8,
    pub next: usize,
}

/// What the properties judge by, beyond what AWS holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Truth {
    /// When the function last moved AWSCURRENT.
    pub promoted: u32,
    /// A key the sweep recorded as reactivated, and when.
    pub reactivated: Option<(u8, u32)>,
    /// A person wrote a value, moved a label, or changed a key of the secret's user by hand: the
    /// secret is no longer as the rotations left it.
    pub hand_edited: bool,
    /// The violations seen (the `always` properties), a bit each.
    pub violations: u32,
    /// The things that happened at least once (the `sometimes` properties), a bit each.
    pub seen: u32,
    /// Every key AWSCURRENT has held, a bit each (`properties::bit`).
    pub ever_current: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    pub now: u32,
    pub next_id: u8,
    pub keys: Vec<Key>,
    pub versions: Vec<Version>,
    pub last_rotated: Option<u32>,
    pub tags: Tags,
    /// The bound user's `iam-key-rotator:secret` tag names this secret.
    pub bound: bool,
    pub consumers: Vec<Consumer>,
    pub rotation: Option<Rotation>,
    /// A rotation step under way (Secrets Manager invokes one at a time).
    pub step: Option<Invocation>,
    /// A sweep's visit of the secret under way.
    pub sweep: Option<Invocation>,
    /// The mirror, in worlds that have one.
    pub mirror: Option<Mirror>,
    pub truth: Truth,
}

impl State {
    pub fn key(&self, id: u8) -> Option<&Key> {
        self.keys.iter().find(|k| k.id == id)
    }

    pub fn key_mut(&mut self, id: u8) -> Option<&mut Key> {
        self.keys.iter_mut().find(|k| k.id == id)
    }

    pub fn keys_of(&self, owner: Owner) -> impl Iterator<Item = &Key> {
        self.keys.iter().filter(move |k| k.owner == owner)
    }

    pub fn version(&self, id: u8) -> Option<&Version> {
        self.versions.iter().find(|v| v.id == id)
    }

    pub fn version_mut(&mut self, id: u8) -> Option<&mut Version> {
        self.versions.iter_mut().find(|v| v.id == id)
    }

    pub fn labelled(&self, label: u8) -> Option<&Version> {
        self.versions.iter().find(|v| v.labels & label != 0)
    }

    /// The key a labelled version holds.
    pub fn key_in(&self, label: u8) -> Option<u8> {
        match self.labelled(label)?.value {
            Value::Pair(_, key) => Some(key),
            _ => None,
        }
    }

    /// AWSPENDING on a version other than AWSCURRENT's: a rotation is under way.
    pub fn pending(&self) -> Option<&Version> {
        self.versions
            .iter()
            .find(|v| v.labels & PENDING != 0 && v.labels & CURRENT == 0)
    }

    pub fn fresh_id(&mut self) -> u8 {
        self.next_id += 1;
        self.next_id
    }

    /// Secrets Manager drops versions without a label (after a while; at once here, as the fake).
    pub fn drop_unlabelled(&mut self) {
        self.versions.retain(|v| v.labels != 0);
    }

    /// A use of `key` now, if it can authenticate: true use, reported within the lag.
    pub fn authenticate(&mut self, key: u8) -> bool {
        let now = self.now;
        match self.key_mut(key) {
            Some(k) if k.active => {
                if k.last_true_use() != Some(now) {
                    k.unreported.push(now);
                }
                true
            }
            _ => false,
        }
    }

    /// IAM reports every use of every key (a lag of 0 for them).
    pub fn report_all(&mut self, key: u8) {
        if let Some(k) = self.key_mut(key) {
            if let Some(last) = k.unreported.last().copied() {
                k.reported = Some(last);
                k.unreported.clear();
            }
        }
    }

    /// Time passes: uses older than the lag are reported by then.
    pub fn advance(&mut self, by: u32) {
        self.now += by;
        let due = self.now.saturating_sub(LAG);
        for key in &mut self.keys {
            if let Some(last_due) = key.unreported.iter().rev().find(|u| **u <= due).copied() {
                key.reported = Some(last_due);
                key.unreported.retain(|u| *u > due);
            }
        }
    }
}
