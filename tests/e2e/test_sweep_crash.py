"""The sweep's crash matrix against the local stack (§16, §10.5): the function, under `cargo lambda
watch`, dies at every AWS request of a sweep that retires a previous key gone idle, before the
request is sent and after its effect (the answer lost). The layer emulates the crash: from that
request on, nothing the function sends reaches AWS. The next sweep must converge (the key Inactive,
its quarantine recorded), the current key must work throughout, and the quarantine must end in the
key's deletion. Each cell's secret is deleted after it, so every sweep sees one secret."""

from stack.harness import Consumer

TAG = "iam-key-rotator:previous-key-inactive-since"


def idle_secret(stack, world, function):
    """A secret rotated once, its consumer moved to the new key, a day and more ago."""
    user, (first,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **first})
    consumer = Consumer(world, secret, region="eu-west-1")
    assert world.rotate(secret, function)["outcome"] == "succeeded"
    consumer.refresh()
    stack.age(25)
    return user, secret, first["AccessKeyId"], consumer


def tag_of(world, secret):
    tags = world.sm.describe_secret(SecretId=secret).get("Tags", [])
    return next((t["Value"] for t in tags if t["Key"] == TAG), None)


def calls(stack):
    return len(stack.call("GET", "/_layer/calls"))


def quarantined_secret(stack, world, function):
    """A secret whose previous key the sweep deactivated, its quarantine now over."""
    user, secret, old, consumer = idle_secret(stack, world, function)
    assert stack.sweep(function)["deactivated"] == 1
    stack.age(8 * 24)
    return user, secret, old, consumer


def crash_cells(stack, world, function, prepare, outcome):
    """The matrix: a clean sweep over a secret from `prepare` counts its requests (and must
    report `outcome` once); then, for each request, before it is sent and after its effect, a
    fresh secret and a sweep that dies there. Yields (cell, user, secret, old key, the dying
    sweep's answer, the request it died at), after checking that the current key still works;
    the secret is deleted once the caller is done with the cell."""
    _, secret, _, _ = prepare(stack, world, function)
    before = calls(stack)
    assert stack.sweep(function)[outcome] == 1
    requests = calls(stack) - before
    world.sm.delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)
    assert requests >= 8, requests
    for call in range(requests):
        for after_effect in (False, True):
            cell = f"request {call} of {requests} {'after its effect' if after_effect else 'before it is sent'}"
            user, secret, old, consumer = prepare(stack, world, function)
            before = calls(stack)
            stack.configure(crash={"after_calls": call, "after_effect": after_effect})
            try:
                answer = stack.call("POST", "/_layer/schedule", {"function_arn": function.arn})
            finally:
                stack.configure(crash=None)
            crashed_at = stack.call("GET", "/_layer/calls")[before + call]["action"]
            assert consumer.use() == world.iam.get_user(UserName=user)["User"]["Arn"], f"{cell}: the current key works"
            yield cell, user, secret, old, answer, crashed_at
            world.sm.delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)


def test_a_crash_at_any_request_of_the_sweep_converges(stack, functions, world):
    function = functions("retire")
    cells = 0
    for cell, user, secret, old, answer, crashed_at in crash_cells(stack, world, function, idle_secret, "deactivated"):
        crashed = answer["error"] is not None or answer["answer"]["failed"] > 0 or crashed_at == "PutEvents"
        assert crashed, f"{cell}: the crash is seen: {answer}"
        report = stack.sweep(function)
        assert report["failed"] == 0, f"{cell}: {report}"
        keys = world.keys(user)
        assert keys[old] == "Inactive", f"{cell}: {keys}"
        assert (tag_of(world, secret) or "").startswith(old + " "), f"{cell}: the quarantine is recorded"
        assert keys[world.key_of(secret)] == "Active", f"{cell}: the current key is untouched"

        stack.age(8 * 24)
        stack.sweep(function)
        assert old not in world.keys(user), f"{cell}: deleted after the quarantine"
        assert tag_of(world, secret) is None, f"{cell}"
        cells += 1
    assert cells >= 16
    print(f"\nsweep crash matrix against the local stack: {cells} cells run and passed")


def test_a_crash_at_any_request_of_the_deleting_sweep_converges(stack, functions, world):
    function = functions("retire")
    cells = 0
    for cell, user, secret, old, _, _ in crash_cells(stack, world, function, quarantined_secret, "deleted"):
        report = stack.sweep(function)
        assert report["failed"] == 0, f"{cell}: {report}"
        assert old not in world.keys(user), f"{cell}: deleted"
        assert tag_of(world, secret) is None, f"{cell}: the tag goes with the key"
        assert world.keys(user)[world.key_of(secret)] == "Active", f"{cell}"
        cells += 1
    assert cells >= 16
    print(f"\ndeleting sweep crash matrix: {cells} cells run and passed")
