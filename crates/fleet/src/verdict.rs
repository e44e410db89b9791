//! The verdict on one secret, from what the scan observed. Pure: times are passed in.

use std::fmt;

use serde::Serialize;

use super::aws::LastUsed;
use super::commands::bind_command;
use super::time::{human_age, DAY};
use iam_key_rotator::binding::{tag_user_command, Binding, BINDING_TAG};

/// The verdicts, worst first: a secret's verdict is the worst of its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Key material stored in a way the function cannot rotate.
    NotRotatable,
    /// The scan could not read the value or the user (permissions, or gone).
    Unreadable,
    /// AWSPENDING left on a version that is not AWSCURRENT, older than a rotation could take.
    HalfDoneRotation,
    /// The key in AWSCURRENT is not on the user, or is inactive, or the user does not exist.
    KeyMissing,
    /// The key pair is also in another secret of the run (any account or Region): whoever can
    /// read either has it, and which secret should rotate the user is an administrator's call.
    DuplicateKey,
    /// The user is not bound to this secret (§15): the function refuses to rotate it.
    Unbound,
    /// Rotation is on but overdue: the last one failed or never ran.
    RotationFailing,
    /// The user has keys that no version of the secret holds.
    ForeignKeys,
    /// The key is older than the maximum age.
    Stale,
    /// The previous key is still used, longer after the rotation than the retire idle time: a
    /// consumer has not read the secret again (§16).
    PreviousKeyInUse,
    /// No rotation has ever completed.
    NeverRotated,
    /// A mirror (§19): it claims a source, whose rotation writes it; nothing is judged here.
    Mirror,
    /// A replica of a secret whose primary is in another Region: Secrets Manager rotates the
    /// primary and copies it here, so nothing is judged or done in this Region (§17).
    Replica,
    Ok,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::NotRotatable => "not-rotatable",
            Verdict::Unreadable => "unreadable",
            Verdict::HalfDoneRotation => "half-done-rotation",
            Verdict::KeyMissing => "key-missing",
            Verdict::DuplicateKey => "duplicate-key",
            Verdict::Unbound => "unbound",
            Verdict::RotationFailing => "rotation-failing",
            Verdict::ForeignKeys => "foreign-keys",
            Verdict::PreviousKeyInUse => "previous-key-in-use",
            Verdict::Stale => "stale",
            Verdict::NeverRotated => "never-rotated",
            Verdict::Mirror => "mirror",
            Verdict::Replica => "replica",
            Verdict::Ok => "ok",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing wrong with a secret, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub verdict: Verdict,
    pub detail: String,
    pub fix: String,
}

impl Finding {
    fn new(verdict: Verdict, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Finding {
            verdict,
            detail: detail.into(),
            fix: fix.into(),
        }
    }
}

/// A key as IAM lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IamKey {
    pub id: String,
    pub active: bool,
    /// Seconds since the epoch.
    pub created: i64,
}

/// What the scan saw of a rotatable secret, in the terms the verdict needs.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The key id in AWSCURRENT; `None` for a bootstrap value.
    pub current_key: Option<String>,
    /// Key ids in the AWSPREVIOUS and AWSPENDING values.
    pub other_version_keys: Vec<String>,
    /// The user's keys; `None` when the user does not exist.
    pub user_keys: Option<Vec<IamKey>>,
    pub rotation_enabled: bool,
    /// Seconds since the epoch.
    pub last_rotated: Option<i64>,
    pub next_rotation: Option<i64>,
    /// When the version carrying AWSPENDING (and not AWSCURRENT) was created, if there is one.
    pub pending_since: Option<i64>,
    /// The user (and its ARN) and the secret, for the command that binds them.
    pub user: String,
    pub user_arn: Option<String>,
    pub secret_arn: String,
    /// How the user stands towards this secret; `None` when the user does not exist.
    pub binding: Option<Binding>,
    /// The AWSPREVIOUS key when it is the user's and not the current key, with its last use.
    pub previous_key: Option<PreviousKey>,
}

/// The previous key as the verdict needs it: the key, and IAM's record of its last use.
#[derive(Debug, Clone, Default)]
pub struct PreviousKey {
    pub key: IamKey,
    pub used: LastUsed,
}

/// The thresholds a scan judges by.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub now: i64,
    pub max_key_age_days: i64,
    /// A pending version younger than this may be a rotation running now.
    pub pending_grace_seconds: i64,
    /// How late a scheduled rotation may be (its window) before it counts as failing.
    pub overdue_grace_seconds: i64,
    /// How long after a rotation consumers have to move off the previous key (the function's
    /// RETIRE_IDLE_HOURS).
    pub retire_idle_seconds: i64,
}

