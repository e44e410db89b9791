//! Which secrets a command acts on: by name, name prefix, tag and scan verdict.

use super::aws::SecretEntry;
use super::verdict::Verdict;

/// All given filters must match; an empty selection matches every secret.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Exact names (or ARNs); any of them.
    pub names: Vec<String>,
    pub name_prefix: Option<String>,
    /// Every pair must be on the secret.
    pub tags: Vec<(String, String)>,
    /// Any of them.
    pub verdicts: Vec<Verdict>,
}

impl Selection {
    pub fn matches_entry(&self, entry: &SecretEntry) -> bool {
        (self.names.is_empty()
            || self
                .names
                .iter()
                .any(|n| *n == entry.name || *n == entry.arn))
            && self
                .name_prefix
                .as_ref()
                .is_none_or(|p| entry.name.starts_with(p.as_str()))
            && self
                .tags
                .iter()
                .all(|(k, v)| entry.tags.iter().any(|(tk, tv)| tk == k && tv == v))
    }

    pub fn matches_verdict(&self, verdict: Verdict) -> bool {
        self.verdicts.is_empty() || self.verdicts.contains(&verdict)
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
            && self.name_prefix.is_none()
            && self.tags.is_empty()
            && self.verdicts.is_empty()
    }
}

/// `--tag KEY=VALUE`: the reason is fit for the command line's error.
pub fn parse_tag(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        Some(_) => Err(format!("`{text}` has no tag key before `=`: write KEY=VALUE, for example team=payments")),
        None => Err(format!("`{text}` is not KEY=VALUE: write for example --tag team=payments (an empty value is KEY=)")),
    }
}

/// `--name-prefix`: Secrets Manager names are 1-512 of letters, digits and `/_+=.@-`.
pub fn parse_name_prefix(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("the prefix is empty: leave --name-prefix out to select every secret".into());
    }
    match text.chars().find(|c| !(c.is_ascii_alphanumeric() || "/_+=.@-".contains(*c))) {
        Some(c) => Err(format!(
            "{c:?} cannot be in a secret name, so no secret would match: names use letters, digits and /_+=.@-"
        )),
        None => Ok(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, tags: &[(&str, &str)]) -> SecretEntry {
        SecretEntry {
            primary_region: None,
            arn: format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf"),
            name: name.into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn filters_combine_with_and() {
        let selection = Selection {
            name_prefix: Some("app1/".into()),
            tags: vec![("team".into(), "ci".into())],
            ..Default::default()
        };
        assert!(
            selection.matches_entry(&entry("app1/prod/deployer", &[("team", "ci"), ("x", "y")]))
        );
        assert!(!selection.matches_entry(&entry("app1/prod/deployer", &[("team", "web")])));
        assert!(!selection.matches_entry(&entry("app2/prod/deployer", &[("team", "ci")])));
        assert!(Selection::default().matches_entry(&entry("anything", &[])));
    }

    #[test]
    fn names_match_by_name_or_arn() {
        let e = entry("app1/prod/deployer", &[]);
        let by_arn = Selection {
            names: vec![e.arn.clone()],
            ..Default::default()
        };
        let by_name = Selection {
            names: vec!["app1/prod/deployer".into()],
            ..Default::default()
        };
        let other = Selection {
            names: vec!["app1/prod".into()],
            ..Default::default()
        };
        assert!(by_arn.matches_entry(&e) && by_name.matches_entry(&e) && !other.matches_entry(&e));
    }

    #[test]
    fn bad_filters_are_explained() {
        assert_eq!(parse_tag("team=ci"), Ok(("team".into(), "ci".into())));
        assert_eq!(parse_tag("team="), Ok(("team".into(), "".into())));
        assert!(parse_tag("team").unwrap_err().contains("KEY=VALUE"));
        assert!(parse_tag("=ci").unwrap_err().contains("no tag key"));
        assert!(parse_name_prefix("").unwrap_err().contains("empty"));
        assert!(parse_name_prefix("app 1")
            .unwrap_err()
            .contains("cannot be in a secret name"));
        assert_eq!(parse_name_prefix("app1/prod/"), Ok("app1/prod/".into()));
    }
}
