"""The layer over moto (stack/layer.py): one test per place where plain moto differs from AWS in a
way the rotation contract depends on. Each would fail against plain moto."""

import json
import threading
import time
import uuid
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from stack.harness import Consumer




def raw_error(client, call, **kwargs):
    """The raw HTTP status and body of a failing call."""
    seen = []
    client.meta.events.register("after-call", lambda http_response, **_: seen.append(http_response))
    with pytest.raises(ClientError):
        getattr(client, call)(**kwargs)
    return seen[-1].status_code, seen[-1].text


def broken_secret(world):
    """A secret whose createSecret fails: its key is not the user's."""
    user, _ = world.user()
    return world.secret({"UserName": user, "AccessKeyId": "AKIANOTTHEUSERS0000X", "SecretAccessKey": "x"})


def test_rotate_secret_makes_an_empty_placeholder_stops_at_the_first_failure_and_promotes_nothing(functions, world):
    function = functions("keep")
    secret = broken_secret(world)
    before = world.stages(secret)
    record = world.rotate(secret, function)
    assert record["outcome"] == "failed"
    assert [s["step"] for s in record["steps"]] == ["createSecret"], "stopped at the first failure"
    assert record["steps"][0]["errorType"] == "Permanent.KeyNotOwnedByUser"
    stages = world.stages(secret)
    assert stages[record["token"]] == ["AWSPENDING"], "the placeholder's id is the token"
    assert {v: s for v, s in stages.items() if v != record["token"]} == before, "nothing promoted"
    assert world.value(secret, version=record["token"]) is None, "the placeholder has no value"
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        world.sm.get_secret_value(SecretId=secret, VersionId=record["token"], VersionStage="AWSPENDING")


def test_a_new_rotation_is_refused_while_one_is_incomplete(functions, world):
    function = functions("keep")
    secret = broken_secret(world)
    world.rotate(secret, function)
    with pytest.raises(ClientError, match="A previous rotation isn't complete"):
        world.rotate(secret, function)


def test_a_successful_rotation_loses_only_its_awspending_label(functions, world):
    function = functions("keep")
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **key})
    record = world.rotate(secret, function)
    assert record["outcome"] == "succeeded"
    assert world.stages(secret)[record["token"]] == ["AWSCURRENT"]
    # And a next rotation is accepted.
    assert world.rotate(secret, function)["outcome"] == "succeeded"


def test_rotate_immediately_false_runs_only_testsecret_on_a_temporary_version(functions, world):
    function = functions("keep")
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **key})
    before = world.stages(secret)
    record = world.rotate(secret, function, immediately=False)
    assert [s["step"] for s in record["steps"]] == ["testSecret"]
    assert world.stages(secret) == before, "the temporary version is gone"


def test_secrets_manager_retries_the_whole_rotation(stack, functions, world):
    function = functions("keep")
    secret = broken_secret(world)
    stack.configure(rotation_retries=2)
    try:
        record = world.rotate(secret, function)
    finally:
        stack.configure(rotation_retries=0)
    assert record["attempts"] == 3
    assert [s["step"] for s in record["steps"]] == ["createSecret"] * 3


def test_list_secret_version_ids_gives_real_creation_dates(world):
    secret = world.secret({"UserName": "nobody"}, bind=False)
    time.sleep(1.5)
    (version,) = world.sm.list_secret_version_ids(SecretId=secret)["Versions"]
    age = time.time() - version["CreatedDate"].timestamp()
    assert age >= 1.4, f"CreatedDate is when the version was made, not now ({age:.2f}s)"


def test_a_value_put_into_the_placeholder_keeps_its_creation_date(stack, world):
    """§6 dates a rotation's start by its pending version, which createSecret fills: moto reset
    the date to the put's (in whole seconds), so a value written by hand during the rotation
    looked no newer than the rotation itself. AWS keeps it, to the millisecond."""
    secret = world.secret({"UserName": "nobody"}, bind=False)
    token = stack.call("POST", "/_layer/start", {"secret": secret, "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:none"})["token"]
    time.sleep(1.2)
    world.sm.put_secret_value(SecretId=secret, ClientRequestToken=token, SecretString="{}", VersionStages=["AWSPENDING"])
    edit = world.sm.put_secret_value(SecretId=secret, SecretString='{"UserName": "nobody"}')["VersionId"]
    dates = {v["VersionId"]: v["CreatedDate"].timestamp() for v in world.sm.list_secret_version_ids(SecretId=secret)["Versions"]}
    assert dates[edit] - dates[token] >= 1.1, dates
    assert any(d != int(d) for d in dates.values()), "milliseconds, not whole seconds"


