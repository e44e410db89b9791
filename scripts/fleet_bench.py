#!/usr/bin/env python3
"""make fleet-bench: the fleet scan over an estate (contract §17), 3 accounts x 2 Regions x 500
key-holding secrets, all targets at once against the same scan run one account and Region at a
time. AWS is the local stack (moto with our layer, one Python process: its speed, not AWS's, sets
the pace, so the figures compare the two ways of scanning, not what AWS would take). Prints one
table: time, AWS calls, and calls per secret. Nothing is asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stack.harness import ACCOUNT, Stack  # noqa: E402

TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
FLEET = TARGET / "release" / "iam-key-fleet"
PER_TARGET = int(os.environ.get("FLEET_BENCH_SECRETS", "500"))
REGIONS = ["us-east-1", "eu-west-1"]
ROLE = "OrganizationAccountAccessRole"
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def estate(stack: Stack) -> list[str]:
    """An organization of three accounts, PER_TARGET bound, rotated key secrets in each Region."""
    organizations = stack.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    accounts = [ACCOUNT]
    for name in ("member-a", "member-b"):
        status = organizations.create_account(Email=f"{name}@example.com", AccountName=name)
        account = status["CreateAccountStatus"]["AccountId"]
        iam = stack.client("iam", stack.account_admin(account))
        iam.put_role_policy(RoleName=ROLE, PolicyName="admin", PolicyDocument=json.dumps(ADMIN))
        accounts.append(account)
    for account in accounts:
        for region in REGIONS:
            body = {"n": PER_TARGET, "account": account, "region": region, "prefix": f"bench-{region}",
                    "function_arn": f"arn:aws:lambda:{region}:{account}:function:iam-key-rotator"}
            stack.call("POST", "/_layer/populate", body)
    return accounts


def scan(stack: Stack, accounts: list[str], regions: list[str]) -> tuple[float, int, int]:
    """One scan: seconds, AWS calls, secrets reported."""
    environment = stack.environment()
    environment.update({"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
    since = len(stack.call("GET", "/_layer/calls"))
    started = time.perf_counter()
    done = subprocess.run([str(FLEET), "scan", "--json", "--accounts", ",".join(accounts),
                           "--regions", ",".join(regions), "--parallel-targets", "6"],
                          env=environment, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    calls = len(stack.call("GET", "/_layer/calls")) - since
    report = json.loads(done.stdout)
    secrets = sum(len(t["scan"]["secrets"]) for t in report["targets"] if "scan" in t)
    return seconds, calls, secrets


def main() -> None:
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "iam-key-fleet"], cwd=ROOT, check=True)
    stack = Stack("fleet-bench")
    try:
        print(f"populating 3 accounts x {len(REGIONS)} Regions x {PER_TARGET} secrets ...", file=sys.stderr)
        accounts = estate(stack)
        together = scan(stack, accounts, REGIONS)
        apart = [scan(stack, [account], [region]) for account in accounts for region in REGIONS]
        one_by_one = (sum(a[0] for a in apart), sum(a[1] for a in apart), sum(a[2] for a in apart))
    finally:
        stack.stop()
    print(f"\nfleet scan, 3 accounts x {len(REGIONS)} Regions x {PER_TARGET} secrets, local stack, {os.cpu_count()} cores")
    print(f"{'mode':<36}{'seconds':>9}{'secrets':>9}{'calls':>8}{'calls/secret':>14}")
    for mode, (seconds, calls, secrets) in [("all targets at once (6 in parallel)", together),
                                            ("one account and Region at a time", one_by_one)]:
        print(f"{mode:<36}{seconds:>9.1f}{secrets:>9}{calls:>8}{calls / max(secrets, 1):>14.2f}")
    print(f"speed-up: {one_by_one[0] / together[0]:.2f}x")


if __name__ == "__main__":
    main()
