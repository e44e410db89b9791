//! The lifecycle as a stateright [`Model`]: every action one AWS call or one decision, of
//! Secrets Manager, the function (each step and the sweep, each call of theirs, a crash between
//! any two), the fleet, people, consumers, IAM's late reports, and time.

use stateright::{Model, Property};

use iam_key_rotator::Config;

use crate::calls::{Answer, Invocation, Job};
use crate::effects;
use crate::fleet;
use crate::hands::{self, Hand, HandKind};
use crate::properties;
use crate::rotation::{self, CREATE, FINISH};
use crate::sweep;
use crate::world::{Consumer, State, CURRENT};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Secrets Manager starts a rotation (the schedule, the console, the fleet's `rotate`).
    RotateSecret,
    /// Secrets Manager invokes the rotation's next step.
    Invoke,
    /// The schedule starts a sweep.
    Sweep,
    /// The fleet's `unstick --apply`.
    Unstick,
    /// The invocation's next call.
    Call(Job),
    /// The invocation's process dies before its next call.
    Crash(Job),
    /// A consumer signs a request with the key it holds.
    Use(usize),
    /// A consumer reads AWSCURRENT again.
    Move(usize),
    /// IAM reports a key's uses (sooner than the lag).
    Report(u8),
    Advance(u32),
    Person(Hand),
}

/// How the world starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// A rotation has just completed: the first key is AWSPREVIOUS, still used by a consumer
    /// that has not read the secret again.
    AfterRotation,
    /// The previous key is gone already: only the current key.
    CurrentOnly,
}

/// One world to explore: the function's configuration, where it starts, who acts.
#[derive(Clone, Debug)]
pub struct Lifecycle {
    pub name: &'static str,
    pub config: Config,
    pub start: Start,
    pub crashes: bool,
    pub unstick: bool,
    pub hands: Vec<HandKind>,
    pub advances: Vec<u32>,
    /// No state beyond this time.
    pub horizon: u32,
    /// The `sometimes` properties this world must reach within its depth (bits of
    /// `properties::SOMETIMES`): proof that its `always` properties are not empty promises.
    pub reaches: u32,
    /// A second consumer, which a person hands a key made by hand.
    pub second_consumer: bool,
    /// A mirror of the secret (§19), behind at the start (its write failed), and a consumer that
    /// reads it.
    pub mirror: bool,
}

impl Lifecycle {
    fn idle(s: &State) -> bool {
        s.step.is_none() && s.sweep.is_none()
    }
}

