"""PREVIOUS_KEY_ACTION=retire (§16, the first part of issue 13), end to end: the function under
`cargo lambda watch`, rotations through RotateSecret, a consumer written as real ones are (it
reads the secret by id, keeps the key, calls AWS with it from its own Region) and IAM's record of
the key's last use as the stack keeps it."""

from stack.harness import Consumer


def test_a_second_rotation_waits_while_a_consumer_still_uses_the_old_key(stack, functions, world):
    function = functions("retire")
    user, (first,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **first})
    consumer = Consumer(world, secret, region="eu-west-1")
    consumer.use()

    assert world.rotate(secret, function)["outcome"] == "succeeded"
    world.check_invariants(secret, user, first["AccessKeyId"], "retire")
    second = world.key_of(secret)
    # The consumer has not read the secret again: it still signs with the first key.
    consumer.use()
    keys_before = world.keys(user)

    refused = world.rotate(secret, function)
    assert refused["outcome"] == "failed"
    (step,) = refused["steps"]
    assert step["errorType"] == "Transient.PreviousKeyInUse", step
    assert first["AccessKeyId"] in step["errorMessage"] and "by sts in eu-west-1" in step["errorMessage"]
    assert world.keys(user) == keys_before, "nothing was deleted or created"
    assert world.key_of(secret) == second, "AWSCURRENT did not move"

    # The consumer reads the secret again and moves on; a day passes without a use of the first key.
    assert consumer.refresh() == second
    consumer.use()
    stack.call("POST", "/_layer/age", {"hours": 25})
    retried = stack.call("POST", "/_layer/retry", {"secret": secret})
    assert retried["outcome"] == "succeeded", retried
    assert first["AccessKeyId"] not in world.keys(user), "the idle first key made room"
    world.check_invariants(secret, user, second, "retire")
    assert consumer.use() == world.iam.get_user(UserName=user)["User"]["Arn"], "the consumer's key still works"
