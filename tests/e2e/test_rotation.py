"""Rotations end to end: RotateSecret on the local stack calls the function under
`cargo lambda watch`, which talks to the stack through the real AWS SDK. SPEC §10.1-3 are checked
after each rotation."""

import json
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from stack.harness import ROOT, unique


def pair(key):
    return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def succeeded(record):
    assert record["outcome"] == "succeeded", json.dumps(record["steps"], indent=1)


@pytest.mark.parametrize("action", ["keep", "deactivate", "delete"])
def test_three_rotations_in_a_row(functions, world, action):
    function = functions(action)
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **pair(key)})
    old = key["AccessKeyId"]
    for _ in range(3):
        succeeded(world.rotate(secret, function))
        world.check_invariants(secret, user, old, action)
        old = world.key_of(secret)


def test_bootstrap_for_a_user_without_keys(functions, world):
    function = functions("delete")
    user, _ = world.user()
    secret = world.secret({"UserName": user})
    succeeded(world.rotate(secret, function))
    world.check_invariants(secret, user, None, "delete")
    first = world.key_of(secret)
    succeeded(world.rotate(secret, function))
    world.check_invariants(secret, user, first, "delete")


def test_bootstrap_for_a_user_with_a_key_leaves_that_key_alone(functions, world):
    function = functions("keep")
    user, (existing,) = world.user(keys=1)
    secret = world.secret({"UserName": user})
    succeeded(world.rotate(secret, function))
    world.check_invariants(secret, user, None, "keep", foreign=(existing["AccessKeyId"],))
    # The next rotation finds no free slot: it says which key is in the way, and changes nothing.
    keys = world.keys(user)
    record = world.rotate(secret, function)
    assert record["outcome"] == "failed"
    failure = record["steps"][-1]
    assert failure["errorType"] == "Permanent.NoFreeKeySlot"
    assert existing["AccessKeyId"] in failure["errorMessage"]
    assert world.keys(user) == keys


def test_both_namings_and_extra_fields_are_kept(functions, world):
    function = functions("keep")
    user, (key,) = world.user(keys=1)
    value = {
        "UserName": user, "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"], "region": "eu-west-1",
        "Status": "Active", "CreateDate": "2020-01-01T00:00:00Z", "owner": {"team": "ci"},
    }
    secret = world.secret(value)
    succeeded(world.rotate(secret, function))
    world.check_invariants(secret, user, key["AccessKeyId"], "keep")
    new = world.value(secret)
    assert list(new) == list(value), "same fields, same order"
    assert "AccessKeyId" not in new
    assert new["region"] == "eu-west-1" and new["owner"] == {"team": "ci"}
    assert new["CreateDate"] != "2020-01-01T00:00:00Z"


def test_the_user_name_template(functions, world):
    function = functions("keep", template="{1}-{2}")
    app = unique("app")
    world.iam.create_user(UserName=f"{app}-prod", Path="/svc/")
    key = world.add_key(f"{app}-prod")
    secret = world.secret(pair(key), name=f"{app}/prod/deploy-key", bind=f"{app}-prod")
    succeeded(world.rotate(secret, function))
    world.check_invariants(secret, f"{app}-prod", key["AccessKeyId"], "keep")
    assert "UserName" not in world.value(secret)


def test_a_test_only_rotation_changes_no_key(functions, world):
    function = functions("delete")
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **pair(key)})
    keys, stages = world.keys(user), world.stages(secret)
    record = world.rotate(secret, function, immediately=False)
    succeeded(record)
    assert [s["step"] for s in record["steps"]] == ["testSecret"]
    assert world.keys(user) == keys
    assert world.stages(secret) == stages


@pytest.mark.parametrize("delay", [0, 3, 10])
def test_testsecret_waits_for_propagation(stack, functions, world, delay):
    function = functions("keep")
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **pair(key)})
    stack.configure(propagation_delay=delay)
    try:
        started = time.monotonic()
        succeeded(world.rotate(secret, function))
        took = time.monotonic() - started
    finally:
        stack.configure(propagation_delay=0)
    world.check_invariants(secret, user, key["AccessKeyId"], "keep")
    assert took >= delay, "testSecret waited for the key to work"


