"""The sweep at scale (§16, issue 13): one scheduled invocation visits 1,000 secrets, each with a
previous key gone idle, within its budget, under `cargo lambda watch` against the local stack. The
time is printed, not asserted (the machines are shared)."""

import time


def test_one_sweep_retires_the_idle_previous_keys_of_1000_secrets(stack, functions, world):
    # A function of its own, so that only these secrets name it.
    function = functions("retire", env={"SWEEP_INTERVAL_MINUTES": "60"})
    made = stack.call("POST", "/_layer/populate", {"n": 1000, "function_arn": function.arn})
    assert len(made["secrets"]) == 1000
    stack.age(25)

    started = time.monotonic()
    report = stack.sweep(function)
    elapsed = time.monotonic() - started
    calls = len(stack.call("GET", "/_layer/calls"))
    print(f"\nsweep of 1000 secrets: {elapsed:.1f} s, {report}, {calls} AWS calls in the stack so far")
    assert report["secrets"] == report["visited"] == report["deactivated"] == 1000, report
    assert report["cut_short"] == report["failed"] == 0, report

    # Spot checks: the previous key is Inactive and tagged, the current one untouched.
    for name in made["secrets"][::250]:
        user = world.value(name)["UserName"]
        keys = world.keys(user)
        assert keys[world.key_of(name)] == "Active"
        assert keys[world.key_of(name, "AWSPREVIOUS")] == "Inactive"

    # The next sweep finds nothing more to do yet: each key is in its quarantine.
    report = stack.sweep(function)
    assert report["waiting"] == 1000 and report["deactivated"] == 0, report
