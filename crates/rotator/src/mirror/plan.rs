//! What to do to each mirror for the key now in AWSCURRENT, decided from what was read (the
//! decide half of decide-then-act; the caller reads, then acts on this). Pure, so the lifecycle
//! model can decide with it too.
//!
//! A mirror that holds exactly what it should is left alone (a retry, a second sweep); one that
//! gives its consumers the previous key (or the current one, spelled otherwise) is written;
//! anything else is repaired (someone wrote it by hand). The previous key may be acted on only when every mirror holds the current
//! key ([`all_hold`]): a consumer reading a mirror not yet written still uses the previous key.

use super::format::MirrorFormat;
use super::refused::Refused;
use super::render::{holds, render, yields};
use crate::sensitive::Sensitive;

/// A key pair, as a version holds it.
pub struct KeyPair<'a> {
    pub id: &'a str,
    pub secret: &'a Sensitive,
}

/// A named target as read: its ARN, and either its format and value (`None`: no value yet) or
/// why it is not to be written (not agreed, or not readable).
pub struct Observed<'a> {
    pub arn: &'a str,
    pub read: Result<(MirrorFormat, Option<&'a Sensitive>), Refused>,
}

/// What to do to one target.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// It holds the current key already: nothing to write.
    Holds { arn: String },
    /// Write `value`; `repair` when it gave its consumers neither the current nor the previous
    /// key (someone wrote it by hand).
    Write {
        arn: String,
        value: Sensitive,
        repair: bool,
    },
    /// Not written: not agreed, not readable, or a value left for a person.
    Refused(Refused),
}

/// The action for each target, in order.
pub fn plan(
    observed: &[Observed<'_>],
    current: &KeyPair<'_>,
    previous: Option<&KeyPair<'_>>,
) -> Vec<Action> {
    observed
        .iter()
        .map(|target| decide(target, current, previous))
        .collect()
}

fn decide(target: &Observed<'_>, current: &KeyPair<'_>, previous: Option<&KeyPair<'_>>) -> Action {
    let (format, held) = match &target.read {
        Ok((format, held)) => (format, held.map(Sensitive::expose)),
        Err(refused) => return Action::Refused(refused.clone()),
    };
    if holds(format, held, current.id, current.secret.expose()) {
        return Action::Holds {
            arn: target.arn.to_owned(),
        };
    }
    match render(format, held, current.id, current.secret.expose()) {
        Ok(value) => {
            let gave = |p: &KeyPair<'_>| yields(format, held, p.id, p.secret.expose());
            let gave_a_key = gave(current) || previous.is_some_and(gave);
            Action::Write {
                arn: target.arn.to_owned(),
                value: Sensitive::new(value),
                repair: held.is_some() && !gave_a_key,
            }
        }
        Err(reason) => Action::Refused(Refused {
            target: target.arn.to_owned(),
            reason,
        }),
    }
}

/// Whether every mirror holds the current key, once the writes of `actions` have succeeded: the
/// condition for acting on the previous key.
pub fn all_hold(actions: &[Action]) -> bool {
    actions
        .iter()
        .all(|action| !matches!(action, Action::Refused(_)))
}
