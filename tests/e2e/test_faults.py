"""Transient faults on the wire (issue 4): throttling, 5xx, connection resets and slow answers,
injected by the layer into the function's requests. The SDK's bounded retries ride them out; past
that bound the rotation fails with a clear transient error, never with a wrong deletion, and the
retry completes it."""

import pytest




def pair(key):
    return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


@pytest.fixture
def faults(stack):
    def inject(*specs):
        stack.configure(faults=list(specs))

    yield inject
    stack.configure(faults=[])


@pytest.mark.parametrize(
    "fault",
    [
        {"action": "ListAccessKeys", "kind": "throttle", "count": 2},
        {"action": "DescribeSecret", "kind": "throttle", "count": 2},
        {"action": "PutSecretValue", "kind": "5xx", "count": 2},
        {"action": "UpdateSecretVersionStage", "kind": "5xx", "count": 2},
        {"action": "GetSecretValue", "kind": "reset", "count": 1},
        {"action": "GetUser", "kind": "slow", "seconds": 2, "count": 1},
        # Sent again on throttling only, which proves no key was made (§18).
        {"action": "CreateAccessKey", "kind": "throttle", "count": 2},
    ],
    ids=lambda f: f"{f['kind']}-{f['action']}",
)
def test_transient_faults_within_the_retry_bound_are_ridden_out(stack, functions, world, faults, fault):
    function = functions("delete")
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **pair(key)})
    faults(fault)
    record = world.rotate(secret, function)
    assert record["outcome"] == "succeeded", record["steps"]
    world.check_invariants(secret, user, key["AccessKeyId"], "delete")
    calls = [c["action"] for c in stack.call("GET", "/_layer/calls")]
    assert fault["action"] in calls
    print(f"\nfault survived: {fault['kind']} x{fault.get('count', 1)} on {fault['action']}")


def test_faults_past_the_bound_fail_clearly_and_delete_nothing(stack, functions, world, faults):
    function = functions("delete")
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **pair(key)})
    keys = world.keys(user)
    faults({"action": "CreateAccessKey", "kind": "throttle", "count": 10})
    record = world.rotate(secret, function)
    assert record["outcome"] == "failed"
    error = record["steps"][-1]
    assert error["errorType"] == "Transient.Aws.Throttling", error
    assert world.keys(user) == keys, "nothing deleted, nothing made"
    assert world.key_of(secret) == key["AccessKeyId"]
    faults()
    retry = stack.call("POST", "/_layer/retry", {"secret": secret})
    assert retry["outcome"] == "succeeded", retry["steps"]
    world.check_invariants(secret, user, key["AccessKeyId"], "delete")
    print("\nfault past the bound: throttle x10 on CreateAccessKey: clear Transient error, nothing deleted, retry completed")


def test_a_lost_create_access_key_answer_leaves_no_stray_key(stack, functions, world, faults):
    """CreateAccessKey takes effect and its answer is lost. Sent again by the SDK, it would make a
    second key, stored nowhere, that fills the user's last slot at the next rotation (issue 12). It
    is sent once: the step fails, and Secrets Manager's retry deletes the first key as this
    rotation's orphan and ends with exactly the key it stored."""
    function = functions("delete")
    user, _ = world.user()  # no key yet: nothing would stop a second CreateAccessKey
    secret = world.secret({"UserName": user})
    faults({"action": "CreateAccessKey", "kind": "lost", "count": 1})
    before = len(stack.call("GET", "/_layer/calls"))
    record = world.rotate(secret, function)
    creates = [c for c in stack.call("GET", "/_layer/calls")[before:] if c["action"] == "CreateAccessKey"]
    assert record["outcome"] == "failed" and record["steps"][-1]["errorType"].startswith("Transient."), record["steps"]
    assert len(creates) == 1, "CreateAccessKey was sent once"
    assert len(world.keys(user)) == 1, "the lost attempt made one key"
    faults()
    retry = stack.retry(secret)
    assert retry["outcome"] == "succeeded", retry["steps"]
    assert world.keys(user) == {world.key_of(secret): "Active"}, "exactly the stored key, no stray one"
    world.check_invariants(secret, user, None, "delete")