impl Model for Lifecycle {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![self.initial()]
    }

    fn actions(&self, s: &State, actions: &mut Vec<Action>) {
        if s.rotation.is_none() && s.pending().is_none() {
            actions.push(Action::RotateSecret);
        }
        if s.rotation.is_some() && s.step.is_none() {
            actions.push(Action::Invoke);
        }
        if s.sweep.is_none() {
            actions.push(Action::Sweep);
        }
        for inv in [&s.step, &s.sweep].into_iter().flatten() {
            actions.push(Action::Call(inv.job));
            if self.crashes {
                actions.push(Action::Crash(inv.job));
            }
        }
        if self.unstick && Self::idle(s) && fleet::unstick(s).is_some() {
            actions.push(Action::Unstick);
        }
        for (i, c) in s.consumers.iter().enumerate() {
            if let Some(key) = c.holds {
                if s.key(key)
                    .is_some_and(|k| k.active && k.last_true_use() != Some(s.now))
                {
                    actions.push(Action::Use(i));
                }
            }
            if reads(s, c).is_some() && c.holds != reads(s, c) {
                actions.push(Action::Move(i));
            }
        }
        for k in s.keys.iter().filter(|k| !k.unreported.is_empty()) {
            actions.push(Action::Report(k.id));
        }
        if Self::idle(s) {
            for by in &self.advances {
                actions.push(Action::Advance(*by));
            }
        }
        let mut people = Vec::new();
        hands::hands(s, &self.hands, &mut people);
        actions.extend(people.into_iter().map(Action::Person));
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut s = last.clone();
        match action {
            Action::RotateSecret => {
                hands::rotate_secret(&mut s);
            }
            Action::Invoke => {
                let rotation = s.rotation?;
                let inv = rotation::decide(&s, &self.config, rotation.next, rotation.token);
                s.step = Some(inv);
                self.finish_if_done(&mut s, Job::Step(rotation.next));
            }
            Action::Sweep => {
                s.sweep = Some(sweep::decide(&mut s, &self.config));
                self.finish_if_done(&mut s, Job::Sweep);
            }
            Action::Unstick => {
                let mut inv = fleet::unstick(&s)?;
                while !inv.finished() {
                    effects::apply(&mut s, &mut inv, &self.config);
                }
                s.rotation = None;
            }
            Action::Call(job) => {
                let mut inv = slot_of(&mut s, job).take()?;
                effects::apply(&mut s, &mut inv, &self.config);
                *slot_of(&mut s, job) = Some(inv);
                self.finish_if_done(&mut s, job);
            }
            Action::Crash(job) => {
                slot_of(&mut s, job).take()?;
                if matches!(job, Job::Step(_)) {
                    if let Some(r) = &mut s.rotation {
                        r.next = CREATE;
                    }
                }
            }
            Action::Use(c) => {
                let key = s.consumers[c].holds?;
                s.authenticate(key);
            }
            Action::Move(c) => {
                let key = reads(&s, &s.consumers[c]);
                s.consumers[c].holds = key;
            }
            Action::Report(key) => s.report_all(key),
            Action::Advance(by) => s.advance(by),
            Action::Person(hand) => hands::apply(&mut s, hand),
        }
        if let Some(key) = s.key_in(CURRENT) {
            s.truth.ever_current |= properties::bit(key);
        }
        Some(s)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        let mut properties = Vec::new();
        macro_rules! always {
            ($($i:literal),*) => {$(
                properties.push(Property::always(properties::ALWAYS[$i].0, |_, s: &State| {
                    s.truth.violations & properties::ALWAYS[$i].1 == 0
                }));
            )*};
        }
        always!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        macro_rules! sometimes {
            ($($i:literal),*) => {$(
                if self.reaches & properties::SOMETIMES[$i].1 != 0 {
                    properties.push(Property::sometimes(properties::SOMETIMES[$i].0, |_, s: &State| {
                        s.truth.seen & properties::SOMETIMES[$i].1 != 0
                    }));
                }
            )*};
        }
        sometimes!(0, 1, 2, 3, 4, 5);
        properties
    }

    fn within_boundary(&self, s: &State) -> bool {
        s.now <= self.horizon
    }
}

impl Lifecycle {
    /// An invocation with no call left ends: its answer reaches Secrets Manager (a step), or its
    /// obligations are checked (a sweep).
    fn finish_if_done(&self, s: &mut State, job: Job) {
        let done = slot_of(s, job).as_ref().is_some_and(Invocation::finished);
        if !done {
            return;
        }
        let inv = slot_of(s, job).take().expect("checked above");
        match job {
            Job::Sweep => {
                if let Some(judge) = inv.judge {
                    properties::check_obligations(judge, s, &inv);
                }
            }
            Job::Step(step) => step_answered(s, step, &inv),
            Job::Unstick => {}
        }
    }
}

/// Secrets Manager takes a step's answer: on to the next step, the rotation complete after
/// finishSecret, or back to createSecret for a later retry (dropped when the version is no
/// longer the rotation's).
fn step_answered(s: &mut State, step: usize, inv: &Invocation) {
    let Some(rotation) = &mut s.rotation else {
        return;
    };
    match inv.answer {
        Answer::Ok if step == FINISH => {
            let token = rotation.token;
            hands::complete_rotation(s, token);
            s.truth.seen |= properties::SEEN_ROTATION;
        }
        Answer::Ok => rotation.next = step + 1,
        Answer::Err("Permanent.VersionNotPending" | "Permanent.VersionNotFound") => {
            s.rotation = None
        }
        Answer::Err(_) => rotation.next = CREATE,
    }
}

/// The key a consumer gets when it reads again: AWSCURRENT's, or the mirror's.
fn reads(s: &State, c: &Consumer) -> Option<u8> {
    match (c.via_mirror, s.mirror) {
        (true, Some(m)) => m.holds,
        _ => s.key_in(CURRENT),
    }
}

fn slot_of(s: &mut State, job: Job) -> &mut Option<Invocation> {
    match job {
        Job::Sweep => &mut s.sweep,
        _ => &mut s.step,
    }
}
