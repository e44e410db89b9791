//! The role the function assumes in a member account to manage its users' keys (§17), as
//! MEMBER_ROLE_NAME, MEMBER_ROLE_PATH and MEMBER_ROLE_EXTERNAL_ID configure it. Unset, the
//! function works in its own account only, and refuses a value that names another.

pub const MEMBER_ROLE_NAME: &str = "MEMBER_ROLE_NAME";
pub const MEMBER_ROLE_PATH: &str = "MEMBER_ROLE_PATH";
pub const MEMBER_ROLE_EXTERNAL_ID: &str = "MEMBER_ROLE_EXTERNAL_ID";

/// A variable with a value it does not accept (config.rs makes it a `ConfigError`).
#[derive(Debug)]
pub struct Invalid {
    pub variable: &'static str,
    pub value: String,
    pub problem: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRole {
    pub name: String,
    /// `/` or `/a/b/`, as IAM writes paths.
    pub path: String,
    /// What the role's trust policy expects in sts:ExternalId: a member account's role then
    /// works for this function only, not for another service handed the same role name.
    pub external_id: String,
}

impl MemberRole {
    /// The role in `account`, in the partition of the secret being rotated.
    pub fn arn(&self, partition: &str, account: &str) -> String {
        format!(
            "arn:{partition}:iam::{account}:role{}{}",
            self.path, self.name
        )
    }

    /// Reads the three variables; `Ok(None)` when none is set.
    pub fn from_lookup(
        get: impl Fn(&'static str) -> Option<String>,
    ) -> Result<Option<MemberRole>, Invalid> {
        let (name, path, external_id) = (
            get(MEMBER_ROLE_NAME),
            get(MEMBER_ROLE_PATH),
            get(MEMBER_ROLE_EXTERNAL_ID),
        );
        let error = |variable, value: &str, problem| Invalid {
            variable,
            value: value.to_owned(),
            problem,
        };
        let Some(name) = name else {
            if external_id.is_some() {
                let problem = "set MEMBER_ROLE_NAME too, or neither";
                return Err(error(MEMBER_ROLE_EXTERNAL_ID, "(not shown)", problem));
            }
            // The template passes its default path even with cross-account off.
            return match path {
                Some(path) if path != "/" => Err(error(
                    MEMBER_ROLE_PATH,
                    &path,
                    "set MEMBER_ROLE_NAME too, or neither",
                )),
                _ => Ok(None),
            };
        };
        let name_chars = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
        if name.is_empty() || name.len() > 64 || !name.chars().all(name_chars) {
            return Err(error(
                MEMBER_ROLE_NAME,
                &name,
                "an IAM role name: 1 to 64 letters, digits and +=,.@_-",
            ));
        }
        let path = path.unwrap_or_else(|| "/".to_owned());
        // As IAM takes paths: printable ASCII between the slashes.
        let path_chars = |c: char| c.is_ascii_graphic();
        if !path.starts_with('/')
            || !path.ends_with('/')
            || path.len() > 512
            || !path.chars().all(path_chars)
        {
            return Err(error(
                MEMBER_ROLE_PATH,
                &path,
                "an IAM path: / or /name/.../, at most 512 characters",
            ));
        }
        let Some(external_id) = external_id else {
            return Err(error(MEMBER_ROLE_EXTERNAL_ID, "", "required with MEMBER_ROLE_NAME: the member role's trust policy expects it (the template's MemberRoleExternalId)"));
        };
        let id_chars = |c: char| c.is_ascii_alphanumeric() || "+=,.@:/_-".contains(c);
        if !(2..=1224).contains(&external_id.len()) || !external_id.chars().all(id_chars) {
            // The external id is not a secret, but it is not ours to print either.
            return Err(error(
                MEMBER_ROLE_EXTERNAL_ID,
                "(not shown)",
                "2 to 1224 letters, digits and +=,.@:/_-",
            ));
        }
        Ok(Some(MemberRole {
            name,
            path,
            external_id,
        }))
    }
}
