"""The crash-retry matrix against the local stack (issue 4, SPEC §10.5): the function, under
`cargo lambda watch`, dies at every AWS call of every step, before the call is sent and after its
effect (the answer lost); then Secrets Manager retries the whole rotation with the same token.
The layer emulates the crash: from that call on, nothing the function sends reaches AWS.
Run under PREVIOUS_KEY_ACTION=delete, the action with the most to lose, on a later rotation
(there is an AWSPREVIOUS key to delete), with a 5 s propagation timeout (a crash at
GetCallerIdentity makes testSecret wait that long). The fake runs the full matrix in milliseconds."""

import uuid

import pytest

STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"]


def later_rotation(world, function):
    """A secret after one rotation; returns (user, secret, its current key)."""
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **{k: key[k] for k in ("AccessKeyId", "SecretAccessKey")}})
    assert world.rotate(secret, function)["outcome"] == "succeeded"
    return user, secret, world.key_of(secret)


def start(stack, function, secret):
    token = str(uuid.uuid4())
    stack.call("POST", "/_layer/start", {"secret": secret, "token": token, "function_arn": function.arn})
    return token


def invoke(function, step, secret, token):
    return function.invoke({"Step": step, "SecretId": secret, "ClientRequestToken": token})


@pytest.fixture(scope="module")
def calls_per_step(stack, functions, request):
    """How many AWS requests each step sends in a rotation without faults."""
    from stack.harness import World

    world = World(stack)
    function = functions("delete", timeout=5)
    _, secret, _ = later_rotation(world, function)
    token = start(stack, function, secret)
    counts = []
    for step in STEPS:
        before = len(stack.call("GET", "/_layer/calls"))
        assert invoke(function, step, secret, token) is None
        counts.append(len(stack.call("GET", "/_layer/calls")) - before)
    return counts


def cells():
    # Generous upper bounds; cells past a step's real count are skipped at run time.
    return [(i, n, after) for i in range(4) for n in range(10) for after in (False, True)]


@pytest.mark.parametrize("step_index, call, after_effect", cells(),
                         ids=lambda v: str(v) if not isinstance(v, bool) else ("after" if v else "before"))
def test_a_crash_then_the_retry_ends_well(stack, functions, world, calls_per_step, step_index, call, after_effect):
    if call >= calls_per_step[step_index]:
        pytest.skip(f"{STEPS[step_index]} sends {calls_per_step[step_index]} requests")
    function = functions("delete", timeout=5)
    user, secret, old_key = later_rotation(world, function)
    token = start(stack, function, secret)
    for step in STEPS[:step_index]:
        assert invoke(function, step, secret, token) is None
    stack.configure(crash={"after_calls": call, "after_effect": after_effect})
    try:
        error = invoke(function, STEPS[step_index], secret, token)
    finally:
        stack.configure(crash=None)
    assert error is not None, "the crash is seen"
    retry = stack.call("POST", "/_layer/retry", {"secret": secret})
    assert retry["outcome"] == "succeeded", retry["steps"]
    world.check_invariants(secret, user, old_key, "delete")
    print(f"\ncrash cell passed: {STEPS[step_index]} call {call} {'after its effect' if after_effect else 'before it is sent'}")
