"""Load (issue 4): 200 secrets rotated concurrently through the stack's RotateSecret. As in AWS,
each function instance serves one invocation at a time: eight instances share the load. Zero
failures, and SPEC §10.1-3 for every secret; the wall time is printed, not asserted."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from stack.harness import Function, unique

SECRETS = 200
INSTANCES = 8


@pytest.fixture(scope="module")
def instances(stack):
    started = [Function(stack, f"rotator-load-{i}", {"PREVIOUS_KEY_ACTION": "deactivate"}) for i in range(INSTANCES)]
    yield started
    for function in started:
        function.stop()


def test_200_concurrent_rotations(stack, instances, world):
    batch = unique("load")
    users = []
    for i in range(SECRETS):
        user = f"{batch}-{i}"
        world.iam.create_user(UserName=user, Path="/svc/")
        key = world.add_key(user)
        secret = world.secret({"UserName": user, **key}, name=f"{batch}/prod/key-{i}")
        users.append((user, secret, key["AccessKeyId"]))

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=SECRETS) as pool:
        records = list(pool.map(lambda i: world.rotate(users[i][1], instances[i % INSTANCES]), range(SECRETS)))
    wall = time.monotonic() - started

    failed = [r for r in records if r["outcome"] != "succeeded"]
    assert not failed, f"{len(failed)} of {SECRETS} rotations failed: {failed[:2]}"
    for user, secret, old_key in users:
        world.check_invariants(secret, user, old_key, "deactivate")
    print(f"\nload: {SECRETS} concurrent rotations through RotateSecret, {INSTANCES} function instances: "
          f"0 failures, invariants held for all; wall time {wall:.1f}s")
