//! Conformance: the model is the code. Thousands of the model's random traces are replayed against
//! the real `Rotator` and sweep over the in-memory fake (the rotator's own test double), and after
//! every action the fake's world must be the model's: the same keys and statuses, versions and
//! labels and values, bookkeeping tag, IAM's shown last uses, step answers and lifecycle events.
//! Along every trace the model's properties hold too, and no secret reaches a log line.
//!
//! What it does not replay: interleavings inside one invocation (the model explores them; the
//! fake's race tests cover their seams), and the fleet's `unstick` (it runs against the fleet's
//! AWS trait, which its own tests fake).

#[path = "../../rotator/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stateright::Model;

use iam_key_rotator::binding::BINDING_TAG;
use iam_key_rotator::event::Step;
use iam_key_rotator::mirror::MIRROR_OF_TAG;
use iam_key_rotator::overrides::INACTIVE_SINCE_TAG;
use iam_key_rotator::Rotator;

use lifecycle_model::calls::{Answer, Call, EventKind, Job};
use lifecycle_model::effects;
use lifecycle_model::hands::{Hand, OTHERS_KEY};
use lifecycle_model::view;
use lifecycle_model::world::{Bookkeeping, Owner, State, Value, CURRENT};
use lifecycle_model::{rotation, sweep, worlds, Action, Lifecycle};

use support::fake::{FakeAws, FUNCTION_ARN};
use support::mirrors::{name_mirror, secret_claiming, secret_mirror_value};
use support::{LogCapture, SECRET, USER};

/// The mirror of the mirror world (§19): the key id alone, as in the seed's split layout.
const MIRROR: &str = "app1/production/aws_access_key_id";

const TRACES: usize = 10_000;
const LENGTH: usize = 30;

#[tokio::test(start_paused = true)]
async fn the_real_code_does_what_the_model_does_over_random_traces() {
    let worlds: Vec<Lifecycle> = worlds::all()
        .into_iter()
        .map(|(w, _)| w)
        .filter(|w| !w.unstick)
        .collect();
    let mut rng = StdRng::seed_from_u64(21);
    let (mut actions, mut invocations) = (0, 0);
    for n in 0..TRACES {
        let world = &worlds[n % worlds.len()];
        let trace = walk(world, &mut rng);
        let mut replay = Replay::new(world);
        let capture = LogCapture::start();
        let mut i = 0;
        while i < trace.len() {
            let action = trace[i].0;
            let before = match i {
                0 => world.init_states().remove(0),
                _ => trace[i - 1].1.clone(),
            };
            i = replay.act(&trace, i, &before).await;
            actions += 1;
            if matches!(action, Action::Invoke | Action::Sweep) {
                invocations += 1;
            }
            let done: Vec<Action> = trace[..i].iter().map(|(a, _)| *a).collect();
            let at = format!(
                "{}: trace {n}, action {i} {action:?} after {done:?}",
                world.name
            );
            replay.compare(&trace[i - 1].1, &at);
        }
        let last = &trace.last().expect("a trace").1;
        let actions: Vec<Action> = trace.iter().map(|(a, _)| *a).collect();
        assert_eq!(
            last.truth.violations, 0,
            "{}: trace {n} breaks a property: {actions:?}",
            world.name
        );
        if !capture.text().is_empty() {
            capture.assert_no_secret(&replay.fake, "");
        }
    }
    println!("conformance: {TRACES} traces, {actions} actions ({invocations} invocations) replayed; the fake agreed with the model after each");
}

/// A random trace of the model: each invocation's calls (or its crash) follow it at once.
fn walk(world: &Lifecycle, rng: &mut StdRng) -> Vec<(Action, State)> {
    let mut state = world.init_states().remove(0);
    let mut trace = Vec::new();
    loop {
        let busy = state.step.is_some() || state.sweep.is_some();
        // An invocation under way is always finished (or crashed): the real code runs whole.
        if trace.len() >= LENGTH && !busy {
            break;
        }
        let mut actions = Vec::new();
        world.actions(&state, &mut actions);
        actions.retain(|a| match a {
            Action::Call(_) | Action::Crash(_) => true,
            Action::Unstick => false,
            _ => !busy,
        });
        if actions.is_empty() {
            break;
        }
        let action = actions[rng.random_range(0..actions.len())];
        let Some(next) = world.next_state(&state, action) else {
            continue;
        };
        if !world.within_boundary(&next) {
            if busy {
                continue;
            }
            break;
        }
        state = next;
        trace.push((action, state.clone()));
    }
    trace
}

