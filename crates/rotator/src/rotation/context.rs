//! What every step works with: the function's state ([`Rotator`], built once per process) and one
//! step of one rotation ([`Rotation`]), with the reads and checks the steps share.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::time::Instant;
use tracing::info;

use crate::aws::{
    Events, Iam, MemberAccounts, ParameterStore, SecretMetadata, SecretsManager, Sts, VersionRef,
    AWSCURRENT, AWSPENDING,
};
use crate::binding::{self, Binding};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::Problem;
use crate::event::RotationEvent;
use crate::holder::{self, arn_partition, Holder};
use crate::messages::Unbound;
use crate::overrides::Effective;
use crate::secret_value::SecretValue;
use crate::user_name::NoUser;

/// The function's state: configuration, the AWS services and the clock, built once per process.
pub struct Rotator {
    pub config: Config,
    pub secrets: Arc<dyn SecretsManager>,
    /// IAM of the function's own account.
    pub iam: Arc<dyn Iam>,
    /// IAM of member accounts, through the member role (§17).
    pub members: Arc<dyn MemberAccounts>,
    pub sts: Arc<dyn Sts>,
    /// SSM Parameter Store, for the mirrors that are parameters (issue 23).
    pub parameters: Arc<dyn ParameterStore>,
    pub events: Arc<dyn Events>,
    pub clock: Arc<dyn Clock>,
}

impl Rotator {
    /// IAM where `holder` is: the function's own, or the member account's as the member role.
    /// A refused AssumeRole is permanent and names the account and the role; throttling and the
    /// like stay transient.
    pub(crate) async fn iam_for(
        &self,
        holder: &Holder,
        secret_arn: &str,
    ) -> Result<Arc<dyn Iam>, Problem> {
        let Some(account) = &holder.account else {
            return Ok(self.iam.clone());
        };
        let Some(role) = &self.config.member_role else {
            return Err(Problem::CrossAccountNotConfigured {
                account: account.clone(),
            });
        };
        let role_arn = role.arn(arn_partition(secret_arn), account);
        match self.members.iam_as(&role_arn, &role.external_id).await {
            Ok(iam) => Ok(iam),
            Err(e) if e.is_transient() => Err(e.into()),
            Err(e) => Err(Problem::MemberRoleRefused {
                account: account.clone(),
                role_arn,
                reason: e.to_string(),
            }),
        }
    }
}

/// The CreatedDates of this rotation's version (when it started) and of the AWSCURRENT version.
#[derive(Debug, Clone, Copy)]
pub(super) struct VersionDates {
    pub(super) started: SystemTime,
    pub(super) current: SystemTime,
}

/// One step of one rotation, after the checks: what each step module works with.
pub(super) struct Rotation<'a> {
    pub(super) rotator: &'a Rotator,
    pub(super) event: &'a RotationEvent,
    pub(super) metadata: SecretMetadata,
    /// The configuration with the secret's tags over it (`overrides.rs`).
    pub(super) settings: Effective,
    /// testSecret must have answered by then.
    pub(super) deadline: Instant,
}

