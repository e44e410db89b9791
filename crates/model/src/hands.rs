//! What people do by hand, and what the other actors do: Secrets Manager starting a rotation,
//! consumers using and re-reading keys, IAM reporting uses, time passing.

use crate::world::{
    Bookkeeping, Key, Owner, Setting, State, TagDate, Value, Version, CURRENT, PENDING, PREVIOUS,
};

/// A person's action, with what it acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hand {
    Deactivate(u8),
    Reactivate(u8),
    Delete(u8),
    /// A key made by hand for the bound user, handed to the second consumer.
    CreateForConsumer,
    /// put-secret-value: a new AWSCURRENT version.
    Put(Value),
    TagBookkeeping(Bookkeeping),
    TagSetting(Setting),
    /// The binding tag removed from the bound user.
    Unbind,
    /// The mirror written by hand (another user's key: a person's mistake).
    WriteMirror,
    /// The mirror's claim (`iam-key-rotator:mirror-of`) removed, or put back.
    Claim(bool),
}

/// The kinds of hand a world lets people use; [`hands`] makes them concrete for a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandKind {
    DeactivatePrevious,
    ReactivatePrevious,
    DeletePrevious,
    CreateForConsumer,
    PutOthersKey,
    PutSwapped,
    TagFutureReactivation,
    TagFutureInactive,
    TagPastInactive,
    TagUnknownSetting,
    TagHarsherSetting,
    Unbind,
    WriteMirror,
    ToggleClaim,
}

/// The concrete hands of `kinds` in `s`.
pub fn hands(s: &State, kinds: &[HandKind], out: &mut Vec<Hand>) {
    let previous = s.key_in(PREVIOUS).filter(|k| s.key(*k).is_some());
    let tag = |reactivated, date| {
        previous.map(|key| {
            Hand::TagBookkeeping(Bookkeeping {
                key,
                reactivated,
                date,
            })
        })
    };
    for kind in kinds {
        let hand = match kind {
            HandKind::DeactivatePrevious => previous
                .filter(|k| s.key(*k).is_some_and(|k| k.active))
                .map(Hand::Deactivate),
            HandKind::ReactivatePrevious => previous
                .filter(|k| s.key(*k).is_some_and(|k| !k.active))
                .map(Hand::Reactivate),
            HandKind::DeletePrevious => previous.map(Hand::Delete),
            HandKind::CreateForConsumer => (s.keys_of(Owner::Bound).count() < 2
                && s.consumers.get(1).is_some_and(|c| c.holds.is_none()))
            .then_some(Hand::CreateForConsumer),
            HandKind::PutOthersKey => s
                .keys_of(Owner::Other)
                .next()
                .map(|k| Hand::Put(Value::Pair(Owner::Other, k.id))),
            HandKind::PutSwapped => s
                .key_in(CURRENT)
                .map(|k| Hand::Put(Value::Swapped(Owner::Bound, k))),
            HandKind::TagFutureReactivation => tag(true, TagDate::FarFuture),
            HandKind::TagFutureInactive => tag(false, TagDate::FarFuture),
            HandKind::TagPastInactive => tag(false, TagDate::FarPast),
            HandKind::TagUnknownSetting => Some(Hand::TagSetting(Setting::Unknown)),
            HandKind::TagHarsherSetting => Some(Hand::TagSetting(Setting::Harsher)),
            HandKind::Unbind => s.bound.then_some(Hand::Unbind),
            HandKind::WriteMirror => s.mirror.map(|_| Hand::WriteMirror),
            HandKind::ToggleClaim => s.mirror.map(|m| Hand::Claim(!m.claims)),
        };
        out.extend(hand.filter(|h| changes(s, *h)));
    }
}

/// A hand that would leave the state as it is is no action.
fn changes(s: &State, hand: Hand) -> bool {
    match hand {
        Hand::TagBookkeeping(b) => s.tags.bookkeeping != Some(b),
        Hand::TagSetting(t) => s.tags.setting != Some(t),
        Hand::Put(v) => s.labelled(CURRENT).map(|c| c.value) != Some(v),
        Hand::WriteMirror => s.mirror.is_some_and(|m| m.holds != Some(OTHERS_KEY)),
        _ => true,
    }
}

