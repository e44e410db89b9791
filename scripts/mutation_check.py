#!/usr/bin/env python3
"""Proves that each rule of SPEC §4-§9, §12 and §15-§18 has a test that fails without it.

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
    ("§15 createSecret requires the binding", "crates/rotator/src/rotation/create_secret.rs",
     "    r.require_binding(&user).await?;\n", ""),
    ("§15 finishSecret requires the binding", "crates/rotator/src/rotation/finish_secret.rs",
     "        r.require_binding(&new_user).await?;\n", ""),
    ("§15 the binding names this very secret", "crates/rotator/src/binding.rs",
     "match values.find(|value| *value != secret_arn) {", "match None::<&str> {"),
    ("§15 a password secret is not a key secret", "crates/rotator/src/rotation/create_secret.rs",
     "if let Some(field) = current.other_credential_field() {", "if let Some(field) = current.other_credential_field().filter(|_| false) {"),
    ("§15 an ARN too long for a tag is refused", "crates/rotator/src/rotation/context.rs",
     "binding::check_bindable(secret_arn)\n            .map_err(|length| Problem::SecretArnTooLong { length })?;", ""),
    ("§5.1 rotation must be enabled", "crates/rotator/src/rotation/mod.rs",
     "if !metadata.rotation_enabled {", "if false {"),
    ("§5.2 the token must be a version", "crates/rotator/src/rotation/mod.rs",
     ".ok_or_else(|| Problem::VersionNotFound {\n            token: token.to_owned(),\n        })?;",
     ".unwrap_or(&[]);"),
    ("§5.3 an AWSCURRENT version is done", "crates/rotator/src/rotation/mod.rs",
     "if stages.iter().any(|s| s == AWSCURRENT) {", "if false {"),
    ("§5.4 the version must be AWSPENDING", "crates/rotator/src/rotation/mod.rs",
     "if !stages.iter().any(|s| s == AWSPENDING) {", "if false {"),
    ("§6.1 a pending value means done", "crates/rotator/src/rotation/create_secret.rs",
     "        .await?\n        .is_some()\n    {", "        .await?\n        .is_some()\n        && false\n    {"),
    ("§6.3 the current key must be the user's", "crates/rotator/src/rotation/create_secret.rs",
     "if let Some(id) = current_key {", "if let Some(id) = current_key.filter(|_| false) {"),
    ("§6.3 the current key must be active (our choice)", "crates/rotator/src/rotation/create_secret.rs",
     "Some(key) if key.status == KeyStatus::Inactive =>", "Some(key) if key.status == KeyStatus::Inactive && false =>"),
    ("§6.4 the AWSPREVIOUS key is deleted", "crates/rotator/src/rotation/keys.rs",
     "if evidence.previous_key.as_deref() == Some(key.id.as_str()) {", "if false {"),
    ("§6.4 an orphan of this rotation is deleted", "crates/rotator/src/rotation/keys.rs",
     "} else if is_orphan(key, evidence) {", "} else if false {"),
    ("§6.4 an orphan is made after the start", "crates/rotator/src/rotation/keys.rs",
     "key.created > started", "key.created >= UNIX_EPOCH"),
    ("§6.4 a key dated the start's second is not provably ours", "crates/rotator/src/rotation/keys.rs",
     "key.created > started", "key.created + Duration::from_secs(1) > started"),
    ("§6.4 an orphan was never used", "crates/rotator/src/rotation/keys.rs",
     "is_candidate(key, evidence) && evidence.never_used.contains(&key.id)", "is_candidate(key, evidence)"),
    ("§6.4 an orphan is named by no labelled version", "crates/rotator/src/rotation/keys.rs",
     "&& !evidence.referenced.contains(&key.id)", ""),
    ("§6.4 no free slot: fail, delete nothing", "crates/rotator/src/rotation/keys.rs",
     "if keys.len() - plan.delete.len() >= MAX_KEYS_PER_USER {", "if false {"),
    ("§6.5 a failed put deletes the new key", "crates/rotator/src/rotation/create_secret.rs",
     "            if let Err(e) = r\n                .delete_key(user, new_key_id, \"rollback: PutSecretValue failed\")\n                .await\n",
     "            if let Err(e) = Ok::<(), Problem>(())\n"),
    ("§6.5 a put that took effect is kept", "crates/rotator/src/rotation/create_secret.rs",
     "Ok(Some(stored)) if stored.access_key_id() == Some(new_key_id) =>", "Ok(Some(stored)) if stored.access_key_id() == Some(new_key_id) && false =>"),
    ("§6.5 the RotationToken goes to PutSecretValue", "crates/rotator/src/rotation/create_secret.rs",
     "rotation_token: r.event.rotation_token.as_ref(),", "rotation_token: None,"),
    ("§7 the pending user is the current user", "crates/rotator/src/rotation/set_secret.rs",
     "if pending_user != current_user {", "if false {"),
    ("§7 the pending key is the user's", "crates/rotator/src/rotation/set_secret.rs",
     "match user_keys.iter().find(|k| k.id == key_id) {", "match user_keys.iter().find(|k| k.id == key_id).or(user_keys.first()) {"),
    ("§7 the pending key is active", "crates/rotator/src/rotation/set_secret.rs",
     "Some(key) if key.status != KeyStatus::Active =>", "Some(key) if key.status != KeyStatus::Active && false =>"),
    ("§8 the identity is compared", "crates/rotator/src/rotation/test_secret.rs",
     "Ok(Ok(identity)) if identity.arn == expected_arn =>", "Ok(Ok(identity)) if identity.arn == expected_arn || true =>"),
    ("§8 a key not yet propagated is retried", "crates/rotator/src/rotation/test_secret.rs",
     "Ok(Err(e)) if e.may_be_propagation() || e.is_transient() =>", "Ok(Err(e)) if false =>"),
    ("§8 never past the Lambda's remaining time", "crates/rotator/src/rotation/test_secret.rs",
     ".checked_sub(config.deadline_margin)\n            .unwrap_or(started),",
     ".checked_sub(config.deadline_margin)\n            .map(|_| started + config.propagation_timeout)\n            .unwrap_or(started),"),
    ("§8 a test-only rotation tests the current key", "crates/rotator/src/rotation/test_secret.rs",
     "let (value, version) = match r.read_value(r.pending()).await? {", "let (value, version) = match Some(r.read_value(r.pending()).await?.ok_or(Problem::RotationDisabled)?) {"),
    ("§9 AWSCURRENT moves off the old current", "crates/rotator/src/rotation/finish_secret.rs",
     ".move_current(r.secret_id(), &r.event.token, old_current)", ".move_current(r.secret_id(), &r.event.token, None)"),
    ("§9 keep touches no key", "crates/rotator/src/rotation/finish_secret.rs",
     "let acting_on = if matches!(action, PreviousKeyAction::Keep | PreviousKeyAction::Retire) {",
     "let acting_on = if matches!(action, PreviousKeyAction::Retire) {"),
    ("§9 a retry re-applies the action", "crates/rotator/src/rotation/finish_secret.rs",
     "r.metadata.version_with(AWSPREVIOUS)", "None::<&str>.or(None).filter(|_| r.metadata.version_with(AWSPREVIOUS).is_some())"),
    ("§9 deactivate deactivates", "crates/rotator/src/rotation/keys.rs",
     "PreviousKeyAction::Deactivate => PreviousKeyStep::Deactivate(previous_key.to_owned()),", "PreviousKeyAction::Deactivate => PreviousKeyStep::LeaveAlone(\"mutant\"),"),
    ("§9 delete deletes", "crates/rotator/src/rotation/keys.rs",
     "PreviousKeyAction::Delete => PreviousKeyStep::Delete(previous_key.to_owned()),", "PreviousKeyAction::Delete => PreviousKeyStep::LeaveAlone(\"mutant\"),"),
    ("§16 under retire a previous key in use is not deleted", "crates/rotator/src/retire/decide.rs",
     "(quiet_since + settings.idle > now).then_some(KeepPrevious::InUse)", "(false).then_some(KeepPrevious::InUse)"),
    ("§16 finishSecret leaves the previous key active under retire", "crates/rotator/src/rotation/keys.rs",
     "PreviousKeyAction::Retire => PreviousKeyStep::LeaveAlone(RETIRE_REASON),", "PreviousKeyAction::Retire => PreviousKeyStep::Delete(previous_key.to_owned()),"),
    ("§16 the sweep never retires the current key", "crates/rotator/src/retire/previous.rs",
     "if current.access_key_id() == Some(key_id) {", "if false {"),
    ("§16 a hand edit putting the older key back is left alone", "crates/rotator/src/retire/visit.rs",
     "if previous_key.created >= current.created {", "if false {"),
    ("§16 a reactivated key gets a whole idle time", "crates/rotator/src/retire/decide.rs",
     "(KeyStatus::Active, Some(Tag::InactiveSince(_))) => Decision::MarkReactivated,", "(KeyStatus::Active, Some(Tag::InactiveSince(_))) => Decision::Wait,"),
    ("§16 the sweep acts only for a user bound to the secret", "crates/rotator/src/retire/visit.rs",
     "if binding::binding_of(&iam_user.tags, &metadata.arn) != Binding::Bound {", "if false {"),
    ("§16 the sweep retires nothing while the current key does not work", "crates/rotator/src/retire/visit.rs",
     "Some(current) if current.status == KeyStatus::Active => {", "Some(current) if current.status == KeyStatus::Active || true => {"),
    ("§16 the sweep acts only on the user's own key", "crates/rotator/src/retire/visit.rs",
     "if last_use.user.as_deref() != Some(user) {", "if false {"),
    ("§16 the sweep checks again before it acts", "crates/rotator/src/retire/previous.rs",
     "    if !same {", "    if false {"),
    ("§16 a key in use is not deactivated", "crates/rotator/src/retire/decide.rs",
     "if idle_since(facts, now) + settings.idle <= now {", "if true {"),
    ("§16 a forged tag cannot beat the floor", "crates/rotator/src/retire/decide.rs",
     "(since + settings.quarantine).max(floor)", "since + settings.quarantine + (floor - floor)"),
    ("§18 the sweep judges while the pending version holds no value", "crates/rotator/src/retire/previous.rs",
     "Ok(read(rotator, &metadata.arn, version).await?.is_some())", "let _ = version;\n    Ok(true)"),
    ("§18 a bookkeeping date from the future is ignored", "crates/rotator/src/retire/decide.rs",
     "(facts.promoted <= at && at <= now + CLOCK_SKEW)", "(facts.promoted <= at && now <= now + CLOCK_SKEW)"),
    ("§18 a bookkeeping date before the promotion is ignored", "crates/rotator/src/retire/decide.rs",
     "(facts.promoted <= at && at <= now + CLOCK_SKEW)", "(at <= now + CLOCK_SKEW)"),
    ("§18 an enforced deadline counts from a reactivation", "crates/rotator/src/retire/decide.rs",
     "facts.promoted.max(from) + settings.deadline", "facts.promoted.max(from.min(facts.promoted)) + settings.deadline"),
    ("§18 a rotation during the quarantine keeps the key", "crates/rotator/src/retire/decide.rs",
     "(ends > now).then_some(KeepPrevious::InQuarantine { ends })", "(ends < ends).then_some(KeepPrevious::InQuarantine { ends })"),
    ("§18 a key younger than the lag is never proven unused", "crates/rotator/src/rotation/keys.rs",
     "None if now < provable_at => OrphanProof::TooRecent { provable_at },", "None if false => OrphanProof::TooRecent { provable_at },"),
    ("§18 a bad tag is ignored, a valid one applies", "crates/rotator/src/overrides.rs",
     "if let Err(problem) = apply(config, &mut settings, key, value) {", "if let Err(problem) = apply(config, &mut settings.clone(), key, value) {"),
    ("§18 AccessKeyId must look like a key id", "crates/rotator/src/secret_value.rs",
     "            if let Some(id) = &id {", "            if let Some(id) = id.as_ref().filter(|_| false) {"),
    ("§18 CreateAccessKey is sent again on throttling only", "crates/rotator/src/aws/iam.rs",
     "Err(e) if e.is_throttling() && attempt < CREATE_ATTEMPTS =>", "Err(e) if e.is_transient() && attempt < CREATE_ATTEMPTS =>"),
    ("§18 createSecret reads an Inactive previous key again", "crates/rotator/src/rotation/create_secret.rs",
     "if (was_inactive && active) || retagged {", "if false && ((was_inactive && active) || retagged) {"),
    ("fleet §18: unstick reads a key again before deleting it", "crates/fleet/src/unstick.rs",
     "if let Proof::Left(why) | Proof::Wait(why) =\n            proof(aws, user, key, &held, repair, now).await?",
     "if let Proof::Left(why) | Proof::Wait(why) = {\n            let _ = (held.len(), repair, now);\n            Proof::Orphan\n        }"),
    ("§10.1 the current key is never acted on", "crates/rotator/src/rotation/keys.rs",
     "if Some(previous_key) == current_key {", "if false {"),
    ("§4 the value's naming is kept", "crates/rotator/src/secret_value.rs",
     "let mut namings: Vec<Naming> = self.naming_in_use().collect();", "let mut namings: Vec<Naming> = Vec::new();"),
    ("§4 Status and CreateDate are refreshed", "crates/rotator/src/secret_value.rs",
     "if fields.contains_key(CREATE_DATE) {", "if false {"),
    ("§4 the user-name template, over the secret's name", "crates/rotator/src/holder.rs",
     "resolve_user(value.user_name(), template, secret_name)", "resolve_user(value.user_name(), template, secret_arn)"),
    ("§12 log lines carry the user", "crates/rotator/src/rotation/context.rs",
     'span.record("user", holder.user.as_str());', ""),
    ("§17 the user's account is the value's AccountId", "crates/rotator/src/holder.rs",
     ".filter(|account| Some(*account) != arn_account(secret_arn))", ".filter(|_| false)"),
    ("§17 a member user's IAM calls go through the member role", "crates/rotator/src/rotation/context.rs",
     "let Some(account) = &holder.account else {", "let Some(account) = holder.account.as_ref().filter(|_| false) else {"),
    ("§17 a misspelt AccountId is refused", "crates/rotator/src/secret_value.rs",
     "if let Some(name) = fields.keys().find(near_miss) {", "if let Some(name) = fields.keys().find(near_miss).filter(|_| false) {"),
    ("fleet §17: a central secret is judged with its member account's IAM", "crates/fleet/src/scan.rs",
     "let member = account_id.filter(|a| Some(a.as_str()) != arn_account(&report.arn));", "let member = account_id.filter(|_| false);"),
    ("fleet: a plain-string access key id is found", "crates/fleet/src/classify.rs",
     'text.starts_with("AKIA") && check_access_key_id', 'text.starts_with("AKIAX") && check_access_key_id'),
    ("fleet: an old key is stale", "crates/fleet/src/verdict.rs",
     "if age > limits.max_key_age_days * DAY {", "if age > limits.max_key_age_days * DAY * 100 {"),
    ("fleet: keys no version holds are foreign", "crates/fleet/src/verdict.rs",
     "if !foreign.is_empty() {", "if false {"),
    ("fleet: a young pending version may be a running rotation", "crates/fleet/src/verdict.rs",
     "if age >= limits.pending_grace_seconds {", "if age >= 0 {"),
    ("fleet §15: enable binds only a pair --bind names", "crates/fleet/src/enable.rs",
     "true if named => Binding::Named,", "true if named || !named => Binding::Named,"),
    ("fleet §15: the claim check reads every enabled Region", "crates/fleet/src/claims.rs",
     "places(scope.estate, &scope.accounts, &Regions::Enabled)",
     "places(scope.estate, &scope.accounts, &Regions::Listed(vec![\"us-east-1\".into()]))"),
    ("fleet §15: another holder of the user's key refuses the binding", "crates/fleet/src/bind.rs",
     "if others.is_empty() {", "if others.is_empty() || !others.is_empty() {"),
    ("fleet §15: the claim check must have found the secret itself", "crates/fleet/src/bind.rs",
     "if !holders.contains(&secret.arn) {", "if false {"),
    ("fleet §15: a key held twice is duplicate-key", "crates/fleet/src/duplicate_keys.rs",
     "if !others.is_empty() {", "if false {"),
    ("fleet §18: rotate keeps a previous key the function would keep", "crates/fleet/src/rotate.rs",
     "if let Some(why) = previous_kept(secret, options, promoted) {",
     "if let Some(why) = previous_kept(secret, options, promoted).filter(|_| false) {"),
    ("fleet §18: --min-interval counts from AWSCURRENT's creation", "crates/fleet/src/rotate.rs",
     "last_rotated.into_iter().chain(current_since).max()", "last_rotated.into_iter().chain(current_since.filter(|_| false)).max()"),
]


def run_tests():
    env = dict(os.environ)
    env["CARGO_TARGET_DIR"] = env.get("MUTANTS_TARGET_DIR", os.path.expanduser("~/.cache/iam-key-rotator/mutants"))
    result = subprocess.run(
        ["cargo", "test", "--quiet", "--workspace", "--no-fail-fast"], cwd=ROOT, env=env,
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
