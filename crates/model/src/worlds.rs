//! The worlds the checker explores, each exhaustively to its depth: one model, with the actors
//! and the start that bring out one part of the lifecycle within a depth a checker covers in
//! seconds. Each of issue 21's findings lies within one of them (docs/reliability.md).

use std::time::Duration;

use iam_key_rotator::config::PreviousKeyAction;
use iam_key_rotator::Config;

use crate::hands::HandKind::{self, *};
use crate::model::{Lifecycle, Start};
use crate::properties::{
    SEEN_ALARM, SEEN_ENFORCED, SEEN_IDLE_RETIRED, SEEN_MIRROR, SEEN_ROTATION, SEEN_SWEEP_DELETE,
};
use crate::world::{DAY, HOUR};

/// The function's settings in the model: `retire`, with the shortest times the configuration
/// allows, so that idle, deadline and quarantine all fall within a few days.
pub fn config(enforce: bool) -> Config {
    Config {
        previous_key_action: PreviousKeyAction::Retire,
        retire_idle: Duration::from_secs(8 * 3_600),
        retire_quarantine: Duration::from_secs(86_400),
        retire_deadline: Duration::from_secs(86_400),
        retire_enforce_deadline: enforce,
        sweep_interval: Duration::from_secs(3_600),
        ..Config::default()
    }
}

fn world(name: &'static str, enforce: bool, start: Start, hands: Vec<HandKind>) -> Lifecycle {
    Lifecycle {
        name,
        config: config(enforce),
        start,
        crashes: false,
        unstick: false,
        hands,
        advances: vec![4 * HOUR, DAY],
        horizon: 2 * DAY,
        reaches: 0,
        second_consumer: false,
        mirror: false,
    }
}

/// Every world, with the depth `make test` explores it to.
pub fn all() -> Vec<(Lifecycle, usize)> {
    let tags = || vec![TagFutureReactivation, TagUnknownSetting, TagHarsherSetting];
    let mut alarm = world(
        "a consumer that never moves; setting and bookkeeping tags by anyone; alarm only",
        false,
        Start::AfterRotation,
        tags(),
    );
    alarm.reaches = SEEN_ALARM;
    let mut enforced = world(
        "a consumer that never moves; tags by anyone; an enforced deadline",
        true,
        Start::AfterRotation,
        tags(),
    );
    enforced.reaches = SEEN_ENFORCED;
    let mut quarantine = world(
        "the previous key deactivated and reactivated by hand; bookkeeping dates by anyone",
        true,
        Start::AfterRotation,
        vec![
            DeactivatePrevious,
            ReactivatePrevious,
            TagPastInactive,
            TagFutureInactive,
        ],
    );
    quarantine.advances = vec![DAY, 2 * DAY];
    quarantine.horizon = 3 * DAY;
    quarantine.reaches = SEEN_SWEEP_DELETE;
    let mut crashes = world(
        "crashes between any two calls; a key made by hand for a consumer; unstick",
        false,
        Start::CurrentOnly,
        vec![CreateForConsumer],
    );
    crashes.crashes = true;
    crashes.unstick = true;
    crashes.second_consumer = true;
    crashes.reaches = SEEN_ROTATION;
    let mut attacks = world(
        "values written by others: another user's key, swapped fields; the binding removed",
        false,
        Start::CurrentOnly,
        vec![PutOthersKey, PutSwapped, Unbind],
    );
    attacks.crashes = true;
    attacks.reaches = SEEN_ROTATION;
    let mut mirrors = world(
        "a mirror behind, written by hand, its claim removed; a consumer reading it; rotations",
        false,
        Start::AfterRotation,
        vec![WriteMirror, ToggleClaim],
    );
    mirrors.mirror = true;
    mirrors.reaches = SEEN_MIRROR | SEEN_IDLE_RETIRED;
    vec![
        (mirrors, 14),
        (alarm, 12),
        (enforced, 12),
        (quarantine, 15),
        (crashes, 12),
        (attacks, 12),
    ]
}
