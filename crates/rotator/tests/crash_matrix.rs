//! The crash-retry matrix (SPEC §10.5), against the in-memory fake: for every step, every AWS call
//! in it, the process dies (a) before the call is sent and (b) after its effect, the answer lost.
//! Then Secrets Manager retries the whole rotation with the same token, and §10.1-3 must hold.
//! Run under each PREVIOUS_KEY_ACTION, for a first (bootstrap) and a later rotation.

mod support;

use std::time::Duration;

use iam_key_rotator::aws::AWSCURRENT;
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::event::Step;
use iam_key_rotator::Rotator;

use support::fake::FakeAws;
use support::*;

#[derive(Debug, Clone, Copy)]
enum Scenario {
    /// The first rotation of a secret holding only UserName.
    Bootstrap,
    /// A rotation after an earlier one: there is an AWSPREVIOUS key to delete.
    Later,
}

/// A world ready for the rotation under test; returns the key AWSCURRENT holds now.
async fn prepare(
    action: PreviousKeyAction,
    scenario: Scenario,
) -> (FakeAws, Rotator, Option<String>) {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(action));
    match scenario {
        Scenario::Bootstrap => {
            fake.add_user(USER, "/svc/");
            fake.create_secret(SECRET, &format!(r#"{{"UserName":"{USER}"}}"#), true);
            fake.bind(USER, SECRET);
        }
        Scenario::Later => {
            setup(&fake);
            rotate(&fake, &rotator, SECRET)
                .await
                .expect("the earlier rotation");
        }
    }
    let current = key_in(&fake, SECRET, AWSCURRENT);
    (fake, rotator, current)
}

/// How many AWS calls each step makes in a rotation without faults.
async fn calls_per_step(action: PreviousKeyAction, scenario: Scenario) -> [usize; 4] {
    let (fake, rotator, _) = prepare(action, scenario).await;
    calls_per_step_of(&fake, &rotator).await
}

#[tokio::test(start_paused = true)]
async fn a_crash_at_any_call_of_any_step_then_the_retry_ends_well() {
    let mut cells = 0;
    for action in [
        PreviousKeyAction::Keep,
        PreviousKeyAction::Deactivate,
        PreviousKeyAction::Delete,
    ] {
        for scenario in [Scenario::Bootstrap, Scenario::Later] {
            let counts = calls_per_step(action, scenario).await;
            for (i, crashing) in Step::ALL.into_iter().enumerate() {
                for call in 0..counts[i] {
                    for after_effect in [false, true] {
                        let cell = format!(
                            "{action}, {scenario:?}, {crashing} call {call} {}",
                            if after_effect {
                                "after its effect"
                            } else {
                                "before it is sent"
                            }
                        );
                        let (fake, rotator, old_key) = prepare(action, scenario).await;
                        let token = fake.start_rotation(SECRET).unwrap();
                        for s in &Step::ALL[..i] {
                            step(&rotator, *s, SECRET, &token).await.unwrap();
                        }
                        let before = fake.calls().len();
                        fake.crash_at(call, after_effect);
                        let crashed = step(&rotator, crashing, SECRET, &token).await;
                        // A lost lifecycle event does not fail the step (it is best effort).
                        let lost_event = fake.calls().get(before + call) == Some(&"PutEvents");
                        assert!(crashed.is_err() || lost_event, "{cell}: the crash is seen");
                        fake.clear_crash();
                        retried(&fake, &rotator, &token)
                            .await
                            .unwrap_or_else(|e| panic!("{cell}: the retry failed: {e}"));
                        check_invariants(&fake, &rotator, SECRET, USER, old_key.as_deref(), &[])
                            .await;
                        cells += 1;
                    }
                }
            }
        }
    }
    println!("crash-retry matrix (in-memory fake): {cells} cells run, {cells} passed");
    assert!(cells >= 100, "{cells} cells");
}

/// The Lambda times out in the middle of testSecret (the key is not yet valid); the retry later
/// finds it valid.
#[tokio::test(start_paused = true)]
async fn the_lambda_timing_out_in_testsecret_then_the_retry() {
    for action in [PreviousKeyAction::Keep, PreviousKeyAction::Delete] {
        let (fake, rotator, old_key) = prepare(action, Scenario::Later).await;
        fake.set_propagation_attempts(12);
        let token = start_and_run_until(&fake, &rotator, SECRET, Step::TestSecret).await;
        let lambda_deadline = tokio::time::Instant::now() + Duration::from_secs(8);
        let timed_out = rotator
            .handle(&event(Step::TestSecret, SECRET, &token), lambda_deadline)
            .await
            .unwrap_err();
        assert_eq!(timed_out.error_type(), "Transient.KeyNotPropagated");
        finish_rotation(&fake, &rotator, SECRET, &token)
            .await
            .unwrap();
        check_invariants(&fake, &rotator, SECRET, USER, old_key.as_deref(), &[]).await;
    }
}
