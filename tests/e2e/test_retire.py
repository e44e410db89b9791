"""PREVIOUS_KEY_ACTION=retire (§16, issue 13), end to end: the function under `cargo lambda
watch`, rotations through RotateSecret, sweeps through the schedule's Scheduled Event, a consumer
written as real ones are (it reads the secret by id, keeps the key, calls AWS with it from its own
Region), and IAM's record of the key's last use as the stack keeps it."""

import json

from stack.harness import Consumer

DAY = 24


def rotated(stack, world, function):
    """A bound user's secret rotated once under `function`, and its consumer, which used the old key
    and has not read the secret since. Returns the secret, the user, the old key's id and the
    consumer."""
    user, (first,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **first})
    consumer = Consumer(world, secret, region="eu-west-1")
    consumer.use()
    assert world.rotate(secret, function)["outcome"] == "succeeded"
    world.check_invariants(secret, user, first["AccessKeyId"], "retire")
    return secret, user, first["AccessKeyId"], consumer


def test_a_second_rotation_waits_while_a_consumer_still_uses_the_old_key(stack, functions, world):
    function = functions("retire")
    secret, user, old, consumer = rotated(stack, world, function)
    second = world.key_of(secret)
    # The consumer has not read the secret again: it still signs with the first key.
    consumer.use()
    stack.report_uses()
    keys_before = world.keys(user)

    refused = world.rotate(secret, function)
    assert refused["outcome"] == "failed"
    (step,) = refused["steps"]
    assert step["errorType"] == "Transient.PreviousKeyInUse", step
    assert old in step["errorMessage"] and "by sts in eu-west-1" in step["errorMessage"]
    assert world.keys(user) == keys_before, "nothing was deleted or created"
    assert world.key_of(secret) == second, "AWSCURRENT did not move"

    # The consumer reads the secret again and moves on; a day passes without a use of the first key.
    assert consumer.refresh() == second
    consumer.use()
    stack.call("POST", "/_layer/age", {"hours": 25})
    retried = stack.call("POST", "/_layer/retry", {"secret": secret})
    assert retried["outcome"] == "succeeded", retried
    assert old not in world.keys(user), "the idle first key made room"
    world.check_invariants(secret, user, second, "retire")
    assert consumer.use() == world.iam.get_user(UserName=user)["User"]["Arn"], "the consumer's key still works"


# ---- the sweep: the schedule's Scheduled Event, the function's own clock, IAM's record of use ----


def bookkeeping_tag(world, secret):
    tags = world.sm.describe_secret(SecretId=secret).get("Tags", [])
    return next((t["Value"] for t in tags if t["Key"] == "iam-key-rotator:previous-key-inactive-since"), None)


def test_a_consumer_that_moves_at_once_sees_the_old_key_deactivated_then_deleted(stack, functions, world):
    function = functions("retire")
    world.lifecycle_events()  # the rule that collects them
    secret, user, old, consumer = rotated(stack, world, function)
    (event,) = world.lifecycle_events(secret)
    assert (event["source"], event["detail-type"]) == ("iam-key-rotator", "Access Key Rotated")
    detail = event["detail"]
    assert (detail["userName"], detail["accessKeyId"], detail["previousKeyAction"]) == (user, world.key_of(secret), "retire")
    assert consumer.refresh() != old
    consumer.use()

    stack.age(DAY + 1)
    report = stack.sweep(function)
    assert report["deactivated"] >= 1, report
    assert world.keys(user)[old] == "Inactive"
    (event,) = world.lifecycle_events(secret)
    assert event["detail-type"] == "Previous Access Key Deactivated"
    assert (event["detail"]["accessKeyId"], event["detail"]["reason"]) == (old, "idle")
    assert event["detail"]["lastUsedRegion"] == "eu-west-1"
    # The sweep's metrics, in CloudWatch's Embedded Metric Format, on the function's stdout.
    emf = [json.loads(line) for line in function.logs().splitlines() if line.startswith('{"_aws"')]
    sweeps = [m for m in emf if "KeysDeactivated" in m]
    assert sweeps and sweeps[-1]["KeysDeactivated"] == report["deactivated"], emf[-3:]
    assert sweeps[-1]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "iam-key-rotator"
    assert any("RotationSeconds" in m for m in emf) and any("PropagationWaitSeconds" in m for m in emf)
    idle = [m["PreviousKeyIdleHours"] for m in emf if "PreviousKeyIdleHours" in m]
    assert idle and 24 <= idle[-1] < 27, idle[-3:]
    assert bookkeeping_tag(world, secret).startswith(old + " ")
    assert consumer.use() == world.iam.get_user(UserName=user)["User"]["Arn"], "the current key works"

    stack.age(6 * DAY)
    stack.sweep(function)
    assert world.keys(user)[old] == "Inactive", "still in quarantine"
    stack.age(DAY + 1)
    report = stack.sweep(function)
    assert report["deleted"] >= 1, report
    assert old not in world.keys(user)
    assert bookkeeping_tag(world, secret) is None
    assert [e["detail-type"] for e in world.lifecycle_events(secret)] == ["Previous Access Key Deleted"]
    assert consumer.use() == world.iam.get_user(UserName=user)["User"]["Arn"]

    # The next rotation goes ahead at once: nothing is left to wait for.
    assert world.rotate(secret, function)["outcome"] == "succeeded"