def test_put_secret_value_does_not_overwrite_a_version(world):
    secret = world.secret({"UserName": "nobody"}, bind=False)
    token = str(uuid.uuid4())
    world.sm.put_secret_value(SecretId=secret, ClientRequestToken=token, SecretString="one", VersionStages=["AWSPENDING"])
    world.sm.put_secret_value(SecretId=secret, ClientRequestToken=token, SecretString="one", VersionStages=["AWSPENDING"])
    with pytest.raises(ClientError, match="ResourceExistsException"):
        world.sm.put_secret_value(SecretId=secret, ClientRequestToken=token, SecretString="two", VersionStages=["AWSPENDING"])
    assert world.sm.get_secret_value(SecretId=secret, VersionId=token)["SecretString"] == "one"


def promoted(world, secret, value):
    """What finishSecret does: a value put as AWSPENDING, then AWSCURRENT moved onto it."""
    token = str(uuid.uuid4())
    world.sm.put_secret_value(SecretId=secret, ClientRequestToken=token, SecretString=value, VersionStages=["AWSPENDING"])
    current = next(v for v, stages in world.stages(secret).items() if "AWSCURRENT" in stages)
    world.sm.update_secret_version_stage(SecretId=secret, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                         RemoveFromVersionId=current)
    return current, token


def test_get_secret_value_without_a_stage_answers_awscurrent_after_a_promotion(world):
    """Consumers read `get-secret-value --secret-id` with no stage: AWS answers AWSCURRENT. Moto
    answered the version current when a value was last written, the old key after a rotation."""
    secret = world.secret({"UserName": "nobody"}, bind=False)
    _, token = promoted(world, secret, '{"UserName": "nobody", "AccessKeyId": "AKIANEWXXXXXXXXXXXXX"}')
    answer = world.sm.get_secret_value(SecretId=secret)
    assert answer["VersionId"] == token
    assert "AKIANEWXXXXXXXXXXXXX" in answer["SecretString"]
    assert world.sm.batch_get_secret_value(SecretIdList=[secret])["SecretValues"][0]["VersionId"] == token


def test_a_value_put_by_hand_after_a_promotion_leaves_one_awscurrent(world):
    secret = world.secret({"UserName": "nobody"}, bind=False)
    _, token = promoted(world, secret, '{"UserName": "nobody"}')
    edit = world.sm.put_secret_value(SecretId=secret, SecretString='{"UserName": "nobody", "x": 1}')["VersionId"]
    stages = world.stages(secret)
    assert [v for v, s in stages.items() if "AWSCURRENT" in s] == [edit], stages
    assert stages[token] == ["AWSPREVIOUS"], "the promoted version is the one the edit demoted"


def last_use(world, key_id):
    return world.iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"]


def test_a_key_use_is_recorded_with_the_service_and_region_of_the_request(stack, world):
    """What the previous key's retirement reads (issue 13): GetAccessKeyLastUsed as IAM answers it.
    Plain moto records these too; the layer records them itself now (patch 9), so this guards it."""
    _, (key,) = world.user(keys=1)
    assert "LastUsedDate" not in last_use(world, key["AccessKeyId"]), "a new key was never used"
    stack.client("sts", key, region="eu-west-1").get_caller_identity()
    # IAM reports it hours late (§18): the suite's stack waits 4 hours, or a report.
    assert "LastUsedDate" not in last_use(world, key["AccessKeyId"]), "not reported yet"
    stack.report_uses()
    used = last_use(world, key["AccessKeyId"])
    assert (used["ServiceName"], used["Region"]) == ("sts", "eu-west-1")
    assert abs(used["LastUsedDate"].timestamp() - time.time()) < 60
    # Denied is still a use: the request was signed with the key, and AWS knew who sent it.
    with pytest.raises(ClientError, match="AccessDenied"):
        stack.client("secretsmanager", key).list_secrets()
    assert last_use(world, key["AccessKeyId"])["ServiceName"] == "sts", "not reported yet"
    stack.age(4.1)
    assert last_use(world, key["AccessKeyId"])["ServiceName"] == "secretsmanager"


