#!/usr/bin/env python3
"""Proves that each rule of SPEC §4-§9 and §12 has a test that fails without it.

For each mutation below (one rule removed from the code), it patches the source, runs the Rust
tests, and expects them to FAIL; then it restores the file. It prints one line per rule and exits
non-zero if any mutant survives. Run it with `make mutants` (several minutes: one build per rule).
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (rule, file, code as it is, code without the rule)
MUTANTS = [
    ("§15 createSecret requires the binding", "src/rotation/create.rs",
     "    r.require_binding(&user).await?;\n", ""),
    ("§15 finishSecret requires the binding", "src/rotation/finish.rs",
     "        r.require_binding(&user).await?;\n", ""),
    ("§15 the binding names this very secret", "src/binding.rs",
     "match values.find(|value| *value != secret_arn) {", "match None::<&str> {"),
    ("§15 a password secret is not a key secret", "src/rotation/create.rs",
     "if let Some(field) = current.other_credential_field() {", "if let Some(field) = current.other_credential_field().filter(|_| false) {"),
    ("§15 an ARN too long for a tag is refused", "src/rotation/mod.rs",
     "binding::check_bindable(secret_arn)\n            .map_err(|length| Problem::SecretArnTooLong { length })?;", ""),
    ("§5.1 rotation must be enabled", "src/rotation/mod.rs",
     "if !metadata.rotation_enabled {", "if false {"),
    ("§5.2 the token must be a version", "src/rotation/mod.rs",
     ".ok_or_else(|| Problem::VersionNotFound {\n            token: token.to_owned(),\n        })?;",
     ".unwrap_or(&[]);"),
    ("§5.3 an AWSCURRENT version is done", "src/rotation/mod.rs",
     "if stages.iter().any(|s| s == AWSCURRENT) {", "if false {"),
    ("§5.4 the version must be AWSPENDING", "src/rotation/mod.rs",
     "if !stages.iter().any(|s| s == AWSPENDING) {", "if false {"),
    ("§6.1 a pending value means done", "src/rotation/create.rs",
     "        .await?\n        .is_some()\n    {", "        .await?\n        .is_some()\n        && false\n    {"),
    ("§6.3 the current key must be the user's", "src/rotation/create.rs",
     "if let Some(id) = current_key {", "if let Some(id) = current_key.filter(|_| false) {"),
    ("§6.3 the current key must be active (our choice)", "src/rotation/create.rs",
     "Some(key) if key.status == KeyStatus::Inactive =>", "Some(key) if key.status == KeyStatus::Inactive && false =>"),
    ("§6.4 the AWSPREVIOUS key is deleted", "src/rotation/keys.rs",
     "if evidence.previous_key.as_deref() == Some(key.id.as_str()) {", "if false {"),
    ("§6.4 an orphan of this rotation is deleted", "src/rotation/keys.rs",
     "} else if is_orphan(key, evidence) {", "} else if false {"),
    ("§6.4 an orphan is made after the start", "src/rotation/keys.rs",
     "key.created > started", "key.created >= UNIX_EPOCH"),
    ("§6.4 a key dated the start's second is not provably ours", "src/rotation/keys.rs",
     "key.created > started", "key.created + Duration::from_secs(1) > started"),
    ("§6.4 an orphan was never used", "src/rotation/keys.rs",
     "is_candidate(key, evidence) && evidence.never_used.contains(&key.id)", "is_candidate(key, evidence)"),
    ("§6.4 an orphan is named by no labelled version", "src/rotation/keys.rs",
     "&& !evidence.referenced.contains(&key.id)", ""),
    ("§6.4 no free slot: fail, delete nothing", "src/rotation/keys.rs",
     "if keys.len() - plan.delete.len() >= MAX_KEYS_PER_USER {", "if false {"),
    ("§6.5 a failed put deletes the new key", "src/rotation/create.rs",
     "            if let Err(e) = r\n                .delete_key(user, new_key_id, \"rollback: PutSecretValue failed\")\n                .await\n",
     "            if let Err(e) = Ok::<(), Problem>(())\n"),
    ("§6.5 a put that took effect is kept", "src/rotation/create.rs",
     "Ok(Some(stored)) if stored.access_key_id() == Some(new_key_id) =>", "Ok(Some(stored)) if stored.access_key_id() == Some(new_key_id) && false =>"),
    ("§6.5 the RotationToken goes to PutSecretValue", "src/rotation/create.rs",
     "            r.event.rotation_token.as_ref(),", "            None,"),
    ("§7 the pending user is the current user", "src/rotation/set.rs",
     "if pending_user != current_user {", "if false {"),
    ("§7 the pending key is the user's", "src/rotation/set.rs",
     "match user_keys.iter().find(|k| k.id == key_id) {", "match user_keys.iter().find(|k| k.id == key_id).or(user_keys.first()) {"),
    ("§7 the pending key is active", "src/rotation/set.rs",
     "Some(key) if key.status != KeyStatus::Active =>", "Some(key) if key.status != KeyStatus::Active && false =>"),
    ("§8 the identity is compared", "src/rotation/test.rs",
     "Ok(Ok(identity)) if identity.arn == expected_arn =>", "Ok(Ok(identity)) if identity.arn == expected_arn || true =>"),
    ("§8 a key not yet propagated is retried", "src/rotation/test.rs",
     "Ok(Err(e)) if e.may_be_propagation() || e.is_transient() =>", "Ok(Err(e)) if false =>"),
    ("§8 never past the Lambda's remaining time", "src/rotation/test.rs",
     ".checked_sub(config.deadline_margin)\n            .unwrap_or(started),",
     ".checked_sub(config.deadline_margin)\n            .map(|_| started + config.propagation_timeout)\n            .unwrap_or(started),"),
    ("§8 a test-only rotation tests the current key", "src/rotation/test.rs",
     "let (value, version) = match r.read_value(r.pending()).await? {", "let (value, version) = match Some(r.read_value(r.pending()).await?.ok_or(Problem::RotationDisabled)?) {"),
    ("§9 AWSCURRENT moves off the old current", "src/rotation/finish.rs",
     ".move_current(r.secret_id(), &r.event.token, old_current)", ".move_current(r.secret_id(), &r.event.token, None)"),
    ("§9 keep touches no key", "src/rotation/finish.rs",
     "if action == PreviousKeyAction::Keep {", "if action == PreviousKeyAction::Keep && false {"),
    ("§9 a retry re-applies the action", "src/rotation/finish.rs",
     "r.metadata.version_with(AWSPREVIOUS)", "None::<&str>.or(None).filter(|_| r.metadata.version_with(AWSPREVIOUS).is_some())"),
    ("§9 deactivate deactivates", "src/rotation/keys.rs",
     "PreviousKeyAction::Deactivate => PreviousKeyStep::Deactivate(previous_key.to_owned()),", "PreviousKeyAction::Deactivate => PreviousKeyStep::LeaveAlone(\"mutant\"),"),
    ("§9 delete deletes", "src/rotation/keys.rs",
     "PreviousKeyAction::Delete => PreviousKeyStep::Delete(previous_key.to_owned()),", "PreviousKeyAction::Delete => PreviousKeyStep::LeaveAlone(\"mutant\"),"),
    ("§10.1 the current key is never acted on", "src/rotation/keys.rs",
     "if Some(previous_key) == current_key {", "if false {"),
    ("§4 the value's naming is kept", "src/secret_value.rs",
     "let mut namings: Vec<Naming> = self.naming_in_use().collect();", "let mut namings: Vec<Naming> = Vec::new();"),
    ("§4 Status and CreateDate are refreshed", "src/secret_value.rs",
     "if fields.contains_key(CREATE_DATE) {", "if false {"),
    ("§4 the user-name template, over the secret's name", "src/rotation/mod.rs",
     "template.render(&self.metadata.name)", "template.render(&self.metadata.arn)"),
    ("§12 log lines carry the user", "src/rotation/mod.rs",
     'tracing::Span::current().record("user", user.as_str());', ""),
    ("fleet: a plain-string access key id is found", "src/fleet/classify.rs",
     '&& text.starts_with("AKIA")', '&& text.starts_with("AKIAX")'),
    ("fleet: an old key is stale", "src/fleet/verdict.rs",
     "if age > limits.max_key_age_days * DAY {", "if age > limits.max_key_age_days * DAY * 100 {"),
    ("fleet: keys no version holds are foreign", "src/fleet/verdict.rs",
     "if !foreign.is_empty() {", "if false {"),
    ("fleet: a young pending version may be a running rotation", "src/fleet/verdict.rs",
     "if age >= limits.pending_grace_seconds {", "if age >= 0 {"),
]


def run_tests():
    env = dict(os.environ)
    env["CARGO_TARGET_DIR"] = env.get("MUTANTS_TARGET_DIR", os.path.expanduser("~/.cache/iam-key-rotator/mutants"))
    result = subprocess.run(
        ["cargo", "test", "--quiet", "--no-fail-fast"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
    )
    compiled = "error[E" not in result.stdout and "could not compile" not in result.stdout
    return result.returncode, compiled, result.stdout


def main():
    only = sys.argv[1:]
    code, _, out = run_tests()
    if code != 0:
        print(out[-3000:])
        sys.exit("the tests fail without any mutation: fix them first")
    survivors = 0
    for rule, file, old, new in MUTANTS:
        if only and not any(o in rule for o in only):
            continue
        path = ROOT / file
        original = path.read_text()
        if original.count(old) != 1:
            print(f"STALE   {rule}: the code to mutate is not in {file} exactly once")
            survivors += 1
            continue
        path.write_text(original.replace(old, new))
        try:
            code, compiled, out = run_tests()
        finally:
            path.write_text(original)
        if not compiled:
            print(f"BROKEN  {rule}: the mutant does not compile")
            survivors += 1
        elif code == 0:
            print(f"SURVIVED {rule}: no test fails without it")
            survivors += 1
        else:
            failed = [l.split()[1] for l in out.splitlines() if l.startswith("---- ") and l.endswith(" stdout ----")]
            print(f"killed  {rule} ({len(failed)} failing: {', '.join(failed[:3])})")
    print(f"\n{len(MUTANTS) if not only else 'selected'} rules, {survivors} not proven")
    sys.exit(1 if survivors else 0)


if __name__ == "__main__":
    main()
