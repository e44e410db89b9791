//! An invocation under way (a rotation step, a sweep's visit, the fleet's unstick) as the calls it
//! makes after its decision, one model action each, so that anything may happen between two of
//! them. Reads the code makes again before acting (the re-checks) are calls here too.

use crate::terms::{Bookkeeping, Owner};

/// What a sweep's visit owes, from the state it decided in (`properties::obligations`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Judge {
    /// Past an enforced deadline: this key must end Inactive.
    pub deactivate: Option<u8>,
    /// Past the deadline, in the alarm window, still in use: the alarm must fire.
    pub alarm: bool,
}

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
    /// createSecret reads a key again before deleting it (the previous key, or one Inactive when
    /// it decided): its status and its bookkeeping tag.
    Reread {
        key: u8,
        was_active: bool,
    },
    /// testSecret signs GetCallerIdentity with the key: IAM records a use.
    Authenticate(u8),
    /// The fleet's unstick takes AWSPENDING off the version.
    RemovePending(u8),
    /// The fleet's unstick reads the key again before deleting it: still an orphan, still unused.
    StillOrphan(u8),
    /// The pass over the mirror (§19) for the key `key` of AWSCURRENT's version `version`: reads
    /// the mirror and decides, making the calls that follow (`mirror.rs`).
    MirrorPass {
        version: u8,
        key: u8,
        restarts: u8,
    },
    /// STS proves the key authenticates as the bound user (a use IAM records), before the first
    /// write of the pass.
    ProveMirrorKey(u8),
    /// AWSCURRENT read again just before the write.
    MirrorCheck {
        version: u8,
        restarts: u8,
    },
    /// PutSecretValue of the key to the mirror.
    WriteMirror(u8),
    /// AWSCURRENT read again after the last write.
    MirrorAfter {
        version: u8,
        restarts: u8,
    },
    /// What the invocation may still do to the previous key, given the pass.
    MirrorGate,
}

/// What the invocation's pass over the mirror came to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MirrorState {
    /// Not written: the mirror does not agree, or the key is not provably the user's.
    pub behind: bool,
    /// AWSCURRENT moved during the pass.
    pub moved: bool,
    /// The pass wrote the mirror.
    pub wrote: bool,
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
                | Call::MirrorPass { .. }
                | Call::ProveMirrorKey(_)
                | Call::MirrorCheck { .. }
                | Call::MirrorAfter { .. }
                | Call::MirrorGate
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
    pub mirror: MirrorState,
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
            mirror: MirrorState::default(),
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
