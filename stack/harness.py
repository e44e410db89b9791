"""Drives the local stack and the function, for the end-to-end tests and the demo.

`Stack` starts `python -m stack.server` on a free port; `Function` starts the rotation function
under `cargo lambda watch` on another, pointed at the stack. Both stop with `stop()` and, should
the caller die, by themselves (the stack when its stdin closes, the watcher with its process group
being killed by the caller's atexit hook).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "123456789012"
REGION = "us-east-1"
BINDING_TAG = "iam-key-rotator:secret"
LOG_DIR = Path(os.environ.get("STACK_LOG_DIR", "/tmp/iam-key-rotator-logs"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fleet_binary() -> Path:
    """The fleet command (debug build), built first if it is not up to date. Built as `cargo test
    --workspace` builds it (the workspace's features, dev-dependencies included), so that the
    test run's build serves here too instead of compiling the SDK crates once more."""
    subprocess.run(["cargo", "test", "--quiet", "--workspace", "--no-run"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "iam-key-fleet"


def template_actions() -> list[str]:
    """The actions template.yaml grants the function (cfn-lint's YAML reader knows the tags)."""
    from cfnlint.decode import decode_str

    template, errors = decode_str((ROOT / "template.yaml").read_text())
    assert not errors, errors
    policies = template["Resources"]["RotatorFunctionRole"]["Properties"]["Policies"]
    # The member role's sts:AssumeRole counts, as with MemberRoleName set (§17); KMS does not:
    # the stack's secrets use no customer managed key. Nor do the logs: Lambda writes the
    # function's log lines, its code makes no Logs call.
    policies = [p["Fn::If"][1] if p.get("Fn::If", [""])[0] == "CrossAccount" else p for p in policies]
    documents = [p["PolicyDocument"] for p in policies if "PolicyDocument" in p and p["PolicyName"] != "RotatorFunctionLogs"]
    return [a for d in documents for s in d["Statement"] for a in s["Action"]]


class Stack:
    def __init__(self, name: str = "stack", propagation_delay: float = 0.0) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{name}-{os.getpid()}-{uuid.uuid4().hex[:6]}.log"
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stack.server", "--propagation-delay", str(propagation_delay)],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True,
        )
        line = self.process.stdout.readline().split()
        if len(line) != 2 or line[0] != "endpoint":
            raise RuntimeError(f"the stack did not start; see {self.log_path}")
        self.endpoint = line[1]
        self.admin = self.call("POST", "/_layer/admin", {"user": "admin"})
        atexit.register(self.stop)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.endpoint + path, method=method,
            data=json.dumps(body or {}).encode() if method == "POST" else None,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=900) as response:
            return json.loads(response.read() or b"null")

    def account_admin(self, account: str) -> dict[str, str]:
        """An admin's key in `account`, made on first use: what it signs reaches that account."""
        admins = self.__dict__.setdefault("_admins", {ACCOUNT: self.admin})
        if account not in admins:
            admins[account] = self.call("POST", "/_layer/admin", {"user": "admin", "account": account})
        return admins[account]

    def configure(self, **settings: Any) -> None:
        self.call("POST", "/_layer/config", settings)

    def sweep(self, function: "Function") -> dict[str, Any]:
        """Delivers the schedule's Scheduled Event to `function`; returns the sweep's report."""
        answer = self.call("POST", "/_layer/schedule", {"function_arn": function.arn})
        assert answer["error"] is None, answer["error"]
        return answer["answer"]

    def age(self, hours: float) -> None:
        """As if `hours` had passed, for every date of the stack."""
        self.call("POST", "/_layer/age", {"hours": hours})

    def report_uses(self) -> None:
        """IAM reports every key's uses so far at once (the stack's reporting lag, 0 for them)."""
        self.call("POST", "/_layer/report", {})

    def retry(self, secret: str) -> dict[str, Any]:
        """Secrets Manager's retry of the secret's incomplete rotation. An orphan key younger than
        IAM's reporting lag makes it wait (Transient.OrphanTooRecent, §18): as Secrets Manager's
        later retries would, it is tried again once 4 hours have passed."""
        record = self.call("POST", "/_layer/retry", {"secret": secret})
        if record["steps"] and record["steps"][-1].get("errorType") == "Transient.OrphanTooRecent":
            self.age(4.1)
            record = self.call("POST", "/_layer/retry", {"secret": secret})
        return record

    def rotations(self) -> list[dict[str, Any]]:
        return self.call("GET", "/_layer/rotations")

    def client(self, service: str, key: dict[str, str] | None = None, region: str = REGION) -> Any:
        key = key or self.admin
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=region,
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
            config=BotoConfig(retries={"max_attempts": 1}, read_timeout=900),
        )

    def environment(self, key: dict[str, str] | None = None) -> dict[str, str]:
        """This process's environment with its AWS settings replaced: a program started with it
        talks to the stack, signing with `key` (the admin's by default)."""
        key = key or self.admin
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        environment.update({
            "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        })
        return environment

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()


class Function:
    """The rotation function under `cargo lambda watch`, as `name`, with its own IAM user."""

    def __init__(self, stack: Stack, name: str, env: dict[str, str] | None = None,
                 actions: list[str] | None = None) -> None:
        self.stack = stack
        self.name = name
        self.arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        self.port = free_port()
        self.log_path = LOG_DIR / f"function-{name}-{os.getpid()}-{self.port}.log"
        iam = stack.client("iam")
        self.user = f"{name}-{uuid.uuid4().hex[:6]}"
        iam.create_user(UserName=self.user)
        self.actions = actions if actions is not None else template_actions()
        self.set_actions(self.actions)
        key = iam.create_access_key(UserName=self.user)["AccessKey"]
        environment = {
            **os.environ,
            "AWS_ENDPOINT_URL": stack.endpoint,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_LAMBDA_LOG_FORMAT": "json",
            "AWS_EC2_METADATA_DISABLED": "true",
            # `cargo lambda watch` gives the function the ARN "function-arn": the sweep needs the
            # one the secrets name as their rotation function.
            "EMULATED_FUNCTION_ARN": self.arn,
            **(env or {}),
        }
        environment.pop("AWS_PROFILE", None)
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            ["cargo", "lambda", "watch", "--invoke-address", "127.0.0.1", "--invoke-port", str(self.port),
             # As template.yaml: the Lambda deadline testSecret plans against.
             "--timeout", "300",
             # A test or demo must not have its function rebuilt under it by an edit.
             "--ignore-changes"],
            cwd=ROOT, env=environment, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        atexit.register(self.stop)
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_until_serving()
        stack.configure(lambda_endpoints={name: self.url})

    def set_actions(self, actions: list[str]) -> None:
        """The function's permissions: these actions, on any resource (moto evaluates actions only)."""
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
        self.stack.client("iam").put_user_policy(UserName=self.user, PolicyName="rotator", PolicyDocument=json.dumps(policy))

    def _wait_until_serving(self) -> None:
        # The watcher answers at once; the function is built on the first invocation. A bad event
        # makes it build and start without touching AWS.
        deadline = time.time() + 600
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"cargo lambda watch exited; see {self.log_path}")
            try:
                self.invoke({"Step": "warmUp"})
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"the function did not start in time; see {self.log_path}")

    def invoke(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """Invokes the function directly; None on success, else its error."""
        request = urllib.request.Request(
            f"{self.url}/2015-03-31/functions/iam-key-rotator/invocations",
            data=json.dumps(event).encode(), method="POST", headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=900) as response:
                response.read()
                return None
        except urllib.error.HTTPError as error:
            return json.loads(error.read() or b"{}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class World:
    """The operator's view: users, keys and secrets, through the admin's AWS clients."""

    def __init__(self, stack: Stack, account: str | None = None) -> None:
        """`account`: IAM of that member account (§17), through its own admin; the secrets stay
        in the central account."""
        self.stack = stack
        self.iam = stack.client("iam", stack.account_admin(account) if account else None)
        self.sm = stack.client("secretsmanager")
        # Every secret seen, to prove none reaches a log.
        self.secret_material: set[str] = set()

    def lifecycle_events(self, secret: str | None = None) -> list[dict[str, Any]]:
        """The function's lifecycle events (source iam-key-rotator) put on the default bus since the
        last call, as an EventBridge rule delivers them to an SQS queue; only `secret`'s if named
        (by its name or ARN)."""
        sqs, events = self.stack.client("sqs"), self.stack.client("events")
        queue = sqs.create_queue(QueueName="lifecycle-events")["QueueUrl"]
        if not getattr(self.stack, "_lifecycle_rule", False):
            arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            events.put_rule(Name="lifecycle-events", EventPattern=json.dumps({"source": ["iam-key-rotator"]}))
            events.put_targets(Rule="lifecycle-events", Targets=[{"Id": "queue", "Arn": arn}])
            self.stack._lifecycle_rule = True
            return []
        received = []
        while True:
            batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                break
            for message in batch:
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        if secret is None:
            return received
        arn = self.sm.describe_secret(SecretId=secret)["ARN"]
        return [e for e in received if e["resources"] == [arn]]

    def user(self, path: str = "/svc/", keys: int = 0) -> tuple[str, list[dict[str, str]]]:
        name = unique("user")
        self.iam.create_user(UserName=name, Path=path)
        return name, [self.add_key(name) for _ in range(keys)]

    def add_key(self, user: str) -> dict[str, str]:
        key = self.iam.create_access_key(UserName=user)["AccessKey"]
        self.secret_material.add(key["SecretAccessKey"])
        return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}

    def keys(self, user: str) -> dict[str, str]:
        """Key id -> status."""
        listing = self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
        return {k["AccessKeyId"]: k["Status"] for k in listing}

    def secret(self, value: dict[str, Any], name: str | None = None, bind: str | bool = True) -> str:
        """Creates a secret. As an IAM administrator would, binds its user to it (SPEC §15): the
        value's UserName, or the user named by `bind`; `bind=False` leaves the user unbound."""
        name = name or unique("app/prod/deploy")
        text = json.dumps(value)
        self.secret_material.add(text)
        self.sm.create_secret(Name=name, SecretString=text)
        user = value.get("UserName") if bind is True else bind
        if user:
            self.bind(user, name)
        return name

    def bind(self, user: str, secret: str) -> None:
        """TagUser iam-key-rotator:secret = the secret's ARN: what lets the function rotate the
        user's keys for that secret, and only for it."""
        arn = self.sm.describe_secret(SecretId=secret)["ARN"]
        self.iam.tag_user(UserName=user, Tags=[{"Key": BINDING_TAG, "Value": arn}])

    def value(self, secret: str, stage: str = "AWSCURRENT", version: str | None = None) -> dict[str, Any] | None:
        args: dict[str, Any] = {"SecretId": secret}
        if version:
            args["VersionId"] = version
        else:
            args["VersionStage"] = stage
        try:
            text = self.sm.get_secret_value(**args)["SecretString"]
        except self.sm.exceptions.ResourceNotFoundException:
            return None
        self.secret_material.add(text)
        value = json.loads(text)
        for field in ("SecretAccessKey", "aws_secret_access_key"):
            if field in value:
                self.secret_material.add(value[field])
        return value

    def stages(self, secret: str) -> dict[str, list[str]]:
        return self.sm.describe_secret(SecretId=secret).get("VersionIdsToStages", {})

    def rotate(self, secret: str, function: Function, immediately: bool = True, token: str | None = None) -> dict[str, Any]:
        """RotateSecret, as an operator calls it; returns the layer's record of the rotation."""
        args: dict[str, Any] = dict(
            SecretId=secret, RotationLambdaARN=function.arn, RotateImmediately=immediately,
            RotationRules={"ScheduleExpression": "rate(30 days)", "Duration": "2h"},
        )
        if token:
            args["ClientRequestToken"] = token
        version = self.sm.rotate_secret(**args)["VersionId"]
        (record,) = [r for r in self.stack.rotations() if r["token"] == version and r["secret"] == secret][-1:]
        return record

    def key_of(self, secret: str, stage: str = "AWSCURRENT") -> str | None:
        value = self.value(secret, stage)
        if value is None:
            return None
        return value.get("AccessKeyId") or value.get("aws_access_key_id")

    def authenticates(self, key_id: str, secret_key: str) -> str | None:
        """The ARN the key authenticates as, or None."""
        sts = self.stack.client("sts", {"AccessKeyId": key_id, "SecretAccessKey": secret_key})
        try:
            return sts.get_caller_identity()["Arn"]
        except Exception:  # noqa: BLE001 - any refusal means "does not authenticate"
            return None

    def check_invariants(self, secret: str, user: str, old_key: str | None, action: str,
                         foreign: tuple[str, ...] = ()) -> None:
        """SPEC §10.1-3 after a completed rotation."""
        keys = self.keys(user)
        current = self.value(secret)
        current_id = current.get("AccessKeyId") or current.get("aws_access_key_id")
        current_secret = current.get("SecretAccessKey") or current.get("aws_secret_access_key")
        assert keys.get(current_id) == "Active", f"current key {current_id} is the user's and Active: {keys}"
        arn = self.iam.get_user(UserName=user)["User"]["Arn"]
        assert self.authenticates(current_id, current_secret) == arn, "the current key works"
        assert len(keys) <= 2
        assert current_id != old_key, "AWSCURRENT holds a new key"
        assert self.key_of(secret, "AWSPREVIOUS") == old_key, "AWSPREVIOUS holds the old key"
        if old_key:
            expected = {"keep": "Active", "retire": "Active", "deactivate": "Inactive", "delete": None}[action]
            assert keys.get(old_key) == expected, f"old key per {action}: {keys}"
        for key_id in keys:
            assert key_id in (current_id, old_key) or key_id in foreign, f"stray key {key_id}"
        for key_id in foreign:
            assert key_id in keys, f"foreign key {key_id} was touched"
        pending = [v for v, s in self.stages(secret).items() if "AWSPENDING" in s]
        assert not pending, "no AWSPENDING after a completed rotation"


class Consumer:
    """A program that uses the secret's key as real ones are written: it reads the secret by its
    id alone (`GetSecretValue(SecretId)`, no stage: AWS answers AWSCURRENT), keeps the key it got,
    and calls AWS with it, from its own Region, until it reads the secret again."""

    def __init__(self, world: World, secret: str, region: str = "eu-west-1") -> None:
        self.world, self.secret, self.region = world, secret, region
        self.key: dict[str, str] | None = None
        self.refresh()

    def refresh(self) -> str:
        """Reads the secret again; returns the key id it now uses."""
        value = json.loads(self.world.sm.get_secret_value(SecretId=self.secret)["SecretString"])
        self.key = {"AccessKeyId": value.get("AccessKeyId") or value["aws_access_key_id"],
                    "SecretAccessKey": value.get("SecretAccessKey") or value["aws_secret_access_key"]}
        return self.key["AccessKeyId"]

    def use(self) -> str:
        """One call with the key it holds (sts:GetCallerIdentity); returns the identity's ARN."""
        return self.world.stack.client("sts", self.key, region=self.region).get_caller_identity()["Arn"]
