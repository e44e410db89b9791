//! The model's vocabulary, imported by every other module and importing none: the users, what a
//! version may hold, the tags a secret may carry, the units of time.

pub const HOUR: u32 = 3_600;
pub const DAY: u32 = 24 * HOUR;
/// How late IAM reports a use at the most (`keys::LAST_USE_LAG`).
pub const LAG: u32 = 4 * HOUR;

/// The two IAM users of the world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// The user an administrator bound to the secret (it may be unbound by a person).
    Bound,
    /// A user never bound to the secret: an attacker may name it in the value.
    Other,
}

impl Owner {
    pub fn name(self) -> &'static str {
        match self {
            Owner::Bound => "ci-deployer",
            Owner::Other => "payments-admin",
        }
    }

    pub fn of_name(name: &str) -> Option<Owner> {
        [Owner::Bound, Owner::Other]
            .into_iter()
            .find(|o| o.name() == name)
    }
}

/// A version's value, as the model knows it; `json` writes it as the secret would hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// Secrets Manager's AWSPENDING placeholder: no value at all.
    Empty,
    /// `{"UserName"}` only: before the first rotation.
    Bootstrap(Owner),
    /// A user's key pair.
    Pair(Owner, u8),
    /// The key id and the secret access key swapped by mistake.
    Swapped(Owner, u8),
    /// Not JSON.
    Garbage,
}

pub const CURRENT: u8 = 1;
pub const PENDING: u8 = 2;
pub const PREVIOUS: u8 = 4;

/// A date in the bookkeeping tag: the function writes the time it saw something; a person may
/// write anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TagDate {
    At(u32),
    /// 2001: before any promotion.
    FarPast,
    /// 9999: after any now.
    FarFuture,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Bookkeeping {
    pub key: u8,
    pub reactivated: bool,
    pub date: TagDate,
}

/// A setting tag a person may write (§16): valid gentler ones apply, the rest are ignored (§18).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Setting {
    /// `iam-key-rotator:previous-key-actoin=keep`: no such setting.
    Unknown,
    /// `previous-key-action=delete` under a `retire` function: harsher, not allowed.
    Harsher,
    /// `retire-idle-hours=30`: a longer idle time, allowed.
    LongerIdle,
}
