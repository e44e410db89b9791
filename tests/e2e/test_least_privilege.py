"""Least privilege: the function runs as an IAM user holding exactly the actions template.yaml
grants, and rotations succeed; without any one of them, they fail. The emulator evaluates actions
only, not resources or conditions: those parts of the policy are checked over the template itself
(tests/template/test_template.py: the secrets statement's AllowRotationLambdaArn condition, the IAM
statement's UserPath resource, no wildcard)."""

import pytest

from stack.estate import Estate
from stack.harness import template_actions

ACTIONS = template_actions()
# What only the sweep (PREVIOUS_KEY_ACTION=retire) calls: rotations succeed without them.
SWEEP_ACTIONS = ["secretsmanager:ListSecrets", "secretsmanager:TagResource", "secretsmanager:UntagResource"]
# The lifecycle events are best effort: without PutEvents everything works, and the log says the
# events were not sent.
EVENT_ACTIONS = ["events:PutEvents"]
# What only a value naming a member account needs (§17): tests/e2e/test_members.py shows it is.
MEMBER_ACTIONS = ["sts:AssumeRole"]
# What only a secret with an SSM parameter as its mirror needs (§19): shown below.
MIRROR_ACTIONS = [a for a in ACTIONS if a.startswith("ssm:")]


def scenario(world, function):
    """A life that needs every granted action: a bootstrap beside a key that is not ours
    (ListSecretVersionIds), an attempt whose CreateAccessKey answer is lost and whose retry
    deletes that key as an orphan nobody used (GetAccessKeyLastUsed), then rotations that
    deactivate (UpdateAccessKey) and delete (DeleteAccessKey) earlier keys. Returns the rotations'
    records, up to the first failure."""
    user, (foreign,) = world.user(keys=1)
    secret = world.secret({"UserName": user})
    records = [world.rotate(secret, function)]
    if records[-1]["outcome"] != "succeeded":
        return records
    world.iam.delete_access_key(UserName=user, AccessKeyId=foreign["AccessKeyId"])
    world.stack.configure(faults=[{"action": "CreateAccessKey", "kind": "lost", "count": 1}])
    try:
        records.append(world.rotate(secret, function))
    finally:
        world.stack.configure(faults=[])
    if records[-1]["steps"][-1].get("errorType", "").startswith("Transient."):
        records[-1] = world.stack.retry(secret)
    if records[-1]["outcome"] != "succeeded":
        return records
    for _ in range(2):
        records.append(world.rotate(secret, function))
        if records[-1]["outcome"] != "succeeded":
            break
    return records


def test_the_granted_actions_are_enough(functions, world):
    function = functions("deactivate")
    assert sorted(function.actions) == sorted(ACTIONS), "the function holds exactly the template's actions"
    records = scenario(world, function)
    assert [r["outcome"] for r in records] == ["succeeded"] * 4, records


@pytest.mark.parametrize("missing", [a for a in ACTIONS if a not in SWEEP_ACTIONS + EVENT_ACTIONS + MEMBER_ACTIONS + MIRROR_ACTIONS])
def test_every_granted_action_is_needed(functions, world, missing):
    function = functions("deactivate")
    function.set_actions([a for a in ACTIONS if a != missing])
    try:
        records = scenario(world, function)
    finally:
        function.set_actions(ACTIONS)
    failure = records[-1]
    assert failure["outcome"] == "failed", f"rotations succeed without {missing}"
    error = failure["steps"][-1]
    assert "AccessDenied" in error["errorType"], error


def mirror_scenario(world, function):
    """A rotation whose bound user names an SSM parameter (a credentials file) as the source's
    mirror: its tags, type and key are read, its text too, then it is written."""
    user, (key,) = world.user(keys=1)
    estate = Estate(world, user, key)
    estate.name(estate.parameter_arn)
    return estate, world.rotate(estate.source, function)


def test_the_granted_actions_are_enough_for_a_parameter_mirror(functions, world):
    function = functions("deactivate")
    estate, record = mirror_scenario(world, function)
    assert record["outcome"] == "succeeded", record["steps"][-1]
    assert estate.credentials()[1] == world.key_of(estate.source)


@pytest.mark.parametrize("missing", MIRROR_ACTIONS)
def test_every_action_of_a_parameter_mirror_is_needed(functions, world, missing):
    function = functions("deactivate")
    function.set_actions([a for a in ACTIONS if a != missing])
    try:
        estate, record = mirror_scenario(world, function)
    finally:
        function.set_actions(ACTIONS)
    assert record["outcome"] == "failed", f"the parameter is written without {missing}"
    error = record["steps"][-1]
    assert error["errorType"] == "Transient.MirrorNotWritten" and "AccessDenied" in error["errorMessage"], error
    assert estate.credentials()[1] != world.key_of(estate.source)


def sweep_scenario(world, function):
    """Under retire: a rotation, then a sweep that finds the secret (ListSecrets), deactivates the
    old key and records since when on the secret (TagResource), and one after the quarantine that
    deletes it and removes the record (UntagResource). Returns the sweeps' answers, the user and
    the old key."""
    user, (first,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **first})
    assert world.rotate(secret, function)["outcome"] == "succeeded"
    answers = []
    for hours in (25, 8 * 24):
        world.stack.age(hours)
        answers.append(world.stack.call("POST", "/_layer/schedule", {"function_arn": function.arn}))
    return answers, user, first["AccessKeyId"]


def test_the_granted_actions_are_enough_for_the_sweep(functions, world):
    function = functions("retire")
    answers, user, old = sweep_scenario(world, function)
    assert [a["error"] for a in answers] == [None, None], answers
    first, second = (a["answer"] for a in answers)
    assert first["deactivated"] >= 1 and second["deleted"] >= 1 and first["failed"] == second["failed"] == 0, answers
    assert old not in world.keys(user)


@pytest.mark.parametrize("missing", SWEEP_ACTIONS)
def test_every_action_of_the_sweep_is_needed(functions, world, missing):
    function = functions("retire")
    function.set_actions([a for a in ACTIONS if a != missing])
    try:
        answers, _, _ = sweep_scenario(world, function)
    finally:
        function.set_actions(ACTIONS)
    errors = [a["error"] for a in answers if a["error"]]
    failed = [a["answer"]["failed"] for a in answers if a["answer"]]
    assert any("AccessDenied" in e["errorType"] for e in errors) or any(failed), f"the sweep works without {missing}: {answers}"
    # A visit's failure is in the function's log, with its cause.
    if not errors:
        assert "AccessDenied" in function.logs()


def test_without_putevents_the_rotation_works_and_the_log_says_the_event_was_not_sent(functions, world):
    function = functions("deactivate")
    function.set_actions([a for a in ACTIONS if a not in EVENT_ACTIONS])
    try:
        user, (first,) = world.user(keys=1)
        secret = world.secret({"UserName": user, **first})
        record = world.rotate(secret, function)
    finally:
        function.set_actions(ACTIONS)
    assert record["outcome"] == "succeeded", record
    world.check_invariants(secret, user, first["AccessKeyId"], "deactivate")
    lines = [line for line in function.logs().splitlines() if "lifecycle event was not sent" in line]
    assert lines and "AccessDenied" in lines[-1], lines[-1:]