def test_a_delay_beyond_the_timeout_fails_clearly_and_the_retry_succeeds(stack, functions, world):
    function = functions("keep", timeout=3)
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **pair(key)})
    stack.configure(propagation_delay=5)
    try:
        record = world.rotate(secret, function)
        assert record["outcome"] == "failed"
        failure = record["steps"][-1]
        assert (failure["step"], failure["errorType"]) == ("testSecret", "Transient.KeyNotPropagated")
        assert "attempts" in failure["errorMessage"] and "InvalidClientTokenId" in failure["errorMessage"]
        # AWSPENDING is left on the rotation's version, the old key still current and working.
        assert "AWSPENDING" in world.stages(secret)[record["token"]]
        assert world.key_of(secret) == key["AccessKeyId"]
        old_key_works = world.authenticates(key["AccessKeyId"], key["SecretAccessKey"])
        assert old_key_works, "the old key still works"
        with pytest.raises(ClientError, match="isn't complete"):
            world.rotate(secret, function)
        time.sleep(1)
        # Secrets Manager retries the whole rotation with the same token; by then the key works.
        retry = stack.call("POST", "/_layer/retry", {"secret": secret})
    finally:
        stack.configure(propagation_delay=0)
    succeeded(retry)
    assert retry["token"] == record["token"]
    world.check_invariants(secret, user, key["AccessKeyId"], "keep")


def cargo_lambda_invoke(function, fixture):
    return subprocess.run(
        ["cargo", "lambda", "invoke", "iam-key-rotator", "--invoke-address", "127.0.0.1",
         "--invoke-port", str(function.port), "--data-file", f"events/{fixture}.json"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )


def test_the_event_fixtures_through_cargo_lambda_invoke(stack, functions, world):
    function = functions("keep")
    event = json.loads((ROOT / "events" / "create-secret.json").read_text())
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **pair(key)}, name=event["SecretId"])
    stack.call("POST", "/_layer/start", {"secret": secret, "token": event["ClientRequestToken"],
                                         "function_arn": function.arn})
    for fixture in ["create-secret", "set-secret", "test-secret", "finish-secret"]:
        result = cargo_lambda_invoke(function, fixture)
        assert result.returncode == 0, result.stdout + result.stderr
    # What the service does after a successful finishSecret.
    world.sm.update_secret_version_stage(SecretId=secret, VersionStage="AWSPENDING",
                                         RemoveFromVersionId=event["ClientRequestToken"])
    world.check_invariants(secret, user, key["AccessKeyId"], "keep")
    for fixture, error_type in [("bad-missing-token", "Permanent.InvalidEvent"),
                                ("bad-unknown-step", "Permanent.InvalidEvent"),
                                ("bad-unknown-version", "Permanent.VersionNotFound")]:
        result = cargo_lambda_invoke(function, fixture)
        assert result.returncode != 0 and error_type in result.stdout + result.stderr, fixture


def test_an_orphan_of_a_failed_attempt_is_deleted_by_the_retry(stack, functions, world):
    """createSecret makes a key, cannot store it and cannot delete it (both calls denied): the
    orphan stays. Secrets Manager's retry must recognise it as this rotation's (though it was made
    within a second of the rotation's start) and delete it, once IAM's record, hours late, can
    prove that nobody used it."""
    function = functions("keep")
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **pair(key)})
    crippled = [a for a in function.actions if a not in ("secretsmanager:PutSecretValue", "iam:DeleteAccessKey")]
    function.set_actions(crippled)
    try:
        record = world.rotate(secret, function)
    finally:
        function.set_actions(function.actions)
    assert record["outcome"] == "failed"
    orphans = [k for k in world.keys(user) if k != key["AccessKeyId"]]
    assert len(orphans) == 1, "the first attempt left its key behind"
    # Moments later IAM cannot prove yet that nobody used it (§18): the retry waits.
    retry = stack.call("POST", "/_layer/retry", {"secret": secret})
    refused(retry, "Transient.OrphanTooRecent")
    assert orphans[0] in world.keys(user)
    stack.age(4.1)
    retry = stack.call("POST", "/_layer/retry", {"secret": secret})
    succeeded(retry)
    assert orphans[0] not in world.keys(user), "the orphan is deleted"
    world.check_invariants(secret, user, key["AccessKeyId"], "keep")


def refused(record, error_type):
    assert record["outcome"] == "failed", json.dumps(record["steps"], indent=1)
    failure = record["steps"][-1]
    assert (failure["step"], failure["errorType"]) == ("createSecret", error_type), failure
    return failure


@pytest.mark.parametrize("action", ["keep", "delete"])
def test_an_unbound_user_is_refused_then_rotates_once_an_administrator_binds_it(stack, functions, world, action):
    """SPEC §15 through RotateSecret: no key for a user that is not bound to the secret, nothing
    changed; once an administrator tags the user, Secrets Manager's retry completes."""
    function = functions(action)
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **pair(key)}, bind=False)
    keys = world.keys(user)
    failure = refused(world.rotate(secret, function), "Permanent.UserNotBound")
    assert f"aws iam tag-user --user-name {user} --tags Key=iam-key-rotator:secret,Value=arn:" in failure["errorMessage"]
    assert world.keys(user) == keys and world.key_of(secret) == key["AccessKeyId"]
    world.bind(user, secret)
    succeeded(stack.call("POST", "/_layer/retry", {"secret": secret}))
    world.check_invariants(secret, user, key["AccessKeyId"], action)


