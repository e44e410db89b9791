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
def calls_per_step(stack, functions):
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


def test_a_crash_at_any_request_then_the_retry_ends_well(stack, functions, world, calls_per_step):
    function = functions("delete", timeout=5)
    cells = 0
    for step_index, step in enumerate(STEPS):
        for call in range(calls_per_step[step_index]):
            for after_effect in (False, True):
                cell = f"{step} request {call} {'after its effect' if after_effect else 'before it is sent'}"
                user, secret, old_key = later_rotation(world, function)
                token = start(stack, function, secret)
                for earlier in STEPS[:step_index]:
                    assert invoke(function, earlier, secret, token) is None, cell
                before = len(stack.call("GET", "/_layer/calls"))
                stack.configure(crash={"after_calls": call, "after_effect": after_effect})
                try:
                    error = invoke(function, step, secret, token)
                finally:
                    stack.configure(crash=None)
                crashed_at = stack.call("GET", "/_layer/calls")[before + call]["action"]
                # A lost lifecycle event does not fail the step: it is best effort.
                assert error is not None or crashed_at == "PutEvents", f"{cell}: the crash is seen"
                retry = stack.retry(secret)
                assert retry["outcome"] == "succeeded", f"{cell}: {retry['steps']}"
                world.check_invariants(secret, user, old_key, "delete")
                cells += 1
    assert cells == 2 * sum(calls_per_step) and cells >= 30
    print(f"\ncrash-retry matrix against the local stack: {cells} cells run, {cells} passed "
          f"(requests per step: {dict(zip(STEPS, calls_per_step))})")
