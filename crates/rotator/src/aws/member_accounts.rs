//! Member accounts through the AWS SDK: sts:AssumeRole with the function's own credentials, then
//! an IAM client signing with the role's session. Sessions are kept per role for the life of the
//! process (a warm Lambda serves many steps and sweeps) and renewed well before they expire.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_iam::config::Credentials;

use super::capabilities::{Iam, MemberAccounts};
use super::error::{answer, AwsError};
use super::iam::SdkIam;

const SERVICE: &str = "sts";
/// One hour: the most a chained role session (the function's role assuming another) may last.
const SESSION_SECONDS: i32 = 3_600;
/// A session with less left than this is renewed: a step or a sweep started on it must finish.
const RENEW_BEFORE: Duration = Duration::from_secs(15 * 60);
/// Shown in the member account's CloudTrail as the session name.
const SESSION_NAME: &str = "iam-key-rotator";

struct Session {
    expires: SystemTime,
    iam: Arc<dyn Iam>,
}

pub struct SdkMemberAccounts {
    client: aws_sdk_sts::Client,
    iam_base: aws_sdk_iam::config::Builder,
    sessions: Mutex<HashMap<String, Session>>,
}

impl SdkMemberAccounts {
    /// Takes the shared configuration: STS signs with the function's credentials; each member
    /// IAM client has that configuration with the session's credentials instead.
    pub fn new(sdk_config: &SdkConfig) -> Self {
        SdkMemberAccounts {
            client: aws_sdk_sts::Client::new(sdk_config),
            iam_base: aws_sdk_iam::config::Builder::from(sdk_config),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn held(&self, role_arn: &str) -> Option<Arc<dyn Iam>> {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let session = sessions.get(role_arn)?;
        let left = session.expires.duration_since(SystemTime::now()).ok()?;
        (left > RENEW_BEFORE).then(|| session.iam.clone())
    }
}

#[async_trait]
impl MemberAccounts for SdkMemberAccounts {
    async fn iam_as(&self, role_arn: &str, external_id: &str) -> Result<Arc<dyn Iam>, AwsError> {
        if let Some(iam) = self.held(role_arn) {
            return Ok(iam);
        }
        let request = self
            .client
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(SESSION_NAME)
            .external_id(external_id)
            .duration_seconds(SESSION_SECONDS);
        let out = answer(SERVICE, "AssumeRole", request.send()).await?;
        let Some(session) = out.credentials() else {
            let message = Some("the answer holds no credentials");
            return Err(AwsError::service(
                SERVICE,
                "AssumeRole",
                None,
                message,
                None,
            ));
        };
        let expires = SystemTime::try_from(*session.expiration()).unwrap_or(SystemTime::UNIX_EPOCH);
        let credentials = Credentials::new(
            session.access_key_id(),
            session.secret_access_key(),
            Some(session.session_token().to_owned()),
            Some(expires),
            "member-role",
        );
        let config = self
            .iam_base
            .clone()
            .credentials_provider(credentials)
            .build();
        let iam: Arc<dyn Iam> = Arc::new(SdkIam::new(aws_sdk_iam::Client::from_conf(config)));
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.insert(
            role_arn.to_owned(),
            Session {
                expires,
                iam: iam.clone(),
            },
        );
        Ok(iam)
    }
}
