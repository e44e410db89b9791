//! The steps' side of the mirrors (issue 23, §19): finishSecret writes them once the new key is
//! AWSCURRENT, and before anything is done to the previous key; createSecret brings them up to
//! date before it deletes a previous key to make room. A mirror not written keeps the previous
//! key, which its consumers may still read from it.

use super::context::Rotation;
use crate::aws::{AWSCURRENT, AWSPREVIOUS};
use crate::error::Problem;
use crate::holder::Holder;
use crate::mirror_writes::{self, Report, SourceRead, Targets};
use crate::secret_value::SecretValue;

impl Rotation<'_> {
    /// Brings every mirror the user names to `current`, the value of the AWSCURRENT version
    /// `current_version`, and says what it did (events and metrics too).
    async fn bring_mirrors_up_to_date(
        &self,
        current: &SecretValue,
        (current_version, previous_version): (&str, Option<&str>),
        user: &Holder,
    ) -> Result<Report, Problem> {
        let targets = Targets {
            secrets: &*self.rotator.secrets,
            parameters: &*self.rotator.parameters,
            sts: &*self.rotator.sts,
        };
        let read = SourceRead {
            arn: &self.metadata.arn,
            current,
            current_version,
            previous_version,
            announce_failures: true,
        };
        let iam = self.iam(user).await?;
        let events = &*self.rotator.events;
        Ok(mirror_writes::pass(targets, events, (&*iam, user), &read).await?)
    }

    /// finishSecret's pass: the rotation's version is AWSCURRENT now, `previous_version` the one
    /// it took the label from. `Err` (transient) when a mirror is not written: the previous key
    /// is left alone, and the sweep or Secrets Manager's retry writes the mirror again.
    pub(super) async fn write_mirrors(
        &self,
        current: &SecretValue,
        previous_version: Option<&str>,
        user: &Holder,
    ) -> Result<(), Problem> {
        let versions = (self.event.token.as_str(), previous_version);
        let report = self
            .bring_mirrors_up_to_date(current, versions, user)
            .await?;
        not_written(&report, Vec::new())
    }

    /// createSecret's pass, before a previous key is deleted to make room (`current`: the
    /// AWSCURRENT value as read now). The previous key may go only when every mirror already
    /// held the current key: a mirror written just now gives its consumers no time to move off
    /// the previous key, so the deletion waits for a later attempt (transient).
    pub(super) async fn mirrors_held_current(
        &self,
        current: &SecretValue,
        user: &Holder,
    ) -> Result<(), Problem> {
        let Some(version) = self.metadata.version_with(AWSCURRENT) else {
            return Ok(());
        };
        let versions = (version, self.metadata.version_with(AWSPREVIOUS));
        let report = self
            .bring_mirrors_up_to_date(current, versions, user)
            .await?;
        let just_written = report.written.iter().chain(&report.repaired);
        let just_written = just_written.map(|arn| {
            format!("{arn} (it held another key until now: its consumers get time to move before the previous key is deleted)")
        });
        not_written(&report, just_written.collect())
    }
}

fn not_written(report: &Report, mut reasons: Vec<String>) -> Result<(), Problem> {
    if report.all_hold() && !report.restarted && reasons.is_empty() {
        return Ok(());
    }
    let not_written = report.refused.iter().chain(&report.failed);
    reasons.extend(not_written.map(|r| format!("{} ({})", r.target, r.reason)));
    if (report.current_moved || report.restarted) && reasons.is_empty() {
        reasons.push("AWSCURRENT moved while the mirrors were written (a person's edit): the previous key is left alone, and the retry finds the edit".into());
    }
    Err(Problem::MirrorNotWritten { reasons })
}
