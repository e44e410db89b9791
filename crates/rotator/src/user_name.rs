//! Which IAM user a secret's value is for (§4), decided in one place for the function and the
//! fleet command: the value's UserName, else a template over the secret's name.

/// IAM user names: 1 to 64 of letters, digits and `+=,.@_-` (no `/`: that is the path).
pub fn check_user_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
    if name.is_empty() || name.len() > 64 {
        return Err(format!(
            "is {} characters long; an IAM user name has 1 to 64",
            name.len()
        ));
    }
    if let Some(bad) = name.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "contains {bad:?}, which an IAM user name cannot (letters, digits and +=,.@_- only)"
        ));
    }
    Ok(())
}

/// Maps a secret name to an IAM user name, for values without UserName (§4): `{1}`, `{2}`, ...
/// stand for the name's `/`-separated segments, so `{1}-{2}` maps `app1/production/db` to
/// `app1-production`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNameTemplate {
    text: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Segment(usize),
}

impl UserNameTemplate {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let close = rest[open..].find('}').ok_or("a `{` is not closed")? + open;
            let index: usize = rest[open + 1..close]
                .parse()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    format!(
                        "`{}` is not a segment number (use {{1}}, {{2}}, ...)",
                        &rest[open..=close]
                    )
                })?;
            parts.push(Part::Segment(index));
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        if !parts.iter().any(|p| matches!(p, Part::Segment(_))) {
            return Err("it has no {N} placeholder, so every secret would map to one user".into());
        }
        for part in &parts {
            if let Part::Literal(literal) = part {
                check_user_name(literal)
                    .map_err(|reason| format!("the text {literal:?} {reason}"))?;
            }
        }
        Ok(UserNameTemplate {
            text: text.to_owned(),
            parts,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The user name for a secret name, or why there is none.
    pub fn render(&self, secret_name: &str) -> Result<String, String> {
        let segments: Vec<&str> = secret_name.split('/').collect();
        let mut name = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(literal) => name.push_str(literal),
                Part::Segment(n) => match segments.get(n - 1) {
                    Some(segment) if !segment.is_empty() => name.push_str(segment),
                    Some(_) => return Err(format!("segment {n} of the name is empty")),
                    None => {
                        return Err(format!(
                            "the name has {} segment(s), the template uses segment {n}",
                            segments.len()
                        ))
                    }
                },
            }
        }
        check_user_name(&name).map_err(|reason| format!("the user name {name:?} {reason}"))?;
        Ok(name)
    }
}

/// Where a secret's user name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSource {
    /// The value's own `UserName` field.
    UserName,
    /// The user-name template over the secret's name.
    Template,
}

impl UserSource {
    pub fn as_str(self) -> &'static str {
        match self {
            UserSource::UserName => "UserName",
            UserSource::Template => "template",
        }
    }
}

/// Why a secret has no user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoUser {
    /// The value has no UserName and no template is set.
    NoUserName,
    /// The template does not fit the secret's name, for this reason.
    TemplateMismatch(String),
}

/// The IAM user of a value: its UserName (`value_user`) if it has one, else the template over the
/// secret's name.
pub fn resolve_user(
    value_user: Option<&str>,
    template: Option<&UserNameTemplate>,
    secret_name: &str,
) -> Result<(String, UserSource), NoUser> {
    match (value_user, template) {
        (Some(name), _) => Ok((name.to_owned(), UserSource::UserName)),
        (None, Some(template)) => template
            .render(secret_name)
            .map(|user| (user, UserSource::Template))
            .map_err(NoUser::TemplateMismatch),
        (None, None) => Err(NoUser::NoUserName),
    }
}