def test_a_request_rejected_before_authentication_is_no_use(stack, world):
    """Moto marked the key before it checked the request: a bad signature or an Inactive key
    counted as a use, and a key nobody could use looked busy."""
    user, (key,) = world.user(keys=1)
    forged = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": "not-the-secret"}
    with pytest.raises(ClientError, match="SignatureDoesNotMatch"):
        stack.client("sts", forged).get_caller_identity()
    world.iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError, match="InvalidClientTokenId"):
        stack.client("sts", key).get_caller_identity()
    stack.report_uses()
    assert "LastUsedDate" not in last_use(world, key["AccessKeyId"])


def test_an_inactive_key_does_not_authenticate(world):
    user, (key,) = world.user(keys=1)
    arn = world.iam.get_user(UserName=user)["User"]["Arn"]
    works = world.authenticates(key["AccessKeyId"], key["SecretAccessKey"])
    assert works == arn
    world.iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    works = world.authenticates(key["AccessKeyId"], key["SecretAccessKey"])
    assert works is None


def test_the_emulated_propagation_delay(stack, world):
    user, (old,) = world.user(keys=1)
    stack.configure(propagation_delay=2)
    try:
        new = world.add_key(user)
        new_works = world.authenticates(new["AccessKeyId"], new["SecretAccessKey"])
        assert new_works is None, "not yet"
        old_works = world.authenticates(old["AccessKeyId"], old["SecretAccessKey"])
        assert old_works, "a key from before the delay is unaffected"
        time.sleep(2.1)
        new_works = world.authenticates(new["AccessKeyId"], new["SecretAccessKey"])
        assert new_works, "works once old enough"
    finally:
        stack.configure(propagation_delay=0)


def test_the_emulated_latency_delays_aws_calls_not_the_layers_and_requests_overlap(stack):
    latency, n = 0.2, 8
    sm = stack.client("secretsmanager")
    sm.list_secrets()  # the client's first request (endpoint resolution) is not timed
    stack.configure(latency_seconds=latency)
    try:
        started = time.perf_counter()
        sm.list_secrets()
        assert time.perf_counter() - started >= latency, "an AWS call takes the latency"
        started = time.perf_counter()
        for _ in range(3):
            stack.call("GET", "/_layer/calls")
        assert time.perf_counter() - started < latency, "the layer's own endpoints are not delayed"
        # n calls at once, each on its own connection: in flight together, they wait out their
        # latency together (about one latency), where a server serving one at a time takes n.
        ready, done = threading.Barrier(n + 1), []
        def one() -> None:
            ready.wait()
            sm.list_secrets()
            done.append(time.perf_counter())
        threads = [threading.Thread(target=one) for _ in range(n)]
        for thread in threads:
            thread.start()
        ready.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        took = time.perf_counter() - started
        assert len(done) == n
        assert latency <= took < 4 * latency, f"{n} concurrent calls took {took:.2f}s"
    finally:
        stack.configure(latency_seconds=0)


def test_authentication_errors_come_in_each_protocols_format(stack):
    bogus = {"AccessKeyId": "AKIAUNKNOWNKEY000000", "SecretAccessKey": "x" * 40}
    status, body = raw_error(stack.client("sts", bogus), "get_caller_identity")
    assert status == 403 and body.startswith("<ErrorResponse><Error>") and "<Errors>" not in body
    assert "<Code>InvalidClientTokenId</Code>" in body
    status, body = raw_error(stack.client("secretsmanager", bogus), "list_secrets")
    assert status == 400 and json.loads(body)["__type"] == "UnrecognizedClientException"
    wrong_secret = {"AccessKeyId": stack.admin["AccessKeyId"], "SecretAccessKey": "y" * 40}
    status, body = raw_error(stack.client("iam", wrong_secret), "list_users")
    assert "<Code>SignatureDoesNotMatch</Code>" in body


