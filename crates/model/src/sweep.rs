//! The sweep's visit of the secret, decided as `retire/visit.rs` decides it, with the crate's own
//! functions: which calls follow, re-reads included.

use std::time::UNIX_EPOCH;

use iam_key_rotator::binding::{self, Binding};
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::overrides;
use iam_key_rotator::retire::decide::{self, Decision, Facts, Settings, Why as RetireWhy};
use iam_key_rotator::retire::{judge_keys, judge_values, Found, KeysVerdict, Previous};
use iam_key_rotator::Config;

use crate::calls::{Call, EventKind, Invocation, Job, Why};
use crate::view::{self, key_of_id, time, version_of_id};
use crate::world::{Bookkeeping, Owner, State, TagDate, Value, CURRENT, PREVIOUS};

pub fn decide(s: &mut State, config: &Config) -> Invocation {
    let mut inv = decide_visit(s, config);
    // §19: the visit's pass over the mirror comes first, whatever the action; its gate keeps the
    // previous key while the mirror is behind.
    if let Some(pass) = crate::mirror::pass_now(s) {
        inv.calls.splice(0..0, pass);
    }
    let deactivation = inv.calls.iter().find(|c| matches!(c, Call::Deactivate(..)));
    if let Some(&Call::Deactivate(key, Why::Deadline)) = deactivation {
        crate::properties::judge_deadline_decision(s, config, key);
    }
    inv
}

fn decide_visit(s: &State, config: &Config) -> Invocation {
    let mut inv = Invocation::new(Job::Sweep, Owner::Bound, s.bound);
    inv.judge = Some(crate::properties::obligations(s, config));
    let now = time(s.now);
    let metadata = view::metadata(s);
    let (settings, ignored) = overrides::effective(config, &metadata.tags);
    if decide::alarm_due(now, UNIX_EPOCH, config.sweep_interval) {
        inv.calls
            .extend(ignored.iter().map(|_| Call::Event(EventKind::TagIgnored)));
    }
    if settings.action != PreviousKeyAction::Retire
        || s.pending().is_some_and(|v| v.value != Value::Empty)
    {
        return inv;
    }
    let (Some(previous), Some(current)) = (s.labelled(PREVIOUS), s.labelled(CURRENT)) else {
        return untag_if_tagged(s, inv);
    };
    let versions = (view::version_id(previous.id), view::version_id(current.id));
    let found = judge_values(
        &metadata,
        settings,
        None,
        (&versions.0, &versions.1),
        view::parsed(previous.value),
        view::parsed(current.value),
    );
    let previous = match found {
        Found::Key(previous) => previous,
        Found::Nothing => return untag_if_tagged(s, inv),
        Found::Skip(_) => return inv,
    };
    let user = owner(&previous);
    inv.user = user;
    let keys = view::access_keys(s, user);
    let status = match judge_keys(&keys, &previous.key_id, previous.current_key.as_deref()) {
        KeysVerdict::Gone => return untag_if_tagged(s, inv),
        KeysVerdict::Skip(_) => return inv,
        KeysVerdict::Judge(status) => status,
    };
    let key = key_of_id(&previous.key_id).expect("a model key");
    let Some(last_use) = view::last_use(s, key) else {
        return untag_if_tagged(s, inv);
    };
    if last_use.user.as_deref() != Some(user.name()) {
        return inv;
    }
    let current_created = view::created(s)[&previous.current_version];
    let facts = Facts {
        status,
        last_use,
        promoted: decide::promotion(metadata.last_rotated, current_created),
        tag: decide::tag_of(&metadata.tags, &previous.key_id),
    };
    let settings = Settings::new(config, &previous.settings);
    act(s, inv, &previous, &facts, &settings)
}

/// After the decision: the binding, then the calls of the decision, the secret read again first.
fn act(
    s: &State,
    mut inv: Invocation,
    previous: &Previous,
    facts: &Facts,
    settings: &Settings,
) -> Invocation {
    let now = time(s.now);
    let decision = decide::decide(facts, settings, now, now);
    if decision == Decision::Wait {
        return match decide::believed(facts, now) {
            None => untag_if_tagged(s, inv),
            Some(_) => inv,
        };
    }
    let tags = view::user_tags(s, inv.user);
    if binding::binding_of(&tags, view::SECRET_ARN) != Binding::Bound {
        return inv;
    }
    let key = key_of_id(&previous.key_id).expect("a model key");
    if decision == Decision::Alarm {
        inv.calls.push(Call::Event(EventKind::StillInUse));
        return inv;
    }
    let version = |id: &str| version_of_id(id).expect("a model version");
    inv.calls.push(Call::Recheck {
        previous: version(&previous.previous_version),
        current: version(&previous.current_version),
    });
    let tag = |reactivated| {
        Call::Tag(Bookkeeping {
            key,
            reactivated,
            date: TagDate::At(s.now),
        })
    };
    let calls: Vec<Call> = match decision {
        Decision::Deactivate(why) => {
            let why = match why {
                RetireWhy::Idle => Why::Idle,
                RetireWhy::Deadline => Why::Deadline,
            };
            let event = Call::Event(EventKind::Deactivated);
            vec![Call::Deactivate(key, why), event, tag(false)]
        }
        Decision::MarkInactive => vec![tag(false)],
        Decision::MarkReactivated => vec![tag(true)],
        Decision::Delete => vec![
            Call::StillInactive(key),
            Call::DeleteKey(key, Why::Quarantine),
            Call::Event(EventKind::Deleted),
            Call::Untag,
        ],
        Decision::Wait | Decision::Alarm => Vec::new(),
    };
    inv.calls.extend(calls);
    inv
}

fn owner(previous: &Previous) -> Owner {
    Owner::of_name(&previous.user.user).unwrap_or(Owner::Other)
}

fn untag_if_tagged(s: &State, mut inv: Invocation) -> Invocation {
    if s.tags.bookkeeping.is_some() {
        inv.calls.push(Call::Untag);
    }
    inv
}
