#!/usr/bin/env python3
"""The fleet demo (make fleet-demo): iam-key-fleet on a small estate in the local stack.

Secrets of a few kinds, as they stand before this release (no user bound to its secret yet): a key
never rotated, a stale key, a plain-string key, a bootstrap value, a database password and a
console password that hold no key. Then: scan, enable (it binds no one on its own: it prints each
unbound user's evidence and the command), enable --bind with the pairs an administrator chose
(after the checks: the stored key is the user's, no other secret of any enabled Region holds it),
rotate, scan again. Each command is printed as an operator would type it, with its real output.
"""

import json
import shlex
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stack.harness import Function, Stack, World, fleet_binary  # noqa: E402


def main() -> int:
    binary = fleet_binary()
    stack = Stack("fleet-demo")
    function = None
    try:
        function = Function(stack, "iam-key-rotator", {"PREVIOUS_KEY_ACTION": "delete"})
        world = World(stack)
        env = stack.environment()

        def user(name, keys=1):
            world.iam.create_user(UserName=name, Path="/svc/")
            return [world.add_key(name) for _ in range(keys)]

        (k,) = user("payments-ci")
        world.secret({"UserName": "payments-ci", "AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]},
                     name="payments/prod/ci-deployer", bind=False)
        (k,) = user("reports-agent")
        world.secret({"UserName": "reports-agent", "aws_access_key_id": k["AccessKeyId"], "aws_secret_access_key": k["SecretAccessKey"]},
                     name="reports/prod/onprem-agent", bind=False)
        stack.call("POST", "/_layer/age", {"user": "reports-agent", "key": k["AccessKeyId"], "created_days_ago": 200})
        (k,) = user("legacy-sync")
        world.sm.create_secret(Name="legacy/prod/sync-key", SecretString=k["AccessKeyId"])
        user("partner-feed", keys=0)
        world.secret({"UserName": "partner-feed"}, name="partner/prod/feed", bind=False)
        world.secret({"username": "app", "password": "not-an-aws-key"}, name="payments/prod/db")
        user("alice", keys=0)
        world.secret({"UserName": "alice", "Password": "not-an-aws-key-either"}, name="console/alice", bind=False)
        user("forgotten-bot")

        def fleet(*args):
            print(f"\n$ iam-key-fleet {shlex.join(args)}")
            done = subprocess.run([str(binary), *args], env=env, capture_output=True, text=True)
            print((done.stdout + done.stderr).rstrip())
            print(f"(exit {done.returncode})")
            return done

        fleet("scan", "--user-path", "/svc/")
        arn = function.arn
        fleet("enable", "--verdict", "unbound", "--function-arn", arn, "--window", "2h")
        binds = []
        for secret, name in [("payments/prod/ci-deployer", "payments-ci"), ("reports/prod/onprem-agent", "reports-agent")]:
            user_arn = world.iam.get_user(UserName=name)["User"]["Arn"]
            binds += ["--bind", f"{user_arn}={world.sm.describe_secret(SecretId=secret)['ARN']}"]
        fleet("enable", *binds, "--function-arn", arn, "--window", "2h", "--apply")
        rotated = fleet("rotate", "--verdict", "never-rotated", "--verdict", "stale", "--apply")
        after = fleet("scan", "--json", "--name-prefix", "payments/")
        (target,) = json.loads(after.stdout)["targets"]
        verdicts = {s["name"]: s["verdict"] for s in target["scan"]["secrets"]}
        ok = rotated.returncode == 0 and verdicts == {"payments/prod/ci-deployer": "ok"}
        fleet("scan")
        print("\nFleet demo " + ("complete." if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        if function:
            function.stop()
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
