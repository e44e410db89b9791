//! The AWS services the rotation needs, behind small capability traits.
//!
//! The step code in `rotation/` only sees the traits (`capabilities.rs`), so the same steps run
//! against the real SDK (`iam.rs`, `secrets_manager.rs`, `ssm.rs`, `sts.rs`) and against the in-memory fake
//! the tests use. A failed call is an [`AwsError`] (`error.rs`), classified beside the adapters.

mod capabilities;
mod error;
mod events;
pub mod https;
mod iam;
mod member_accounts;
mod parameter_store;
pub mod sdk_config;
mod secrets_manager;
mod ssm;
mod sts;

pub use capabilities::*;
pub use error::{answer, sdk_error, AwsError, AwsErrorKind};
pub use events::SdkEvents;
pub use iam::SdkIam;
pub use member_accounts::SdkMemberAccounts;
pub use parameter_store::{ParameterInfo, ParameterStore, SECURE_STRING};
pub use secrets_manager::SdkSecretsManager;
pub use ssm::SdkSsm;
pub use sts::SdkSts;