/// The findings for a rotatable secret, worst first; empty means ok.
pub fn assess(seen: &Observed, limits: &Limits) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(since) = seen.pending_since {
        let age = limits.now - since;
        if age >= limits.pending_grace_seconds {
            findings.push(Finding::new(
                Verdict::HalfDoneRotation,
                format!("AWSPENDING is on a version that is not AWSCURRENT, since {} ago", human_age(age)),
                "look at the rotation function's logs for the error; then `iam-key-fleet unstick` (or rotate again once fixed)",
            ));
        }
    }
    match (&seen.user_keys, &seen.current_key) {
        (None, _) => findings.push(Finding::new(
            Verdict::KeyMissing,
            "the IAM user does not exist",
            "create the user or correct UserName (or the user-name template)",
        )),
        (Some(keys), Some(current)) => match keys.iter().find(|k| &k.id == current) {
            None => findings.push(Finding::new(
                Verdict::KeyMissing,
                format!("the key {current} in AWSCURRENT is not one of the user's keys"),
                "rotate the secret to issue a key the secret holds (the function then makes a new one)",
            )),
            Some(key) if !key.active => findings.push(Finding::new(
                Verdict::KeyMissing,
                format!("the key {current} in AWSCURRENT is inactive"),
                "reactivate it if it was a mistake, else rotate",
            )),
            Some(key) => {
                let age = limits.now - key.created;
                if age > limits.max_key_age_days * DAY {
                    findings.push(Finding::new(
                        Verdict::Stale,
                        format!(
                            "the key {current} is {} old (limit {} days)",
                            human_age(age),
                            limits.max_key_age_days
                        ),
                        "rotate it: `iam-key-fleet rotate`",
                    ));
                }
            }
        },
        (Some(_), None) => {}
    }
    if let Some(finding) = binding_finding(seen) {
        findings.push(finding);
    }
    if seen.rotation_enabled {
        if let Some(next) = seen.next_rotation {
            let late = limits.now - next;
            if late > limits.overdue_grace_seconds {
                findings.push(Finding::new(
                    Verdict::RotationFailing,
                    format!("the scheduled rotation is {} overdue", human_age(late)),
                    "look at the rotation function's logs and its alarm",
                ));
            }
        }
    }
    if let Some(keys) = &seen.user_keys {
        let foreign: Vec<&str> = keys
            .iter()
            .map(|k| k.id.as_str())
            .filter(|id| {
                seen.current_key.as_deref() != Some(*id)
                    && !seen.other_version_keys.iter().any(|k| k == id)
            })
            .collect();
        if !foreign.is_empty() {
            findings.push(Finding::new(
                Verdict::ForeignKeys,
                format!("the user also has {} that no version of the secret holds", foreign.join(", ")),
                "find who made it (CloudTrail CreateAccessKey) and delete it if nobody should have it",
            ));
        }
    }
    if let Some(finding) = previous_key_finding(seen, limits) {
        findings.push(finding);
    }
    if seen.last_rotated.is_none() {
        let fix = match seen.rotation_enabled {
            true => "`iam-key-fleet rotate` to rotate now",
            false => "`iam-key-fleet enable` then `iam-key-fleet rotate`",
        };
        let never = "no rotation has completed";
        findings.push(Finding::new(Verdict::NeverRotated, never, fix));
    }
    findings.sort_by_key(|f| f.verdict);
    findings
}

/// §15: the function rotates the secret only once its user is bound to it, an administrator's
/// explicit act (`enable --bind`, on proof: see bind.rs); a bootstrap value proves nothing.
fn binding_finding(seen: &Observed) -> Option<Finding> {
    let command = tag_user_command(&seen.user, &seen.secret_arn);
    match (seen.binding.as_ref()?, &seen.current_key) {
        (Binding::Bound, _) => None,
        (Binding::Unbound, Some(_)) => Some(Finding::new(
            Verdict::Unbound,
            format!("the user has no tag {BINDING_TAG} naming this secret: the function refuses to rotate it"),
            format!("if this secret is the one that should rotate the user, an IAM administrator binds it: `{}` (it first checks that the stored key is the user's and that no other secret holds it), or `{command}`", bind_command(seen.user_arn.as_deref().unwrap_or("USER_ARN"), &seen.secret_arn)),
        )),
        (Binding::Unbound, None) => Some(Finding::new(
            Verdict::Unbound,
            format!("a bootstrap value (UserName only) for a user with no tag {BINDING_TAG}: whoever can write the secret can name any user, so it proves nothing and `enable` does not bind it"),
            format!("if this secret is meant to hold the key of {}, an IAM administrator runs `{command}`", seen.user),
        )),
        (Binding::BoundElsewhere(other), _) => Some(Finding::new(
            Verdict::Unbound,
            format!("the user is bound to another secret, {other}: one secret per user"),
            format!("delete this secret, or stop rotating the other one and have an IAM administrator run `{command}`"),
        )),
    }
}

/// §16: an Active previous key used recently, while the rotation is longer ago than the idle
/// time: some consumer still signs with the old key, and under retire it keeps the key alive.
fn previous_key_finding(seen: &Observed, limits: &Limits) -> Option<Finding> {
    let previous = seen.previous_key.as_ref().filter(|p| p.key.active)?;
    let used = previous.used.at?;
    let rotated = seen.last_rotated?;
    let idle = limits.retire_idle_seconds;
    if limits.now - used >= idle || limits.now - rotated < idle {
        return None;
    }
    let place = match (&previous.used.service, &previous.used.region) {
        (Some(service), Some(region)) => format!(" by {service} in {region}"),
        (Some(service), None) => format!(" by {service}"),
        _ => String::new(),
    };
    Some(Finding::new(
        Verdict::PreviousKeyInUse,
        format!(
            "the previous key {} was last used {} ago{place}, {} after the rotation",
            previous.key.id,
            human_age(limits.now - used),
            human_age(used - rotated),
        ),
        "find the consumer by where it was last used and have it read the secret again (GetSecretValue); under PREVIOUS_KEY_ACTION=retire the key is not retired while it is used",
    ))
}

/// The verdict of a list of findings: the worst, or ok.
pub fn verdict_of(findings: &[Finding]) -> Verdict {
    findings
        .iter()
        .map(|f| f.verdict)
        .min()
        .unwrap_or(Verdict::Ok)
}
