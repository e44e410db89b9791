//! An invocation under way (a rotation step, or a sweep's visit) as the calls it makes after its
//! decision, one model action each, so that anything may happen between two of them. Reads the
//! code makes again before acting (the sweep's re-checks) are calls here too. Applying a call
//! records what the properties judge: who did what to which key, and what was true then.

use iam_key_rotator::Config;

use crate::properties::{self as p, Judge};
use crate::world::{Bookkeeping, Owner, State, TagDate, Value, CURRENT, PENDING, PREVIOUS};

/// Which invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Job {
    Step(usize),
    Sweep,
    /// The fleet's `unstick --apply`.
    Unstick,
}

/// Why a key is deleted or deactivated: what the properties hold it to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Why {
    /// createSecret makes room: the AWSPREVIOUS key, Active (idle) when it decided.
    Previous,
    /// createSecret makes room: the AWSPREVIOUS key, Inactive (its quarantine over) when it
    /// decided.
    PreviousInactive,
    /// createSecret makes room: an orphan of this rotation.
    Orphan,
    /// createSecret's rollback of the key it just made.
    Rollback,
    /// finishSecret's PREVIOUS_KEY_ACTION.
    Action,
    /// The sweep: idle.
    Idle,
    /// The sweep: an enforced deadline.
    Deadline,
    /// The sweep: the quarantine is over.
    Quarantine,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    TagIgnored,
    Rotated,
    Deactivated,
    Deleted,
    StillInUse,
}

/// One call after the decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    Event(EventKind),
    DeleteKey(u8, Why),
    Deactivate(u8, Why),
    CreateKey,
    PutPending,
    MoveCurrent {
        to: u8,
        from: Option<u8>,
    },
    Tag(Bookkeeping),
    Untag,
    /// The sweep reads the secret again: its labels where they were, and no rotation has made its
    /// key since (the pending version's value).
    Recheck {
        previous: u8,
        current: u8,
    },
    /// The keys listed again before a delete: still Inactive (the sweep, and createSecret for a
    /// key it decided on Inactive).
    StillInactive(u8),
    /// testSecret signs GetCallerIdentity with the key: IAM records a use.
    Authenticate(u8),
    /// The fleet's unstick takes AWSPENDING off the version.
    RemovePending(u8),
    /// The fleet's unstick reads the key again before deleting it: still an orphan, still unused.
    StillOrphan(u8),
}

impl Call {
    /// Whether the call changes AWS (what a crash's position counts), or only reads.
    pub fn changes(self) -> bool {
        !matches!(
            self,
            Call::Recheck { .. }
                | Call::StillInactive(_)
                | Call::Authenticate(_)
                | Call::StillOrphan(_)
        )
    }
}

/// What the invocation answers once its calls are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Answer {
    Ok,
    /// The step fails with this error name (`Transient.PreviousKeyInUse`...).
    Err(&'static str),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Invocation {
    pub job: Job,
    pub calls: Vec<Call>,
    pub done: usize,
    pub answer: Answer,
    /// The user the decision acts for, and whether it was bound when decided.
    pub user: Owner,
    pub bound_when_decided: bool,
    /// The key CreateAccessKey made.
    pub made: Option<u8>,
    /// The rotation's token (for the fleet's unstick: the abandoned rotation's).
    pub token: Option<u8>,
    /// The fleet's unstick: when the abandoned rotation started.
    pub since: Option<u32>,
    /// The sweep's visit: what the witness properties check when it ends.
    pub judge: Option<Judge>,
    pub alarmed: bool,
    /// A re-read found the secret changed, and the visit ended there.
    pub cut: bool,
    /// The key the invocation deactivated.
    pub deactivated: Option<u8>,
    /// The bookkeeping tag when it decided.
    pub bookkeeping: Option<Bookkeeping>,
}

impl Invocation {
    pub fn new(job: Job, user: Owner, bound: bool) -> Self {
        Invocation {
            job,
            calls: Vec::new(),
            done: 0,
            answer: Answer::Ok,
            user,
            bound_when_decided: bound,
            made: None,
            token: None,
            since: None,
            judge: None,
            alarmed: false,
            cut: false,
            deactivated: None,
            bookkeeping: None,
        }
    }

    pub fn failing(mut self, error: &'static str) -> Self {
        self.answer = Answer::Err(error);
        self
    }

    pub fn finished(&self) -> bool {
        self.done >= self.calls.len()
    }
}

/// Makes the invocation's next call on `s`. A call that fails ends the invocation with its error
/// (and, for createSecret's put, its rollback first).
pub fn apply(s: &mut State, inv: &mut Invocation, config: &Config) {
    let call = inv.calls[inv.done];
    inv.done += 1;
    match call {
        Call::Event(kind) => {
            if kind == EventKind::StillInUse {
                inv.alarmed = true;
                s.truth.seen |= p::SEEN_ALARM;
            }
        }
        Call::DeleteKey(key, why) => {
            p::judge_retirement(s, inv, config, (key, why), true);
            s.keys.retain(|k| k.id != key);
        }
        Call::Deactivate(key, why) => {
            p::judge_retirement(s, inv, config, (key, why), false);
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
        Call::Tag(b) => {
            if b.reactivated {
                if let TagDate::At(at) = b.date {
                    s.truth.reactivated = Some((b.key, at));
                }
                // Ground truth: the reactivation is on record; a later deactivation starts a
                // new quarantine.
                if let Some(k) = s.key_mut(b.key).filter(|k| k.active) {
                    k.inactive_since = None;
                }
            }
            s.tags.bookkeeping = Some(b);
        }
        Call::Untag => s.tags.bookkeeping = None,
        Call::Recheck { previous, current } => {
            let same = s.labelled(PREVIOUS).map(|v| v.id) == Some(previous)
                && s.labelled(CURRENT).map(|v| v.id) == Some(current);
            let made = s.pending().is_some_and(|v| v.value != Value::Empty);
            if !same || made {
                cut(inv);
            }
        }
        Call::StillInactive(key) => match (inv.job, s.key(key)) {
            // createSecret: reactivated since it decided; gone is deleted already.
            (Job::Step(_), Some(k)) if k.active || retagged(s, inv, key) => {
                stop(inv, "Transient.PreviousKeyChanged")
            }
            (_, Some(k)) if !k.active => p::judge_quarantine(s, config, key),
            (Job::Step(_), _) => {}
            _ => cut(inv),
        },
        Call::Authenticate(key) => {
            s.authenticate(key);
        }
        Call::RemovePending(version) => {
            if let Some(v) = s.version_mut(version) {
                v.labels &= !PENDING;
            }
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

fn create_key(s: &mut State, inv: &mut Invocation) {
    if s.keys_of(inv.user).count() >= 2 {
        // A key a person made by hand during the rotation is theirs to explain (the exception).
        if s.keys_of(inv.user).all(|k| !k.by_hand) {
            s.truth.violations |= p::LIMIT_EXCEEDED;
        }
        stop(inv, "Permanent.Aws.LimitExceeded");
        return;
    }
    p::judge_key_change(s, inv, None);
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
    p::judge_promotion(s, to);
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