def test_a_secret_writer_cannot_get_a_key_for_another_user(stack, functions, world):
    """The attack §15 closes: whoever may write a rotated secret puts a bootstrap value naming an
    administrator in it and rotates. The administrator's keys stay as they were, no key is stored,
    and the secret's own user keeps its working key."""
    function = functions("delete")
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **pair(key)})
    admin, (admins_key,) = world.user(path="/", keys=1)
    world.sm.put_secret_value(SecretId=secret, SecretString=json.dumps({"UserName": admin}))
    refused(world.rotate(secret, function), "Permanent.UserNotBound")
    assert world.keys(admin) == {admins_key["AccessKeyId"]: "Active"}
    assert world.value(secret, "AWSPENDING") is None, "no key was stored for the writer to read"
    assert world.keys(user) == {key["AccessKeyId"]: "Active"}


def test_two_secrets_on_one_user_only_the_bound_one_rotates(stack, functions, world):
    function = functions("delete")
    user, (key,) = world.user(keys=1)
    bound = world.secret({"UserName": user, **pair(key)})
    intruder = world.secret({"UserName": user}, bind=False)
    refused(world.rotate(intruder, function), "Permanent.UserNotBound")
    succeeded(world.rotate(bound, function))
    world.check_invariants(bound, user, key["AccessKeyId"], "delete")


def test_a_console_password_secret_is_not_a_key_secret(stack, functions, world):
    function = functions("keep")
    user, _ = world.user()
    secret = world.secret({"UserName": user, "Password": "wJalrXUtnFEMI-console-pw"})
    refused(world.rotate(secret, function), "Permanent.NotAKeySecret")
    assert world.keys(user) == {}


def test_a_null_key_field_is_not_a_bootstrap_value(stack, functions, world):
    """Issue 12, tried as an attacker would: `"AccessKeyId": null` was taken for absence, the value
    for a bootstrap one, and a second key made beside the live one. Now it is refused, nothing made."""
    function = functions("delete")
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, "AccessKeyId": None})
    failure = refused(world.rotate(secret, function), "Permanent.InvalidSecretValue")
    assert "AccessKeyId is null" in failure["errorMessage"]
    assert world.keys(user) == {key["AccessKeyId"]: "Active"}


def test_a_rotation_at_trace_level_logs_no_secret(functions, world):
    """Issue 12: at TRACE, lambda_runtime logs each raw event (the RotationToken) and the SDK whole
    requests and responses (SecretString). In this debug build nothing is compiled out, and both
    AWS_LAMBDA_LOG_LEVEL and RUST_LOG ask for everything: the function's ceiling still keeps them
    out. The `world` fixture then scans these logs for every secret the test saw."""
    function = functions("delete", log_level="TRACE")
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **pair(key)})
    succeeded(world.rotate(secret, function))
    world.check_invariants(secret, user, key["AccessKeyId"], "delete")
    logs = function.logs()
    assert '"level":"DEBUG"' in logs, "the level took effect: the SDK's debug events are there"
    assert "raw JSON event received" not in logs and "received response from service" not in logs


@pytest.mark.parametrize("action", ["keep", "delete"])
def test_a_hand_edit_during_a_rotation_is_not_reverted(stack, functions, world, action):
    """Issue 12: a person writes a new AWSCURRENT value between createSecret and finishSecret.
    finishSecret used to move AWSCURRENT off it (the edit silently reverted) and act on its key.
    Now it refuses: no label moves, no key is touched."""
    function = functions(action)
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **pair(key)})
    token = str(uuid.uuid4())
    stack.call("POST", "/_layer/start", {"secret": secret, "token": token, "function_arn": function.arn})
    for step in ["createSecret", "setSecret", "testSecret"]:
        assert function.invoke({"Step": step, "SecretId": secret, "ClientRequestToken": token}) is None, step
    time.sleep(0.01)
    edited = {"UserName": user, **pair(key), "owner": "edited by hand"}
    world.secret_material.add(json.dumps(edited))
    edit = world.sm.put_secret_value(SecretId=secret, SecretString=json.dumps(edited))["VersionId"]
    keys, stages = world.keys(user), world.stages(secret)
    error = function.invoke({"Step": "finishSecret", "SecretId": secret, "ClientRequestToken": token})
    assert error and error["errorType"] == "Permanent.CurrentWrittenDuringRotation", error
    assert edit in error["errorMessage"]
    assert world.stages(secret) == stages and "AWSCURRENT" in stages[edit]
    assert world.keys(user) == keys