/// The fake and the real function, kept in step with a model trace.
struct Replay {
    name: &'static str,
    config: iam_key_rotator::Config,
    fake: FakeAws,
    rotator: Rotator,
    /// Model key id to the fake's access key id.
    keys: BTreeMap<u8, String>,
    /// The lifecycle events the model's calls put, by kind.
    events: BTreeMap<&'static str, usize>,
}

impl Replay {
    fn new(world: &Lifecycle) -> Self {
        let fake = FakeAws::new();
        let rotator = fake.rotator(world.config.clone());
        let init = world.init_states().remove(0);
        fake.add_user(USER, "/svc/");
        fake.add_user(Owner::Other.name(), "/svc/");
        fake.create_secret(SECRET, r#"{"UserName": "ci-deployer"}"#, true);
        fake.bind(USER, SECRET);
        let mut replay = Replay {
            name: world.name,
            config: world.config.clone(),
            fake,
            rotator,
            keys: BTreeMap::new(),
            events: BTreeMap::new(),
        };
        for key in &init.keys {
            let (id, _) = replay.fake.add_key(key.owner.name());
            replay.keys.insert(key.id, id);
        }
        let dated: Vec<(String, u32, Option<u32>)> = init
            .keys
            .iter()
            .map(|k| (replay.keys[&k.id].clone(), k.created, k.reported))
            .collect();
        let values: Vec<(String, Option<String>, Vec<String>, u32)> = init
            .versions
            .iter()
            .map(|v| {
                (
                    view::version_id(v.id),
                    replay.json(v.value),
                    view::stages(v.labels),
                    v.created,
                )
            })
            .collect();
        replay.fake.edit(move |w| {
            for user in w.users.values_mut() {
                for key in &mut user.keys {
                    if let Some((_, created, _)) = dated.iter().find(|(id, ..)| *id == key.id) {
                        key.created = view::time(*created);
                    }
                }
            }
            let secret = w.secrets.get_mut(SECRET).expect("the secret");
            secret.last_rotated = init.last_rotated.map(view::time);
            secret.versions = values
                .into_iter()
                .map(|(id, value, stages, created)| support::fake::Version {
                    id,
                    value,
                    stages,
                    created: view::time(created),
                })
                .collect();
        });
        for key in &init.keys {
            if let Some(at) = key.reported {
                replay.fake.used_at(&replay.keys[&key.id], view::time(at));
                replay.fake.report_uses(&replay.keys[&key.id]);
            }
        }
        if let Some(mirror) = init.mirror {
            let held = mirror
                .holds
                .map(|k| replay.id(k))
                .expect("a mirror holds a key");
            let arn = secret_claiming(&replay.fake, MIRROR, "access-key-id", &held);
            assert!(mirror.claims, "a mirror world starts with the claim");
            name_mirror(&replay.fake, 1, &arn);
        }
        replay.fake.set_clock(u64::from(init.now));
        replay.fake.freeze_clock();
        replay.fake.set_report_lag(Duration::from_secs(4 * 3_600));
        replay
    }

    /// The fake's id of a model key; a key the fake never had (deleted before the start) keeps
    /// the model's id.
    fn id(&self, key: u8) -> String {
        self.keys
            .get(&key)
            .cloned()
            .unwrap_or_else(|| view::key_id(key))
    }

    /// The model's id of a fake key id.
    fn model_key(&self, id: &str) -> Option<u8> {
        let known = self
            .keys
            .iter()
            .find(|(_, f)| f.as_str() == id)
            .map(|(m, _)| *m);
        known.or_else(|| view::key_of_id(id))
    }

    /// The SecretString of a model value, with the fake's key ids and secrets.
    fn json(&self, value: Value) -> Option<String> {
        let secret = |key: u8| {
            let id = self.keys.get(&key)?;
            let world = self.fake.world();
            let owner = world
                .users
                .values()
                .find(|u| u.keys.iter().any(|k| &k.id == id));
            owner
                .and_then(|u| u.keys.iter().find(|k| &k.id == id))
                .map(|k| k.secret.clone())
        };
        view::json_with(value, |k| self.id(k), |k| secret(k).unwrap_or_else(gone))
    }

    /// Replays the action at `i` (an invocation with all its calls), returning the next index.
    async fn act(&mut self, trace: &[(Action, State)], i: usize, before: &State) -> usize {
        let (action, ref after) = trace[i];
        match action {
            Action::RotateSecret => {
                let token = view::version_id(after.rotation.expect("a rotation").token);
                self.fake
                    .start_rotation_with(SECRET, &token)
                    .expect("rotation starts");
            }
            Action::Invoke | Action::Sweep => return self.invocation(trace, i, before).await,
            Action::Use(c) => {
                let key = before.consumers[c].holds.expect("a key");
                let used = after.key(key).map(|k| k.last_true_use())
                    != before.key(key).map(|k| k.last_true_use());
                if used {
                    let owner = after.key(key).expect("a key").owner.name();
                    self.fake.use_key(owner, &self.keys[&key]);
                }
            }
            Action::Move(_) => {}
            Action::Report(key) => self.fake.report_uses(&self.keys[&key]),
            Action::Advance(by) => self.fake.advance(Duration::from_secs(u64::from(by))),
            Action::Person(hand) => self.hand(hand, before, after),
            Action::Unstick | Action::Call(_) | Action::Crash(_) => unreachable!("{action:?}"),
        }
        self.learn_new_keys(after);
        i + 1
    }

    fn hand(&mut self, hand: Hand, before: &State, after: &State) {
        use iam_key_rotator::aws::KeyStatus;
        match hand {
            Hand::Deactivate(k) => {
                self.fake
                    .set_key_status(USER, &self.keys[&k], KeyStatus::Inactive)
            }
            Hand::Reactivate(k) => {
                self.fake
                    .set_key_status(USER, &self.keys[&k], KeyStatus::Active)
            }
            Hand::Delete(k) => self.fake.remove_key(USER, &self.keys[&k]),
            Hand::CreateForConsumer => {
                self.fake.add_key(USER);
            }
            Hand::Put(value) => {
                let raw = self.json(value).expect("a value");
                let id = self.fake.put_current_value(SECRET, &raw);
                let model_id = after.labelled(CURRENT).expect("the new current").id;
                self.fake.edit(move |w| {
                    let secret = w.secrets.get_mut(SECRET).expect("the secret");
                    let version = secret.versions.iter_mut().find(|v| v.id == id).expect("it");
                    version.id = view::version_id(model_id);
                });
            }
            Hand::TagBookkeeping(b) => {
                let value = self.bookkeeping(b);
                self.fake
                    .tag_secret_by_hand(SECRET, INACTIVE_SINCE_TAG, Some(&value));
            }
            Hand::TagSetting(t) => {
                // The model holds one setting tag at a time: a new one replaces the last.
                if let Some(old) = before.tags.setting {
                    let (key, _) = view::setting_tag(old);
                    self.fake.tag_secret_by_hand(SECRET, &key, None);
                }
                let (key, value) = view::setting_tag(t);
                self.fake.tag_secret_by_hand(SECRET, &key, Some(&value));
            }
            Hand::Unbind => self.fake.edit(|w| {
                let user = w.users.get_mut(USER).expect("the user");
                user.tags.retain(|(k, _)| k != BINDING_TAG);
            }),
            Hand::WriteMirror => {
                self.fake.put_current_value(MIRROR, &self.id(OTHERS_KEY));
            }
            Hand::Claim(claims) => {
                let source = self.fake.secret(SECRET).arn;
                let claim = claims.then_some(source.as_str());
                self.fake.tag_secret_by_hand(MIRROR, MIRROR_OF_TAG, claim);
            }
        }
    }

    /// The bookkeeping tag's value with the fake's key id.
    fn bookkeeping(&self, b: Bookkeeping) -> String {
        let model = view::bookkeeping_value(b);
        let (_, rest) = model.split_once(' ').expect("<key> <...>");
        format!("{} {rest}", self.id(b.key))
    }

    /// A rotation step or a sweep, with the calls the trace makes of it, or its crash: the
    /// model's decision and calls again (they are pure), then the real code once.
    async fn invocation(&mut self, trace: &[(Action, State)], i: usize, before: &State) -> usize {
        let action = trace[i].0;
        let config = &self.config;
        let mut s = before.clone();
        let (job, mut inv) = match action {
            Action::Sweep => (Job::Sweep, sweep::decide(&mut s, config)),
            _ => {
                let rotation = before.rotation.expect("a rotation");
                let step = rotation::decide(&s, config, rotation.next, rotation.token);
                (step.job, step)
            }
        };
        let mut end = i + 1;
        let mut crashed = false;
        while end < trace.len() {
            match trace[end].0 {
                Action::Call(j) if j == job => effects::apply(&mut s, &mut inv, config),
                Action::Crash(j) if j == job => crashed = true,
                _ => break,
            }
            end += 1;
            if crashed {
                break;
            }
        }
        let made = &inv.calls[..inv.done];
        if crashed {
            self.fake
                .crash_before_change(made.iter().filter(|c| c.changes()).count());
        }
        let answer = match action {
            Action::Sweep => {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
                let swept = self.rotator.sweep(FUNCTION_ARN, deadline).await;
                swept.map(|_| ()).map_err(|e| e.name())
            }
            _ => {
                let rotation = before.rotation.expect("a rotation");
                let step = Step::ALL[rotation.next];
                let token = view::version_id(rotation.token);
                let stepped = support::step(&self.rotator, step, SECRET, &token).await;
                // Secrets Manager, after a finishSecret that succeeded (a process that died
                // answers nothing, whatever its last calls were).
                if stepped.is_ok() && step == Step::FinishSecret && !crashed {
                    self.fake.complete_rotation(SECRET, &token);
                }
                stepped.map_err(|e| e.error_type())
            }
        };
        self.fake.clear_crash();
        for call in made {
            if let Call::Event(kind) = call {
                *self.events.entry(event_name(*kind)).or_default() += 1;
            }
        }
        if !crashed {
            let want = match inv.answer {
                Answer::Ok => Ok(()),
                Answer::Err(e) => Err(e),
            };
            let got = answer.as_ref().map(|_| ()).map_err(String::as_str);
            let done: Vec<Action> = trace[..end].iter().map(|(a, _)| *a).collect();
            assert_eq!(
                got, want,
                "{}: the answer of {action:?} at {i}: {done:?}",
                self.name
            );
        }
        self.learn_new_keys(&trace[end - 1].1);
        end
    }

    /// Keys the model made since: the fake's new key is the same one.
    fn learn_new_keys(&mut self, after: &State) {
        let world = self.fake.world();
        let known: Vec<&String> = self.keys.values().collect();
        let mut fresh: Vec<String> = world
            .all_users()
            .flat_map(|u| u.keys.iter().map(|k| k.id.clone()))
            .filter(|id| !known.contains(&id))
            .collect();
        let mut new: Vec<u8> = after
            .keys
            .iter()
            .map(|k| k.id)
            .filter(|id| !self.keys.contains_key(id))
            .collect();
        fresh.sort();
        new.sort();
        for (model, fake) in new.into_iter().zip(fresh) {
            self.keys.insert(model, fake);
        }
    }

    /// The fake's world must be the model's.
    fn compare(&self, model: &State, at: &str) {
        let world = self.fake.world();
        let secret = &world.secrets[SECRET];
        // Keys: the same ones, with the same status; IAM shows the same last use.
        let mut fake_keys: Vec<(u8, &'static str, bool)> = Vec::new();
        for user in world.all_users() {
            for key in &user.keys {
                let model_id = self
                    .keys
                    .iter()
                    .find(|(_, f)| **f == key.id)
                    .map(|(m, _)| *m);
                let model_id =
                    model_id.unwrap_or_else(|| panic!("{at}: a key the model does not know"));
                let owner = Owner::of_name(&user.name).expect("a model user").name();
                fake_keys.push((
                    model_id,
                    owner,
                    key.status == iam_key_rotator::aws::KeyStatus::Active,
                ));
                let shown = self.fake.last_use_shown(&key.id);
                let model_shown = model.key(model_id).and_then(|k| k.reported).map(view::time);
                assert_eq!(shown, model_shown, "{at}: IAM's last use of key {model_id}");
            }
        }
        fake_keys.sort();
        let mut model_keys: Vec<(u8, &'static str, bool)> = model
            .keys
            .iter()
            .map(|k| (k.id, k.owner.name(), k.active))
            .collect();
        model_keys.sort();
        assert_eq!(fake_keys, model_keys, "{at}: keys");
        // Versions: labels and values.
        let mut fake_versions: Vec<(u8, u8, Value)> = secret
            .versions
            .iter()
            .filter(|v| !v.stages.is_empty())
            .map(|v| {
                let id =
                    view::version_of_id(&v.id).unwrap_or_else(|| panic!("{at}: version {}", v.id));
                (
                    id,
                    view::label_bits(&v.stages),
                    self.value_of(v.value.as_deref()),
                )
            })
            .collect();
        fake_versions.sort_by_key(|v| v.0);
        let model_versions: Vec<(u8, u8, Value)> = model
            .versions
            .iter()
            .filter(|v| v.labels != 0)
            .map(|v| (v.id, v.labels, v.value))
            .collect();
        assert_eq!(fake_versions, model_versions, "{at}: versions");
        assert_eq!(
            secret.last_rotated,
            model.last_rotated.map(view::time),
            "{at}: LastRotatedDate"
        );
        // The bookkeeping tag.
        let tag = secret
            .tags
            .iter()
            .find(|(k, _)| k == INACTIVE_SINCE_TAG)
            .map(|(_, v)| v.clone());
        let model_tag = model.tags.bookkeeping.map(|b| self.bookkeeping(b));
        assert_eq!(tag, model_tag, "{at}: the bookkeeping tag");
        // The mirror holds the model's key.
        if let Some(mirror) = model.mirror {
            let held = secret_mirror_value(&self.fake, MIRROR);
            assert_eq!(self.model_key(&held), mirror.holds, "{at}: the mirror");
        }
        // The lifecycle events (the mirror's own are pinned by crates/rotator/tests/mirror_*.rs:
        // the model tracks what the mirror holds, not what was said about it).
        let mut events: BTreeMap<&'static str, usize> = BTreeMap::new();
        for e in (self.fake.events().into_iter()).filter(|e| !e.detail_type.starts_with("Mirror "))
        {
            *events.entry(e.detail_type).or_default() += 1;
        }
        assert_eq!(events, self.events, "{at}: lifecycle events");
    }

    /// A fake version's value as the model writes it.
    fn value_of(&self, raw: Option<&str>) -> Value {
        let Some(raw) = raw else {
            return Value::Empty;
        };
        let Ok(parsed) = serde_json::from_str::<serde_json::Value>(raw) else {
            return Value::Garbage;
        };
        let owner = parsed["UserName"]
            .as_str()
            .and_then(Owner::of_name)
            .expect("a model user");
        let model_key = |field: &str| self.model_key(parsed[field].as_str()?);
        if let Some(key) = model_key("AccessKeyId") {
            return Value::Pair(owner, key);
        }
        if let Some(key) = model_key("SecretAccessKey") {
            return Value::Swapped(owner, key);
        }
        Value::Bootstrap(owner)
    }
}

/// The secret access key of a key the fake never had.
fn gone() -> String {
    "goneSecret/0000+wJalrXUtnFEMI".into()
}

fn event_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::TagIgnored => "Invalid Setting Tag Ignored",
        EventKind::Rotated => "Access Key Rotated",
        EventKind::Deactivated => "Previous Access Key Deactivated",
        EventKind::Deleted => "Previous Access Key Deleted",
        EventKind::StillInUse => "Previous Access Key Still In Use",
    }
}