def test_next_rotation_date_follows_the_schedule_while_rotation_is_on(stack, functions, world):
    function = functions("keep")
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **{k: key[k] for k in ("AccessKeyId", "SecretAccessKey")}})
    assert "NextRotationDate" not in world.sm.describe_secret(SecretId=secret), "rotation off: no next date"
    assert world.rotate(secret, function)["outcome"] == "succeeded"
    described = world.sm.describe_secret(SecretId=secret)
    last, following = described["LastRotatedDate"], described["NextRotationDate"]
    assert (following - last).total_seconds() == 30 * 86400, "rate(30 days) after the last rotation"
    listed = [s for s in world.sm.list_secrets()["SecretList"] if s["Name"] == secret]
    assert listed[0]["NextRotationDate"] == following, "ListSecrets gives it too"
    stack.call("POST", "/_layer/age", {"secret": secret, "last_rotated_days_ago": 40})
    aged = world.sm.describe_secret(SecretId=secret)["NextRotationDate"]
    assert (aged - following).total_seconds() < -39 * 86400, "the age endpoint moves the dates back"


def test_the_layer_endpoints_refuse_what_they_do_not_know(stack):
    request = urllib.request.Request(stack.endpoint + "/_layer/nothing", method="GET")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)
    assert error.value.code == 404


def test_a_consumer_follows_awscurrent_and_its_use_is_recorded_where_it_runs(stack, functions, world):
    """The consumer of issue 13: it keeps the old key until it reads the secret again. Its calls
    come from its own Region, which is what GetAccessKeyLastUsed then names."""
    function = functions("keep")
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **key})
    consumer = Consumer(world, secret, region="ap-southeast-2")
    assert world.rotate(secret, function)["outcome"] == "succeeded"
    assert consumer.key["AccessKeyId"] == key["AccessKeyId"], "it has not read the secret again"
    consumer.use()
    assert "LastUsedDate" not in last_use(world, key["AccessKeyId"]), "IAM reports it hours late"
    stack.age(4.1)
    used = last_use(world, key["AccessKeyId"])
    assert (used["ServiceName"], used["Region"]) == ("sts", "ap-southeast-2")
    assert consumer.refresh() == world.key_of(secret) != key["AccessKeyId"]


def test_age_moves_every_date_back_and_sets_a_keys_last_use(stack, world):
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **key}, bind=False)
    key_before = world.iam.list_access_keys(UserName=user)["AccessKeyMetadata"][0]["CreateDate"]
    secret_before = world.sm.describe_secret(SecretId=secret)["CreatedDate"]
    stack.call("POST", "/_layer/age", {"hours": 30})
    key_after = world.iam.list_access_keys(UserName=user)["AccessKeyMetadata"][0]["CreateDate"]
    secret_after = world.sm.describe_secret(SecretId=secret)["CreatedDate"]
    assert round((key_before - key_after).total_seconds()) == 30 * 3600
    assert round((secret_before - secret_after).total_seconds()) == 30 * 3600
    stack.call("POST", "/_layer/age", {"user": user, "key": key["AccessKeyId"], "last_used_hours_ago": 5,
                                       "service": "s3", "region": "eu-central-1"})
    used = last_use(world, key["AccessKeyId"])
    assert (used["ServiceName"], used["Region"]) == ("s3", "eu-central-1")
    assert abs(time.time() - 5 * 3600 - used["LastUsedDate"].timestamp()) < 60


def test_schedule_delivers_the_standard_scheduled_event(stack, functions):
    """What an EventBridge schedule rule sends the function, delivered as Lambda would: the function
    answers with its sweep's report (under keep it leaves every secret alone)."""
    function = functions("keep")
    answer = stack.call("POST", "/_layer/schedule", {"function_arn": function.arn})
    event = answer["event"]
    assert (event["source"], event["detail-type"], event["detail"]) == ("aws.events", "Scheduled Event", {})
    assert event["resources"][0].startswith("arn:aws:events:")
    assert answer["error"] is None, answer
    report = answer["answer"]
    assert report["deactivated"] == report["deleted"] == 0, report
    assert set(report["skipped"]) <= {"previous-key-action-is-not-retire"}, report
