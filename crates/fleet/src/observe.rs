//! What the scan sees of a rotatable secret beyond its value: the user and its keys (in the
//! user's account), the other versions' keys, a stray AWSPENDING; then the verdict.

use super::aws::FleetAws;
use super::classify::{classify, Holding};
use super::key_report::key_report;
use super::report::{PendingReport, SecretReport};
use super::scan::ScanOptions;
use super::time::{epoch_seconds, rfc3339};
use super::verdict::{assess, verdict_of, IamKey, Observed, PreviousKey};
use iam_key_rotator::aws::AwsError;
use iam_key_rotator::aws::{KeyStatus, VersionRef, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use iam_key_rotator::binding::{binding_of, Binding};
use iam_key_rotator::mirror;

impl SecretReport {
    /// IAM (`iam`: where the user is) and the other versions (`aws`: where the secret is),
    /// then the verdict.
    pub(crate) async fn observe(
        &mut self,
        aws: &dyn FleetAws,
        iam: &dyn FleetAws,
        current_key: Option<String>,
        options: &ScanOptions,
    ) -> Result<(), AwsError> {
        let user = self.user.clone().unwrap_or_default();
        if let Some(iam_user) = iam.user(&user).await? {
            self.binding = Some(binding_of(&iam_user.tags, &self.arn));
            self.bound_to = match &self.binding {
                Some(Binding::Bound) => Some(self.arn.clone()),
                Some(Binding::BoundElsewhere(other)) => Some(other.clone()),
                _ => None,
            };
            let tags = iam_user.tags.iter().cloned().collect();
            let (named, _) = mirror::named_by(&tags, &self.arn);
            self.named_mirrors = named.into_iter().map(|target| target.arn).collect();
            if self.binding == Some(Binding::Bound) {
                // Only a bound user's tags name mirrors of this secret (§19).
                self.mirrors = self.named_mirrors.clone();
            }
            self.user_arn = Some(iam_user.arn);
        }
        let user_keys: Option<Vec<IamKey>> = iam.user_keys(&user).await?.map(|keys| {
            keys.into_iter()
                .map(|k| IamKey {
                    id: k.id,
                    active: k.status == KeyStatus::Active,
                    created: epoch_seconds(k.created),
                })
                .collect()
        });

        let mut version_keys: Vec<String> = current_key.iter().cloned().collect();
        let mut other_version_keys = Vec::new();
        let mut previous_key = None;
        for stage in [AWSPREVIOUS, AWSPENDING] {
            let Some(version) = self.entry.version_with(stage) else {
                continue;
            };
            if self.entry.versions[version].iter().any(|s| s == AWSCURRENT) {
                continue;
            }
            let held = aws.value(&self.arn, VersionRef::Id(version)).await?;
            if let Some(Holding::Rotatable {
                access_key_id: Some(id),
                ..
            }) = held.as_ref().map(classify)
            {
                other_version_keys.push(id.clone());
                version_keys.push(id.clone());
                if stage == AWSPREVIOUS && current_key.as_ref() != Some(&id) {
                    previous_key = Some(id.clone());
                }
                if stage == AWSPENDING {
                    self.pending = Some(PendingReport {
                        version_id: version.to_owned(),
                        created: None,
                        key_id: Some(id),
                    });
                }
            }
        }
        let mut pending_since = None;
        if let Some(version) = self.entry.stray_pending().map(str::to_owned) {
            pending_since = aws.version_created(&self.arn, &version).await?;
            let pending = self.pending.get_or_insert(PendingReport {
                version_id: version,
                created: None,
                key_id: None,
            });
            pending.created = pending_since.map(rfc3339);
        }

        let now = options.limits.now;
        if let Some(id) = &current_key {
            self.key = Some(key_report(iam, id, user_keys.as_deref(), now).await?.0);
        }
        let mut previous = None;
        if let Some(id) = &previous_key {
            let (report, used) = key_report(iam, id, user_keys.as_deref(), now).await?;
            let listed = user_keys.iter().flatten().find(|k| &k.id == id).cloned();
            previous = listed.map(|key| PreviousKey { key, used });
            self.previous_key = Some(report);
        }
        self.foreign_keys = user_keys
            .iter()
            .flatten()
            .map(|k| k.id.clone())
            .filter(|id| !version_keys.contains(id))
            .collect();

        let seen = Observed {
            current_key,
            other_version_keys,
            user_keys: user_keys.clone(),
            rotation_enabled: self.rotation.enabled,
            last_rotated: self.rotation.last_rotated,
            next_rotation: self.rotation.next_rotation,
            pending_since,
            user,
            user_arn: self.user_arn.clone(),
            secret_arn: self.arn.clone(),
            binding: self.binding.clone(),
            previous_key: previous.clone(),
        };
        self.previous = previous;
        self.findings = assess(&seen, &options.limits);
        self.verdict = verdict_of(&self.findings);
        self.version_keys = version_keys;
        self.user_key_list = user_keys.unwrap_or_default();
        self.pending_since = pending_since;
        Ok(())
    }
}