pub fn apply(s: &mut State, hand: Hand) {
    let now = s.now;
    match hand {
        Hand::Deactivate(key) => {
            if let Some(k) = s.key_mut(key) {
                k.active = false;
                k.inactive_since.get_or_insert(now);
            }
        }
        // Until a sweep records it, a reactivation leaves no trace (IAM keeps no history): a key
        // deactivated again before that is Inactive since it first was.
        Hand::Reactivate(key) => {
            let recorded = s.tags.bookkeeping.is_some_and(|b| {
                b.key == key && !b.reactivated && matches!(b.date, TagDate::At(_))
            });
            if let Some(k) = s.key_mut(key) {
                k.active = true;
                if recorded {
                    k.reactivated = Some(now);
                }
            }
        }
        Hand::Delete(key) => {
            s.keys.retain(|k| k.id != key);
            s.truth.hand_edited = true;
        }
        Hand::CreateForConsumer => {
            s.advance(1);
            let id = s.fresh_id();
            let mut key = new_key(id, Owner::Bound, s.now);
            key.by_hand = true;
            s.keys.push(key);
            s.consumers[1].holds = Some(id);
        }
        Hand::Put(value) => {
            put_current(s, value);
            s.truth.hand_edited = true;
        }
        // The tag is the only record of a reactivation: whoever overwrites it erases it, and the
        // enforced deadline counts from the promotion again (the exception, docs/rotation.md).
        Hand::TagBookkeeping(b) => {
            s.tags.bookkeeping = Some(b);
            s.truth.reactivated = None;
            s.keys.iter_mut().for_each(|k| k.reactivated = None);
        }
        Hand::TagSetting(t) => s.tags.setting = Some(t),
        Hand::Unbind => s.bound = false,
        Hand::WriteMirror => {
            if let Some(m) = &mut s.mirror {
                m.holds = Some(OTHERS_KEY);
            }
        }
        Hand::Claim(claims) => {
            if let Some(m) = &mut s.mirror {
                m.claims = claims;
            }
        }
    }
}

/// The key of the other user, in every world (`Lifecycle::initial`).
pub const OTHERS_KEY: u8 = 9;

pub fn new_key(id: u8, owner: Owner, created: u32) -> Key {
    Key {
        id,
        owner,
        active: true,
        created,
        reported: None,
        unreported: Vec::new(),
        inactive_since: None,
        by_hand: false,
        reactivated: None,
    }
}

/// PutSecretValue without stages: the new version takes AWSCURRENT, the old current becomes
/// AWSPREVIOUS, AWSPENDING stays where it is.
fn put_current(s: &mut State, value: Value) {
    let id = s.fresh_id();
    for v in &mut s.versions {
        v.labels &= !PREVIOUS;
        if v.labels & CURRENT != 0 {
            v.labels = (v.labels & !CURRENT) | PREVIOUS;
        }
    }
    let created = s.now;
    s.versions.push(Version {
        id,
        value,
        labels: CURRENT,
        created,
    });
    s.drop_unlabelled();
}

/// RotateSecret: refused while a rotation is under way; else the empty AWSPENDING placeholder.
pub fn rotate_secret(s: &mut State) -> bool {
    if s.pending().is_some() || s.rotation.is_some() {
        return false;
    }
    let id = s.fresh_id();
    for v in &mut s.versions {
        v.labels &= !PENDING;
    }
    let created = s.now;
    s.versions.push(Version {
        id,
        value: Value::Empty,
        labels: PENDING,
        created,
    });
    s.rotation = Some(crate::world::Rotation { token: id, next: 0 });
    true
}

/// After finishSecret succeeds, Secrets Manager removes AWSPENDING itself and dates the rotation.
pub fn complete_rotation(s: &mut State, token: u8) {
    if let Some(v) = s.version_mut(token) {
        v.labels &= !PENDING;
    }
    s.last_rotated = Some(s.now);
    s.drop_unlabelled();
    s.rotation = None;
}
