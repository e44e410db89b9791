//! The scan's verdicts (`verdict.rs`), from what a scan observed: no AWS involved.

use iam_key_fleet::aws::LastUsed;
use iam_key_fleet::time::DAY;
use iam_key_fleet::verdict::*;
use iam_key_rotator::binding::Binding;

const NOW: i64 = 1_800_000_000;
const LIMITS: Limits = Limits {
    now: NOW,
    max_key_age_days: 90,
    pending_grace_seconds: 900,
    overdue_grace_seconds: 7_200,
    retire_idle_seconds: 86_400,
};

fn key(id: &str, age_days: i64) -> IamKey {
    IamKey {
        id: id.into(),
        active: true,
        created: NOW - age_days * DAY,
    }
}

fn healthy() -> Observed {
    Observed {
        current_key: Some("AKIA1XXXXXXXXXXXXXXX".into()),
        other_version_keys: vec!["AKIA0XXXXXXXXXXXXXXX".into()],
        user_keys: Some(vec![
            key("AKIA0XXXXXXXXXXXXXXX", 40),
            key("AKIA1XXXXXXXXXXXXXXX", 10),
        ]),
        rotation_enabled: true,
        last_rotated: Some(NOW - 10 * DAY),
        next_rotation: Some(NOW + 20 * DAY),
        pending_since: None,
        user: "ci".into(),
        user_arn: None,
        secret_arn: ARN.into(),
        binding: Some(Binding::Bound),
        previous_key: Some(PreviousKey {
            key: key("AKIA0XXXXXXXXXXXXXXX", 40),
            used: LastUsed {
                user: Some("ci".into()),
                at: Some(NOW - 9 * DAY),
                service: Some("sts".into()),
                region: Some("eu-west-1".into()),
            },
        }),
    }
}

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ci-AbCdEf";

fn verdicts(seen: &Observed) -> Vec<Verdict> {
    assess(seen, &LIMITS).iter().map(|f| f.verdict).collect()
}

#[test]
fn a_rotated_secret_with_its_keys_is_ok() {
    assert_eq!(verdicts(&healthy()), vec![]);
    assert_eq!(verdict_of(&assess(&healthy(), &LIMITS)), Verdict::Ok);
}

#[test]
fn each_problem_gives_its_verdict() {
    type Change = fn(&mut Observed);
    let cases: Vec<(Change, Verdict)> = vec![
        (|s| s.last_rotated = None, Verdict::NeverRotated),
        (|s| s.user_keys = None, Verdict::KeyMissing),
        (
            |s| s.current_key = Some("AKIA9XXXXXXXXXXXXXXX".into()),
            Verdict::KeyMissing,
        ),
        (
            |s| s.user_keys.as_mut().unwrap()[1].active = false,
            Verdict::KeyMissing,
        ),
        (
            |s| s.user_keys.as_mut().unwrap()[1].created = NOW - 91 * DAY,
            Verdict::Stale,
        ),
        (
            |s| s.next_rotation = Some(NOW - 3 * 3_600),
            Verdict::RotationFailing,
        ),
        (
            |s| s.pending_since = Some(NOW - 3_600),
            Verdict::HalfDoneRotation,
        ),
        (
            |s| {
                s.user_keys
                    .as_mut()
                    .unwrap()
                    .push(key("AKIA7XXXXXXXXXXXXXXX", 1))
            },
            Verdict::ForeignKeys,
        ),
        (|s| s.binding = Some(Binding::Unbound), Verdict::Unbound),
        (
            |s| s.binding = Some(Binding::BoundElsewhere("arn:other".into())),
            Verdict::Unbound,
        ),
    ];
    for (change, expected) in cases {
        let mut seen = healthy();
        change(&mut seen);
        assert_eq!(verdict_of(&assess(&seen, &LIMITS)), expected, "{seen:?}");
    }
}

#[test]
fn an_unbound_user_gets_the_command_and_a_bootstrap_value_is_not_bound_by_enable() {
    let mut seen = healthy();
    seen.binding = Some(Binding::Unbound);
    seen.user_arn = Some("arn:aws:iam::111111111111:user/ci".into());
    let with_key = assess(&seen, &LIMITS);
    let bind = format!("enable --bind arn:aws:iam::111111111111:user/ci={ARN}");
    assert!(with_key[0].fix.contains(&bind), "{:?}", with_key[0]);
    assert!(with_key[0].fix.contains(&format!("Value={ARN}")));
    seen.current_key = None;
    let bootstrap = assess(&seen, &LIMITS);
    assert!(!bootstrap[0].fix.contains("enable"), "{:?}", bootstrap[0]);
    assert!(bootstrap[0]
        .fix
        .contains("aws iam tag-user --user-name ci "));
}

#[test]
fn grace_periods_are_respected() {
    let mut seen = healthy();
    seen.pending_since = Some(NOW - 60); // a rotation running now
    seen.next_rotation = Some(NOW - 3_600); // inside its window
    assert_eq!(verdicts(&seen), vec![]);
    let mut off = healthy();
    off.rotation_enabled = false;
    off.next_rotation = Some(NOW - 30 * DAY);
    assert_eq!(
        verdicts(&off),
        vec![],
        "a schedule that is off cannot be overdue"
    );
}

#[test]
fn findings_come_worst_first_and_name_keys_not_secrets() {
    let mut seen = healthy();
    seen.last_rotated = None;
    seen.user_keys
        .as_mut()
        .unwrap()
        .push(key("AKIA7XXXXXXXXXXXXXXX", 1));
    seen.pending_since = Some(NOW - 2 * DAY);
    let findings = assess(&seen, &LIMITS);
    let order: Vec<Verdict> = findings.iter().map(|f| f.verdict).collect();
    assert_eq!(
        order,
        vec![
            Verdict::HalfDoneRotation,
            Verdict::ForeignKeys,
            Verdict::NeverRotated
        ]
    );
    assert!(findings[1].detail.contains("AKIA7XXXXXXXXXXXXXXX"));
    assert!(findings[0].detail.contains("2 days"));
}

#[test]
fn a_previous_key_still_used_a_day_after_the_rotation_is_reported_with_where() {
    let mut seen = healthy();
    seen.previous_key.as_mut().unwrap().used.at = Some(NOW - 3_600);
    let findings = assess(&seen, &LIMITS);
    assert_eq!(verdict_of(&findings), Verdict::PreviousKeyInUse);
    let detail = &findings[0].detail;
    assert!(
        detail.contains("AKIA0XXXXXXXXXXXXXXX") && detail.contains("by sts in eu-west-1"),
        "{detail}"
    );

    // Not while consumers still have their idle time to move, nor once it is unused, nor when
    // it is Inactive.
    type Change = fn(&mut Observed);
    let quiet: [Change; 3] = [
        |s| s.last_rotated = Some(NOW - 2 * 3_600),
        |s| s.previous_key.as_mut().unwrap().used.at = Some(NOW - 2 * DAY),
        |s| s.previous_key.as_mut().unwrap().key.active = false,
    ];
    for change in quiet {
        let mut other = seen.clone();
        change(&mut other);
        assert_eq!(verdicts(&other), vec![]);
    }
}
