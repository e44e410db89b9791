//! The sweep's crash matrix (§16, §10.5): for each stage of a previous key's retirement, the
//! process dies at every AWS call of the sweep, before the call's effect and after it with the
//! answer lost. The next sweep must converge on the state a clean sweep reaches, and the current
//! key must work throughout.

mod support;

use std::time::Duration;

use iam_key_rotator::aws::{KeyStatus, AWSCURRENT};
use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::retire::decide::INACTIVE_SINCE_TAG;
use iam_key_rotator::Rotator;

use support::fake::{FakeAws, FUNCTION_ARN};
use support::*;

const HOUR: Duration = Duration::from_secs(3_600);
const DAY: Duration = Duration::from_secs(24 * 3_600);

#[derive(Debug, Clone, Copy)]
enum Stage {
    /// The previous key has been idle long enough: the sweep deactivates and tags.
    Idle,
    /// Inactive, with no tag (a person deactivated it): the sweep tags.
    DeactivatedByHand,
    /// Inactive and tagged, the quarantine over: the sweep deletes and untags.
    QuarantineOver,
}

/// What the sweep leaves once it has converged: the previous key's status (`None`: deleted) and
/// whether the inactive-since tag names it.
fn state(fake: &FakeAws, key_id: &str) -> (Option<KeyStatus>, bool) {
    let status = fake
        .user(USER)
        .keys
        .iter()
        .find(|k| k.id == key_id)
        .map(|k| k.status);
    let tagged = fake
        .secret(SECRET)
        .tags
        .iter()
        .any(|(k, v)| k == INACTIVE_SINCE_TAG && v.starts_with(key_id));
    (status, tagged)
}

async fn sweep(rotator: &Rotator) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    let _ = rotator.sweep(FUNCTION_ARN, deadline).await;
}

async fn prepare(stage: Stage) -> (FakeAws, Rotator, String) {
    let fake = FakeAws::new();
    let rotator = fake.rotator(config(PreviousKeyAction::Retire));
    let (first_key, _) = setup(&fake);
    rotate(&fake, &rotator, SECRET).await.unwrap();
    fake.advance(25 * HOUR);
    match stage {
        Stage::Idle => {}
        Stage::DeactivatedByHand => fake.set_key_status(USER, &first_key, KeyStatus::Inactive),
        Stage::QuarantineOver => {
            sweep(&rotator).await;
            fake.advance(8 * DAY);
        }
    }
    fake.clear_calls();
    (fake, rotator, first_key)
}

async fn calls_of_one_sweep(stage: Stage) -> usize {
    let (fake, rotator, _) = prepare(stage).await;
    sweep(&rotator).await;
    fake.calls().len()
}

#[tokio::test(start_paused = true)]
async fn a_crash_at_any_call_of_the_sweep_converges() {
    let expected = [
        (Stage::Idle, (Some(KeyStatus::Inactive), true)),
        (Stage::DeactivatedByHand, (Some(KeyStatus::Inactive), true)),
        (Stage::QuarantineOver, (None, false)),
    ];
    for (stage, converged) in expected {
        let calls = calls_of_one_sweep(stage).await;
        assert!(calls >= 5, "{stage:?}: {calls} calls");
        for call in 0..calls {
            for after_effect in [false, true] {
                let (fake, rotator, first_key) = prepare(stage).await;
                fake.crash_at(call, after_effect);
                sweep(&rotator).await;
                fake.clear_crash();
                sweep(&rotator).await;
                let case = format!(
                    "{stage:?}, crash at call {call} ({}), after effect: {after_effect}",
                    fake.calls()[call]
                );
                assert_eq!(state(&fake, &first_key), converged, "{case}");
                let current = key_in(&fake, SECRET, AWSCURRENT).unwrap();
                let current_status = state(&fake, &current).0;
                assert_eq!(current_status, Some(KeyStatus::Active), "{case}");

                // And from there the retirement completes.
                fake.advance(8 * DAY);
                sweep(&rotator).await;
                assert_eq!(
                    state(&fake, &first_key),
                    (None, false),
                    "{case}: then deleted"
                );
            }
        }
    }
}
