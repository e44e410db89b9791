//! `iam-key-fleet unstick`'s rule for which keys an abandoned rotation made (issue 12): only keys
//! no labelled version holds, made within the rotation's window after its pending version. The
//! end-to-end tests (tests/e2e/test_fleet.py) cover the re-reading and the last-use proof.

use std::collections::BTreeSet;

use iam_key_fleet::unstick::{is_candidate, window_seconds, Repair};

const DAY: i64 = 86_400;

fn repair(window: i64) -> Repair {
    Repair {
        pending_version: "v-pending".into(),
        started: 1_000_000,
        window,
    }
}

#[test]
fn a_key_held_by_a_labelled_version_is_never_a_candidate() {
    let held: BTreeSet<String> = ["AKIACURRENTXXXXXXXXX".to_owned()].into();
    // (a): a pending value staged by hand with AWSCURRENT's key: that key stays held.
    assert!(!is_candidate(
        "AKIACURRENTXXXXXXXXX",
        1_000_010,
        &held,
        &repair(DAY)
    ));
    assert!(is_candidate(
        "AKIAOTHERXXXXXXXXXXX",
        1_000_010,
        &held,
        &repair(DAY)
    ));
}

#[test]
fn only_keys_made_within_the_rotation_window_are_candidates() {
    let none = BTreeSet::new();
    let r = repair(2 * 3_600);
    assert!(
        !is_candidate("K", 1_000_000, &none, &r),
        "the second it started"
    );
    assert!(!is_candidate("K", 999_000, &none, &r), "before");
    assert!(is_candidate("K", 1_000_000 + 2 * 3_600, &none, &r));
    // (c): weeks later, a key a person made is not this rotation's.
    assert!(!is_candidate("K", 1_000_000 + 21 * DAY, &none, &r));
}

#[test]
fn the_window_is_the_secrets_or_the_longest() {
    assert_eq!(window_seconds(Some("2h")), 7_200);
    assert_eq!(window_seconds(Some("24h")), DAY);
    assert_eq!(window_seconds(None), DAY);
    assert_eq!(window_seconds(Some("bogus")), DAY);
}
