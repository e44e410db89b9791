"""The fixtures' world, for driving the function by hand (README, "Run it by hand"):

    python -m stack.local up --env FILE      (make stack)
    python -m stack.local changed --env FILE --event NAME   (make invoke, after each invocation)

`up` starts the local stack and makes in it what events/*.json name: the IAM user `ci-deployer`
with one key, the secret `iam-key-rotator/demo/ci-deployer` holding it, the user bound to the
secret (an administrator's tag, §15), rotation on with the function `iam-key-rotator`, and the
AWSPENDING placeholder Secrets Manager puts before createSecret, under the fixtures'
ClientRequestToken. It writes FILE, the environment `make watch` runs the function with (the
stack's endpoint, the function's own key with the template's permissions) and that `changed` reads
(the stack's admin key): mode 0600, git-ignored. It runs until Ctrl-C.

`changed` prints the secret's versions and the user's keys, marking what the invocation changed.
Key ids only: no secret access key or secret value is ever printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Any

from stack.harness import ACCOUNT, BINDING_TAG, REGION, ROOT, Stack, template_actions

FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:iam-key-rotator"
USER = "ci-deployer"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "events" / f"{name}.json").read_text())


def make_world(stack: Stack) -> dict[str, str]:
    """The fixtures' world in the stack; returns the environment to write."""
    iam, sm = stack.client("iam"), stack.client("secretsmanager")
    # The function signs as a user of its own with exactly the template's actions (moto judges
    # actions, not resources), as tests/e2e's functions do: never as the admin.
    iam.create_user(UserName="iam-key-rotator-function")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": template_actions(), "Resource": "*"}]}
    iam.put_user_policy(UserName="iam-key-rotator-function", PolicyName="rotator", PolicyDocument=json.dumps(policy))
    function_key = iam.create_access_key(UserName="iam-key-rotator-function")["AccessKey"]

    event = fixture("create-secret")
    iam.create_user(UserName=USER, Path="/svc/")
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    value = {"UserName": USER, "AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
    arn = sm.create_secret(Name=event["SecretId"], SecretString=json.dumps(value))["ARN"]
    iam.tag_user(UserName=USER, Tags=[{"Key": BINDING_TAG, "Value": arn}])
    stack.call("POST", "/_layer/start", {"secret": event["SecretId"], "token": event["ClientRequestToken"],
                                         "function_arn": FUNCTION_ARN})
    return {
        "AWS_ENDPOINT_URL": stack.endpoint,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": function_key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": function_key["SecretAccessKey"],
        # `cargo lambda watch` calls every function "function-arn": the secret names this one.
        "EMULATED_FUNCTION_ARN": FUNCTION_ARN,
        "LOCAL_STACK_ADMIN_ACCESS_KEY_ID": stack.admin["AccessKeyId"],
        "LOCAL_STACK_ADMIN_SECRET_ACCESS_KEY": stack.admin["SecretAccessKey"],
        "LOCAL_STACK_SECRET": event["SecretId"],
    }


def write_env(path: Path, environment: dict[str, str]) -> None:
    """A shell file of exports, readable by its owner alone: it holds the stack's admin key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by `make stack` for `make watch` and `make invoke`: the local stack's keys.",
             "# Git-ignored, mode 0600. Stale once that `make stack` stops.",
             "unset AWS_PROFILE AWS_SESSION_TOKEN"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in environment.items()]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a file that existed keeps its mode through O_CREAT: not this one
    with os.fdopen(descriptor, "w") as out:
        out.write("\n".join(lines) + "\n")
    path.with_suffix(".state.json").unlink(missing_ok=True)


def read_env(path: Path) -> dict[str, str]:
    environment = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            environment[name] = shlex.split(value)[0]
    return environment


def up(env_path: Path) -> None:
    stack = Stack(name="make-stack")
    stop = lambda *_: sys.exit(0)  # noqa: E731 - the atexit hooks stop the stack
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    write_env(env_path, make_world(stack))
    print(f"stack: {stack.endpoint} (its log: {stack.log_path})")
    print(f"world: user {USER}, secret {fixture('create-secret')['SecretId']} bound to it, rotation "
          f"pending under token {fixture('create-secret')['ClientRequestToken']}")
    print(f"environment: {env_path} (mode 0600)")
    print("ready: in another terminal `make watch`, then in a third, in order:")
    for name in ("create-secret", "set-secret", "test-secret", "finish-secret", "scheduled-sweep"):
        print(f"  make invoke EVENT={name}")
    print("Ctrl-C stops the stack.", flush=True)
    while stack.process.poll() is None:
        time.sleep(0.5)
    sys.exit("stack: the local stack stopped; see its log")


def state(sm: Any, iam: Any, secret: str) -> dict[str, Any]:
    """Each version's stages and the key id it holds; each of the user's keys and its status."""
    stages = sm.describe_secret(SecretId=secret).get("VersionIdsToStages", {})
    versions = {}
    for version, labels in stages.items():
        try:
            text = sm.get_secret_value(SecretId=secret, VersionId=version)["SecretString"]
            key_id = json.loads(text).get("AccessKeyId")
        except sm.exceptions.ResourceNotFoundException:
            key_id = None  # the placeholder: no value yet
        versions[version] = {"stages": sorted(labels), "key": key_id}
    user = json.loads(sm.get_secret_value(SecretId=secret)["SecretString"])["UserName"]
    keys = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}
    return {"versions": versions, "user": user, "keys": keys}


def report(before: dict[str, Any] | None, now: dict[str, Any]) -> list[str]:
    """The state as lines, `*` before what changed since `before` (all of it when there is none)."""
    old_versions = (before or {}).get("versions", {})
    old_keys = (before or {}).get("keys", {})
    lines = ["secret versions:"]
    for version, entry in now["versions"].items():
        mark = "*" if old_versions.get(version) != entry else " "
        lines.append(f" {mark} {version}  {','.join(entry['stages']) or '(no stage)'}  key {entry['key'] or '(no value yet)'}")
    lines += [f" * {version}  gone" for version in old_versions if version not in now["versions"]]
    lines.append(f"user {now['user']}'s keys:")
    for key, status in now["keys"].items():
        mark = "*" if old_keys.get(key) != status else " "
        lines.append(f" {mark} {key}  {status}")
    lines += [f" * {key}  deleted" for key in old_keys if key not in now["keys"]]
    if before is not None and not any(line.startswith(" *") for line in lines):
        lines.append("(nothing changed: the step checked, and found all as it should be)")
    return lines


def changed(env_path: Path, event: str) -> None:
    import boto3

    environment = read_env(env_path)
    session = boto3.Session(aws_access_key_id=environment["LOCAL_STACK_ADMIN_ACCESS_KEY_ID"],
                            aws_secret_access_key=environment["LOCAL_STACK_ADMIN_SECRET_ACCESS_KEY"],
                            region_name=environment["AWS_REGION"])
    sm = session.client("secretsmanager", endpoint_url=environment["AWS_ENDPOINT_URL"])
    iam = session.client("iam", endpoint_url=environment["AWS_ENDPOINT_URL"])
    secret = environment["LOCAL_STACK_SECRET"]
    if event == "finish-secret":
        # What Secrets Manager does once finishSecret succeeds: the rotation is over.
        token = fixture("finish-secret")["ClientRequestToken"]
        if "AWSPENDING" in sm.describe_secret(SecretId=secret).get("VersionIdsToStages", {}).get(token, []):
            sm.update_secret_version_stage(SecretId=secret, VersionStage="AWSPENDING", RemoveFromVersionId=token)
            print("as Secrets Manager does after finishSecret: AWSPENDING removed")
    snapshot = env_path.with_suffix(".state.json")
    before = json.loads(snapshot.read_text()) if snapshot.exists() else None
    now = state(sm, iam, secret)
    print(f"after {event} (* changed):")
    print("\n".join(report(before, now)))
    snapshot.write_text(json.dumps(now))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "changed"])
    parser.add_argument("--env", type=Path, required=True, help="the environment file")
    parser.add_argument("--event", help="changed: the fixture just invoked")
    args = parser.parse_args()
    if args.command == "up":
        up(args.env)
    elif not args.env.exists():
        sys.exit(f"no {args.env}: run `make stack` first (it writes it), and keep it running")
    else:
        changed(args.env, args.event or "?")


if __name__ == "__main__":
    main()
