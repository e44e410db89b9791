//! The formats a mirror may ask for, by its tags: `iam-key-rotator:mirror-format` and, for a
//! credentials file, `iam-key-rotator:mirror-profile`.

use std::collections::BTreeMap;

use crate::key_text::{valid_profile, TextFormat};

pub const FORMAT_TAG: &str = "iam-key-rotator:mirror-format";
pub const PROFILE_TAG: &str = "iam-key-rotator:mirror-profile";

/// What a mirror holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MirrorFormat {
    AccessKeyId,
    SecretAccessKey,
    Text(TextFormat),
    /// `{"AccessKeyId", "SecretAccessKey"}`, other fields of the target kept.
    Json,
}

/// The format a target's tags ask for.
pub fn format_of(tags: &BTreeMap<String, String>) -> Result<MirrorFormat, String> {
    let profile = tags
        .get(PROFILE_TAG)
        .map(String::as_str)
        .unwrap_or("default");
    match tags.get(FORMAT_TAG).map(String::as_str) {
        Some("access-key-id") => Ok(MirrorFormat::AccessKeyId),
        Some("secret-access-key") => Ok(MirrorFormat::SecretAccessKey),
        Some("dotenv") => Ok(MirrorFormat::Text(TextFormat::Dotenv)),
        Some("json") => Ok(MirrorFormat::Json),
        Some("credentials-file") if valid_profile(profile) => {
            Ok(MirrorFormat::Text(TextFormat::CredentialsFile { profile: profile.to_owned() }))
        }
        Some("credentials-file") => Err(format!(
            "its tag {PROFILE_TAG} is not a profile name (letters, digits, and - _ . @ + / only)"
        )),
        Some(_) | None => Err(format!(
            "its tag {FORMAT_TAG} is not one of access-key-id, secret-access-key, credentials-file, dotenv, json"
        )),
    }
}
