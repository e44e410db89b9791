#!/usr/bin/env python3
"""The demo (make demo): real rotations through Secrets Manager's RotateSecret, and the previous
key retired by its use (PREVIOUS_KEY_ACTION=retire, the default).

It starts the local AWS stack and the function under `cargo lambda watch`, creates an IAM user with
a key and a secret holding it, and a consumer that reads the secret and calls AWS with its key from
eu-west-1. It turns rotation on and rotates: the consumer still uses the old key, so the scheduled
sweep leaves it active and a second rotation is refused; the consumer reads the secret again, a day
passes (the stack's clock moves), the sweep deactivates the old key; seven days on, it deletes it,
and the second rotation goes through. Then two refusals: a user with a second key that is not ours,
and a secret whose writer names a user the secret is not bound to (an administrator). Last, mirrors
(SPEC §19): the seed's split layout (one field per secret) and an SSM parameter holding a
credentials file receive each new key; their consumers move, and the old key is retired once they
have. It prints key ids, never secrets, and cleans up after itself.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stack.estate import Estate  # noqa: E402
from stack.harness import Consumer, Function, Stack, World  # noqa: E402


def show(world, secret, user):
    versions = world.sm.list_secret_version_ids(SecretId=secret)["Versions"]
    print("  secret versions:")
    for v in sorted(versions, key=lambda v: v["CreatedDate"]):
        value = world.value(secret, version=v["VersionId"])
        key = "(no value yet)" if value is None else value.get("AccessKeyId", "(none: bootstrap value)")
        print(f"    {v['VersionId'][:8]}…  {','.join(v.get('VersionStages', [])) or '-':<24} key {key}")
    print("  keys of IAM user", user + ":")
    for key_id, status in world.keys(user).items():
        print(f"    {key_id}  {status}")
    current = world.value(secret)
    arn = world.authenticates(current["AccessKeyId"], current["SecretAccessKey"])
    print(f"  AWSCURRENT key {current['AccessKeyId']} authenticates as: {arn or 'NOTHING (broken!)'}")
    return arn is not None


def summary(report):
    """The sweep's answer, the counts that are not zero."""
    counts = {k: v for k, v in report.items() if v and k != "skipped"}
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def rotate_once(world, secret, function):
    started = time.monotonic()
    record = world.rotate(secret, function)
    steps = ", ".join(f"{s['step']} {'ok' if s['ok'] else s['errorType']}" for s in record["steps"])
    print(f"  {record['outcome']} in {time.monotonic() - started:.1f}s: {steps}")
    return show(world, secret, "ci-deployer") and record["outcome"] == "succeeded"


class FieldConsumer(Consumer):
    """A consumer of the seed's split layout: it reads the two field secrets, as it always did."""

    def __init__(self, world, estate, region="eu-west-1"):
        self.estate = estate
        super().__init__(world, estate.source, region)

    def refresh(self):
        estate = self.estate
        self.key = {"AccessKeyId": estate.field(estate.id_field), "SecretAccessKey": estate.field(estate.secret_field)}
        return self.key["AccessKeyId"]


class ParameterConsumer(FieldConsumer):
    """A deploy job that writes the SSM parameter's credentials file to disk and uses its profile."""

    def refresh(self):
        _, key_id, secret = self.estate.credentials()
        self.key = {"AccessKeyId": key_id, "SecretAccessKey": secret}
        return key_id


def mirrors(stack, world, function):
    """The new key where consumers already read it: the split layout and an SSM parameter."""
    print("\nMirrors (SPEC §19): IAM user app-ci's key lives in the seed's split layout (one field per")
    print("secret) and in an SSM SecureString parameter holding a credentials file, read by a deploy job.")
    world.iam.create_user(UserName="app-ci", Path="/svc/")
    key = world.add_key("app-ci")
    estate = Estate(world, "app-ci", key)
    estate.name(estate.id_field, estate.secret_field, estate.parameter_arn)
    print(f"  the source {estate.source} is bound to app-ci; each mirror claims it (tags")
    print("  iam-key-rotator:mirror-of, mirror-format), and an IAM administrator named each on the user:")
    for n, arn in enumerate([estate.id_field, estate.secret_field, estate.parameter_arn], 1):
        print(f"    iam-key-rotator:mirror:{n} = {arn}")
    fields, deploy = FieldConsumer(world, estate), ParameterConsumer(world, estate)
    fields.use(), deploy.use()
    old = key["AccessKeyId"]
    print(f"  Both consumers sign with {old}. Rotation: aws secretsmanager rotate-secret --secret-id {estate.source}")
    record = world.rotate(estate.source, function)
    new = world.key_of(estate.source)
    held = estate.field(estate.id_field), estate.credentials()[1]
    print(f"  {record['outcome']}: AWSCURRENT holds {new}; the field secret holds {held[0]}, the parameter's profile {held[1]}")
    ok = record["outcome"] == "succeeded" and held == (new, new)
    fields.use(), deploy.use()
    sweep = stack.sweep(function)
    print(f"  The consumers have not read again: the sweep ({summary(sweep)}) keeps {old} {world.keys('app-ci')[old]}.")
    ok = ok and world.keys("app-ci")[old] == "Active"
    moved = fields.refresh(), deploy.refresh()
    fields.use(), deploy.use()
    stack.age(25)
    sweep = stack.sweep(function)
    print(f"  They read their mirrors again and move to {moved[0]}; a day on, the sweep ({summary(sweep)}): {old} is {world.keys('app-ci').get(old)}.")
    return ok and moved == (new, new) and world.keys("app-ci").get(old) == "Inactive"


