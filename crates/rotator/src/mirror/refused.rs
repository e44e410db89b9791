//! A target that will not be written, and why.

/// A target that will not be written, and why (a message for the log and the report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub target: String,
    pub reason: String,
}

pub(super) fn refuse(target: &str, reason: impl Into<String>) -> Refused {
    Refused {
        target: target.to_owned(),
        reason: reason.into(),
    }
}