impl Rotation<'_> {
    pub(super) fn secret_id(&self) -> &str {
        &self.event.secret_id
    }

    pub(super) fn config(&self) -> &Config {
        &self.rotator.config
    }

    pub(super) fn pending(&self) -> VersionRef<'_> {
        VersionRef::IdAndStage(&self.event.token, AWSPENDING)
    }

    /// Reads and parses a version; `None` when it holds no value.
    pub(super) async fn read_value(
        &self,
        version: VersionRef<'_>,
    ) -> Result<Option<SecretValue>, Problem> {
        let Some(raw) = self
            .rotator
            .secrets
            .get_secret_value(self.secret_id(), version)
            .await?
        else {
            return Ok(None);
        };
        SecretValue::parse(&raw)
            .map(Some)
            .map_err(|reason| Problem::InvalidSecretValue {
                version: version.to_string(),
                reason,
            })
    }

    /// Reads a version that must hold a value.
    pub(super) async fn require_value(
        &self,
        version: VersionRef<'_>,
        hint: &'static str,
    ) -> Result<SecretValue, Problem> {
        self.read_value(version)
            .await?
            .ok_or_else(|| Problem::MissingValue {
                version: version.to_string(),
                hint,
            })
    }

    /// The AWSCURRENT value, which must exist (`hint` says what it must hold), and its holder.
    pub(super) async fn current_value_and_user(
        &self,
        hint: &'static str,
    ) -> Result<(SecretValue, Holder), Problem> {
        let current = self
            .require_value(VersionRef::Stage(AWSCURRENT), hint)
            .await?;
        let template = self.config().user_name_template.as_ref();
        let current = holder::with_key_owner(current, template, &*self.rotator.iam).await?;
        let user = self
            .resolve_user(&current, VersionRef::Stage(AWSCURRENT))
            .await?;
        Ok((current, user))
    }

    /// The user a text names (issue 23): the owner of AWSCURRENT's key, which holds the same
    /// user as every version of a rotation; each step then proves the version's key is that
    /// user's (setSecret lists the user's keys, testSecret asks STS).
    async fn current_owner(&self) -> Result<Option<String>, Problem> {
        let Some(current) = self.read_value(VersionRef::Stage(AWSCURRENT)).await? else {
            return Ok(None);
        };
        let template = self.config().user_name_template.as_ref();
        let current = holder::with_key_owner(current, template, &*self.rotator.iam).await?;
        Ok(current.user_name().map(str::to_owned))
    }

    /// Who holds a value's key: its UserName, or the template over the secret's name (§4), in
    /// its AccountId (§17).
    pub(super) async fn resolve_user(
        &self,
        value: &SecretValue,
        version: VersionRef<'_>,
    ) -> Result<Holder, Problem> {
        let template = self.config().user_name_template.as_ref();
        let owned;
        let value = match (value.text_format(), value.user_name(), template) {
            (Some(_), None, None) => {
                owned = value.clone().with_key_owner(self.current_owner().await?);
                &owned
            }
            _ => value,
        };
        let (name, arn) = (&self.metadata.name, &self.metadata.arn);
        let holder =
            Holder::of(value, template, name, arn).map_err(|why| match (why, template) {
                (NoUser::TemplateMismatch(reason), Some(template)) => Problem::TemplateMismatch {
                    template: template.as_str().to_owned(),
                    secret_name: self.metadata.name.clone(),
                    reason,
                },
                _ => Problem::NoUserName {
                    version: version.to_string(),
                },
            })?;
        let span = tracing::Span::current();
        span.record("user", holder.user.as_str());
        if let Some(account) = &holder.account {
            span.record("account", account.as_str());
        }
        Ok(holder)
    }

    /// IAM where the holder is (the member account's, for a value with AccountId).
    pub(super) async fn iam(&self, holder: &Holder) -> Result<Arc<dyn Iam>, Problem> {
        self.rotator.iam_for(holder, &self.metadata.arn).await
    }

    /// §15: the user must carry the binding tag naming this very secret before any of its keys
    /// is created, deleted or deactivated. GetUser gives the tags (and fails for a user that
    /// does not exist).
    pub(super) async fn require_binding(&self, user: &Holder) -> Result<(), Problem> {
        let secret_arn = &self.metadata.arn;
        binding::check_bindable(secret_arn)
            .map_err(|length| Problem::SecretArnTooLong { length })?;
        let iam_user = self.iam(user).await?.get_user(&user.user).await?;
        let bound_to = match binding::binding_of(&iam_user.tags, secret_arn) {
            Binding::Bound => return Ok(()),
            Binding::Unbound => None,
            Binding::BoundElsewhere(other) => Some(other),
        };
        Err(Problem::UserNotBound(Box::new(Unbound {
            user: user.user.clone(),
            account: user.account.clone(),
            secret_arn: secret_arn.clone(),
            bound_to,
        })))
    }

    /// §9: AWSCURRENT must still be on a version older than this rotation, and the rotation's
    /// version must never have been current. Otherwise someone changed AWSCURRENT by hand during
    /// the rotation (a new value, or a label moved back), and going on would silently revert it.
    /// Unknown creation dates fail closed. Returns the two versions' CreatedDates, which
    /// createSecret needs too (when this rotation started, for the orphan rule; when the current
    /// version was written, for the promotion): one listing serves all.
    pub(super) async fn refuse_a_hand_edit(&self) -> Result<Option<VersionDates>, Problem> {
        let token = &self.event.token;
        let refuse = |reason: String| {
            Err(Problem::CurrentWrittenDuringRotation {
                reason,
                token: token.clone(),
            })
        };
        let labels = self.metadata.stages_of(token).unwrap_or_default();
        if let Some(other) = labels.iter().find(|s| *s != AWSPENDING) {
            return refuse(format!(
                "this rotation's version {token} also carries {other}: it was AWSCURRENT, and AWSCURRENT was moved off it by hand"
            ));
        }
        let Some(current) = self.metadata.version_with(AWSCURRENT) else {
            return Ok(None);
        };
        let created = self
            .rotator
            .secrets
            .versions_created(self.secret_id())
            .await?;
        match (created.get(current), created.get(token)) {
            (Some(current_at), Some(started)) if current_at <= started => Ok(Some(VersionDates {
                started: *started,
                current: *current_at,
            })),
            (Some(_), Some(_)) => refuse(format!(
                "AWSCURRENT is on version {current}, written after this rotation started"
            )),
            _ => refuse(format!(
                "Secrets Manager gives no creation date for version {current} or {token}, so whether AWSCURRENT was written during this rotation cannot be told"
            )),
        }
    }

    /// Deletes a key; one already gone counts as deleted, so a retry converges.
    pub(super) async fn delete_key(
        &self,
        user: &Holder,
        key_id: &str,
        reason: &str,
    ) -> Result<(), Problem> {
        let iam = self.iam(user).await?;
        match iam.delete_access_key(&user.user, key_id).await {
            Ok(()) => info!(%key_id, reason, "deleted access key"),
            Err(e) if e.is_not_found() => info!(%key_id, reason, "access key already deleted"),
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }
}
