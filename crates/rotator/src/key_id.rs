//! The shape of an access key id, checked wherever one is read (a JSON value, a text, the
//! fleet's scan) before anything else is done with it.

/// An access key id's shape (§18): `AKIA` (a long-term key) or `ASIA` (a temporary one), then 16
/// upper-case letters or digits. The reason never quotes the value: it may be a secret.
pub fn check_access_key_id(id: &str) -> Result<(), String> {
    let shaped = id.len() == 20
        && (id.starts_with("AKIA") || id.starts_with("ASIA"))
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if shaped {
        return Ok(());
    }
    Err(format!(
        "does not look like an access key id ({} characters; one is AKIA or ASIA and 16 upper-case letters or digits). Are the key id and the secret access key swapped?",
        id.chars().count()
    ))
}