def main():
    print("Starting the local AWS stack (moto + our layer) and the function (cargo lambda watch)...")
    stack = Stack("demo")
    function = None
    try:
        started = time.monotonic()
        function = Function(stack, "iam-key-rotator")
        print(f"  stack at {stack.endpoint}, function at {function.url} ({time.monotonic() - started:.0f}s)")
        print(f"  logs: {stack.log_path} and {function.log_path}\n")
        world = World(stack)

        world.iam.create_user(UserName="ci-deployer", Path="/svc/")
        key = world.add_key("ci-deployer")
        secret = world.secret({"UserName": "ci-deployer", **key}, name="demo/ci/deployer")
        print(f"Created IAM user ci-deployer with key {key['AccessKeyId']}, and the secret {secret} holding it.")
        print("Bound the user to the secret, as an IAM administrator does (SPEC §15):")
        print("  aws iam tag-user --user-name ci-deployer --tags Key=iam-key-rotator:secret,Value=<the secret's ARN>")
        consumer = Consumer(world, secret, region="eu-west-1")
        consumer.use()
        print(f"A consumer read the secret and calls AWS with key {consumer.key['AccessKeyId']} from eu-west-1.")
        record = world.rotate(secret, function, immediately=False)
        print(f"Turned rotation on (rate(30 days); the service's test of the setup: {record['outcome']}).")
        ok = show(world, secret, "ci-deployer")

        old = key["AccessKeyId"]
        print(f"\nRotation 1: aws secretsmanager rotate-secret --secret-id {secret}")
        ok = rotate_once(world, secret, function) and ok

        print(f"\nThe consumer has not read the secret again: it still signs with {old}.")
        consumer.use()
        sweep = stack.sweep(function)
        print(f"The hourly sweep: {summary(sweep)}: {old} stays {world.keys('ci-deployer')[old]}, it is in use.")
        ok = ok and world.keys("ci-deployer")[old] == "Active"

        print(f"\nThe consumer reads the secret again and moves to {consumer.refresh()}; a day passes.")
        consumer.use()
        stack.age(25)
        sweep = stack.sweep(function)
        print(f"The sweep: {summary(sweep)}: {old} is now {world.keys('ci-deployer')[old]} (its quarantine: 7 days).")
        ok = ok and world.keys("ci-deployer").get(old) == "Inactive"
        stack.age(7 * 24)
        sweep = stack.sweep(function)
        gone = old not in world.keys("ci-deployer")
        print(f"Seven days on, the sweep: {summary(sweep)}: {old} {'deleted' if gone else 'STILL THERE'}.")
        ok = ok and gone

        print(f"\nRotation 2: aws secretsmanager rotate-secret --secret-id {secret}")
        second = consumer.key["AccessKeyId"]
        ok = rotate_once(world, secret, function) and ok
        consumer.use()
        print(f"The consumer still signs with {second}. Rotation 3 right away would delete that key:")
        record = world.rotate(secret, function)
        failure = record["steps"][-1]
        print(f"  {record['outcome']} at {failure['step']}: {failure.get('errorType')}")
        print(f"  {failure.get('errorMessage')}")
        ok = ok and failure.get("errorType") == "Transient.PreviousKeyInUse" and second in world.keys("ci-deployer")
        print(f"\nThe consumer moves to {consumer.refresh()}; a day passes; Secrets Manager retries rotation 3:")
        consumer.use()
        stack.age(25)
        record = stack.call("POST", "/_layer/retry", {"secret": secret})
        print(f"  {record['outcome']}")
        ok = show(world, secret, "ci-deployer") and record["outcome"] == "succeeded" and ok
        ok = ok and consumer.use() is not None

        print("\nA refusal: IAM user partner-agent holds a second key that is not in its secret.")
        world.iam.create_user(UserName="partner-agent", Path="/svc/")
        theirs = world.add_key("partner-agent")
        other = world.add_key("partner-agent")
        secret2 = world.secret({"UserName": "partner-agent", **theirs}, name="demo/partner/agent")
        record = world.rotate(secret2, function)
        failure = record["steps"][-1]
        print(f"  rotation {record['outcome']} at {failure['step']}: {failure.get('errorType')}")
        print(f"  {failure.get('errorMessage')}")
        print("  Nothing was lost:")
        intact = show(world, secret2, "partner-agent")
        intact = intact and other["AccessKeyId"] in world.keys("partner-agent")
        ok = ok and record["outcome"] == "failed" and intact

        print("\nA refusal: whoever may write a secret names IAM user ops-admin in it, which no")
        print("administrator bound to that secret, and asks for a rotation to get a key made.")
        world.iam.create_user(UserName="ops-admin", Path="/svc/")
        admins = world.add_key("ops-admin")
        writer = world.secret({"UserName": "ops-admin"}, name="demo/someone/else", bind=False)
        record = world.rotate(writer, function)
        failure = record["steps"][-1]
        print(f"  rotation {record['outcome']} at {failure['step']}: {failure.get('errorType')}")
        print(f"  {failure.get('errorMessage')}")
        keys = world.keys("ops-admin")
        print(f"  Nothing was made: ops-admin's keys are {keys}; the secret holds no key to read.")
        ok = (ok and failure.get("errorType") == "Permanent.UserNotBound"
              and keys == {admins["AccessKeyId"]: "Active"} and world.key_of(writer) is None)
        ok = mirrors(stack, world, function) and ok
        print("\nDemo " + ("complete: every rotation worked, the old key was retired only once unused, the refusals changed nothing, the mirrors moved." if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        print("Cleaning up: stopping the function and the stack.")
        if function:
            function.stop()
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