def test_a_consumer_that_keeps_using_the_old_key_keeps_it(stack, functions, world):
    function = functions("retire")
    user, (first,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **first})
    consumer = Consumer(world, secret, region="eu-west-1")
    assert world.rotate(secret, function)["outcome"] == "succeeded"
    for _ in range(3):
        stack.age(20)
        consumer.use()  # never reads the secret again
        stack.sweep(function)
        assert world.keys(user)[first["AccessKeyId"]] == "Active"
    assert bookkeeping_tag(world, secret) is None


def test_a_consumer_that_moves_late_has_the_idle_time_counted_from_its_last_use(stack, functions, world):
    function = functions("retire")
    secret, user, old, consumer = rotated(stack, world, function)
    # rotated() moved nobody: the consumer still holds the old key until it reads the secret.
    stack.age(10)
    consumer.use()
    consumer.refresh()
    stack.age(20)
    stack.sweep(function)
    assert world.keys(user)[old] == "Active", "used 20 h ago"
    stack.age(5)
    stack.sweep(function)
    assert world.keys(user)[old] == "Inactive", "25 h without a use"


def test_past_the_deadline_a_key_in_use_is_reported_where_it_was_used(stack, functions, world):
    function = functions("retire")
    world.lifecycle_events()
    secret, user, old, consumer = rotated(stack, world, function)
    stack.age(7 * DAY + 0.5)
    consumer.use()
    stack.report_uses()
    report = stack.sweep(function)
    assert report["alarmed"] >= 1, report
    assert world.keys(user)[old] == "Active", "reported, not deactivated"
    alarms = [line for line in function.logs().splitlines() if "past RETIRE_DEADLINE_DAYS" in line and old in line]
    assert alarms and '"level":"ERROR"' in alarms[-1], alarms
    assert "by sts in eu-west-1" in alarms[-1], alarms[-1]
    # And the event the template routes to the alarm topic.
    in_use = [e for e in world.lifecycle_events(secret) if e["detail-type"] == "Previous Access Key Still In Use"]
    assert in_use and in_use[0]["detail"]["accessKeyId"] == old, in_use
    assert (in_use[0]["detail"]["lastUsedService"], in_use[0]["detail"]["lastUsedRegion"]) == ("sts", "eu-west-1")


def test_past_an_enforced_deadline_a_key_in_use_is_deactivated(stack, functions, world):
    function = functions("retire", env={"RETIRE_ENFORCE_DEADLINE": "true"})
    secret, user, old, consumer = rotated(stack, world, function)
    stack.age(7 * DAY + 0.5)
    consumer.use()
    stack.report_uses()
    stack.sweep(function)
    assert world.keys(user)[old] == "Inactive"
    assert world.keys(user)[world.key_of(secret)] == "Active", "the current key is untouched"


def test_an_unbound_user_whose_secret_names_the_function_is_left_alone(stack, functions, world):
    function = functions("retire")
    secret, user, old, consumer = rotated(stack, world, function)
    world.iam.untag_user(UserName=user, TagKeys=["iam-key-rotator:secret"])
    stack.age(DAY + 1)
    report = stack.sweep(function)
    assert report["skipped"].get("user-not-bound", 0) >= 1, report
    assert world.keys(user)[old] == "Active"
    assert bookkeeping_tag(world, secret) is None


def test_a_secrets_tags_set_its_own_retirement_and_a_bad_tag_is_ignored(stack, functions, world):
    """Under a keep function, a secret tagged retire with a 30-hour idle time is swept as such;
    a misspelt action is ignored (§18): the function's own applies, the rotation goes on, and the
    function says so in an ERROR line and an event."""
    function = functions("keep")
    world.lifecycle_events()
    user, (first,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **first})
    world.sm.tag_resource(SecretId=secret, Tags=[
        {"Key": "iam-key-rotator:previous-key-action", "Value": "retire"},
        {"Key": "iam-key-rotator:retire-idle-hours", "Value": "30"},
    ])
    assert world.rotate(secret, function)["outcome"] == "succeeded"
    stack.age(29)
    stack.sweep(function)
    assert world.keys(user)[first["AccessKeyId"]] == "Active", "29 h idle"
    stack.age(2)
    stack.sweep(function)
    assert world.keys(user)[first["AccessKeyId"]] == "Inactive", "31 h idle"

    world.sm.tag_resource(SecretId=secret, Tags=[{"Key": "iam-key-rotator:previous-key-action", "Value": "destroy"}])
    record = world.rotate(secret, function)
    assert record["outcome"] == "succeeded", record["steps"]
    assert first["AccessKeyId"] not in world.keys(user), "keep, the function's: the next rotation deletes it"
    errors = [line for line in function.logs().splitlines()
              if '"level":"ERROR"' in line and "iam-key-rotator:previous-key-action" in line]
    assert errors and "is ignored" in errors[-1], errors
    ignored = [e for e in world.lifecycle_events(secret) if e["detail-type"] == "Invalid Setting Tag Ignored"]
    assert ignored and ignored[0]["detail"]["tagValue"] == "destroy", ignored
    report = stack.sweep(function)
    assert report["skipped"].get("previous-key-action-is-not-retire", 0) >= 1, report
