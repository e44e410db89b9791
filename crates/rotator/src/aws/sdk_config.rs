//! The SDK configuration the function's clients share, loaded once at start-up.

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use super::https::{https_client, TrustedRoots};

/// Where the credentials and the region come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sources {
    /// Both are in the environment, as Lambda always sets them (the execution role's session and
    /// AWS_REGION): read from there directly.
    Environment { region: String },
    /// Otherwise (a developer's profile under `cargo lambda watch`, say): the SDK's default chains.
    DefaultChains,
}

impl Sources {
    /// The SDK's default credential chain would pick the environment first in the same case, so
    /// this changes where nothing comes from; it only skips building the chains' other providers
    /// (profile files, web identity, container, IMDS), which was a third of our start-up time
    /// (docs/performance.md).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| lookup(name).filter(|v| !v.is_empty());
        match (
            set("AWS_ACCESS_KEY_ID"),
            set("AWS_SECRET_ACCESS_KEY"),
            set("AWS_REGION"),
        ) {
            (Some(_), Some(_), Some(region)) => Sources::Environment { region },
            _ => Sources::DefaultChains,
        }
    }
}

pub async fn load(sources: &Sources, roots: &TrustedRoots) -> SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest()).http_client(https_client(roots));
    let loader = match sources {
        Sources::Environment { region } => loader
            .credentials_provider(EnvironmentVariableCredentialsProvider::new())
            .region(Region::new(region.clone())),
        Sources::DefaultChains => loader,
    };
    loader.load().await
}
