//! `enable` for the seed's split layout (§19): `<p>/aws_access_key_id` and
//! `<p>/aws_secret_access_key`, one field each, which consumers read as they are. An IAM
//! administrator names the user and the layout (`--bind USER_ARN=<ARN of
//! <p>/aws_access_key_id>`); with `--apply`, enable creates the source `<p>/aws` from the pair,
//! tags both field secrets as its mirrors, binds the user to the source and names the two mirrors
//! on the user (one TagUser: all or none), then turns rotation on. The consumers keep reading the
//! field secrets; each rotation writes them, and retire by use sees their consumers move.
//!
//! Never adopted: a `<p>/aws` this run did not create (whoever made it chose its value and may
//! read it); the binding names the ARN CreateSecret returned. Guarded no less than the fields: the
//! source is made under their KMS key with their tags, and fields under a resource policy are left
//! to a person. Bound only on proof, as in `bind.rs`: the pair authenticates as the user, the user
//! has no other key and no binding or mirror tag, and no other secret of the run holds the key.
//! The plan (reads only) is `split_plan.rs`, the changes `split_make.rs`.

use super::aws::{FleetAws, Schedule};
use super::bind::Bind;
use super::claims::Claims;
use super::mirrors::id_field_prefix;
use super::outcome::{Outcome, SecretOutcome};
use super::report::SecretReport;
use super::split_make::make;
use super::split_plan::plan;
use super::verdict::Verdict;

fn layout(secret: &SecretReport) -> bool {
    secret.verdict == Verdict::NotRotatable && id_field_prefix(&secret.name).is_some()
}

/// Whether `secret` is the key id field of a split layout that a `--bind` names.
pub fn named(secret: &SecretReport, binds: &[Bind]) -> bool {
    layout(secret) && binds.iter().any(|b| b.secret_arn == secret.arn)
}

/// A split layout's key id field no `--bind` names: left alone, with how to enable it.
pub fn unnamed(secret: &SecretReport, binds: &[Bind]) -> Option<SecretOutcome> {
    if !layout(secret) || named(secret, binds) {
        return None;
    }
    let finding = secret.findings.first()?;
    let detail = format!("{}: {}", finding.detail, finding.fix);
    Some(SecretOutcome::new(&secret.name, Outcome::Skipped, detail))
}

/// Plans (dry run) or, when `apply`, applies the layout's change for its key id field `secret`;
/// rotation goes on with `rotation` (the function's ARN and the schedule).
pub async fn enable(
    aws: &dyn FleetAws,
    secret: &SecretReport,
    (rotation, apply): ((&str, &Schedule), bool),
    claims: &Claims,
) -> SecretOutcome {
    let outcome = |outcome, detail: String| SecretOutcome::new(&secret.name, outcome, detail);
    let layout = match plan(aws, secret, claims).await {
        Ok(layout) => layout,
        Err(why) => return outcome(Outcome::Skipped, format!("split layout not enabled: {why}")),
    };
    let (function_arn, schedule) = rotation;
    let describe = format!(
        "split layout: create {} from the pair in {} and {}{}, tag both as its mirrors, bind IAM user {} to it and name both on the user, then rotation on: {}, function {function_arn}",
        layout.source_name,
        layout.id_field,
        layout.secret_field,
        layout.guard(),
        layout.user,
        schedule.expression,
    );
    if !apply {
        return outcome(Outcome::WouldDo, describe);
    }
    match make(aws, &layout, rotation).await {
        Ok(arn) => outcome(Outcome::Done, format!("{describe}: the source is {arn}")),
        Err(e) => outcome(Outcome::Failed, format!("{describe}: {e}")),
    }
}
