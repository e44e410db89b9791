#!/usr/bin/env python3
"""make fleet-bench: the fleet scan over an estate (contract §17), 3 accounts x 2 Regions x 500
key-holding secrets, all targets at once against one target at a time (`--parallel-targets 1`),
both with every AWS call taking LATENCY longer, as a round trip to AWS from outside it does.

AWS is the local stack: moto with our layer, one Python process. Its own CPU time (one core at most,
under the GIL) sets one floor, measured by the parallel scan with no latency; the latency sets the
other: calls x latency / calls in flight. A scan far above the larger floor waits on itself (calls
made one after another, work not overlapped); one near it is as fast as the stack allows. Prints
the figures; nothing is asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stack.harness import ACCOUNT, Stack  # noqa: E402

TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
FLEET = TARGET / "release" / "iam-key-fleet"
PER_TARGET = int(os.environ.get("FLEET_BENCH_SECRETS", "500"))
LATENCY = float(os.environ.get("FLEET_BENCH_LATENCY_MS", "40")) / 1000
PARALLEL = 6  # --parallel-targets of the parallel scan: every target at once
CONCURRENCY = 8  # --concurrency (the command's default): calls in flight within one target
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


@dataclass
class Run:
    """One scan: targets at a time, wall time, the AWS calls the stack served meanwhile (AssumeRole
    and retries included, one per request), the secrets reported."""

    parallel: int
    seconds: float
    calls: list[dict[str, str]]
    secrets: int

    def latency_floor(self, latency: float) -> float:
        """No scan is faster than its calls' latency spread over the most calls in flight: at most
        --concurrency per target (its reads, then its secrets, `concurrency` at a time), times the
        targets scanned at once. Calls that must wait for one another (ListSecrets pages, a
        secret's own calls in turn) only raise the true figure."""
        return len(self.calls) * latency / (self.parallel * CONCURRENCY)


def scan(stack: Stack, accounts: list[str], parallel: int, latency: float) -> Run:
    """The estate scanned once, `parallel` targets at a time, every AWS call `latency` seconds."""
    stack.configure(latency_seconds=latency)
    environment = stack.environment()
    environment.update({"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
    since = len(stack.call("GET", "/_layer/calls"))
    started = time.perf_counter()
    done = subprocess.run([str(FLEET), "scan", "--json", "--accounts", ",".join(accounts),
                           "--regions", ",".join(REGIONS), "--parallel-targets", str(parallel),
                           "--concurrency", str(CONCURRENCY), "--role-name", ROLE],
                          env=environment, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    calls = stack.call("GET", "/_layer/calls")[since:]
    stack.configure(latency_seconds=0)
    report = json.loads(done.stdout)
    secrets = sum(len(t["scan"]["secrets"]) for t in report["targets"] if "scan" in t)
    return Run(parallel, seconds, calls, secrets)


def main() -> None:
    subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "iam-key-fleet"], cwd=ROOT, check=True)
    stack = Stack("fleet-bench")
    try:
        print(f"populating 3 accounts x {len(REGIONS)} Regions x {PER_TARGET} secrets ...", file=sys.stderr)
        accounts = estate(stack)
        # The latency-free scan last: a first scan's warm-up, if any, counts against the scans
        # measured, never lowers the floor they are compared with.
        together = scan(stack, accounts, PARALLEL, LATENCY)
        one_by_one = scan(stack, accounts, 1, LATENCY)
        cpu = scan(stack, accounts, PARALLEL, 0.0)
    finally:
        stack.stop()
    ms = LATENCY * 1000
    print(f"\nfleet scan, 3 accounts x {len(REGIONS)} Regions x {PER_TARGET} secrets, local stack, "
          f"{os.cpu_count()} cores, {ms:.0f} ms per AWS call, --concurrency {CONCURRENCY}")
    print(f"{'mode':<34}{'seconds':>9}{'secrets':>9}{'calls':>8}{'calls/secret':>14}"
          f"{'secrets/s':>11}{'latency floor':>15}")
    rows = [(f"all targets at once ({PARALLEL} at a time)", together, f"{together.latency_floor(LATENCY):.1f}s"),
            ("one account and Region at a time", one_by_one, f"{one_by_one.latency_floor(LATENCY):.1f}s"),
            ("all at once, no latency (CPU floor)", cpu, "-")]
    for mode, run, floor in rows:
        print(f"{mode:<34}{run.seconds:>9.1f}{run.secrets:>9}{len(run.calls):>8}"
              f"{len(run.calls) / max(run.secrets, 1):>14.2f}{run.secrets / run.seconds:>11.0f}{floor:>15}")
    actions = Counter(c["action"] for c in together.calls)
    per_secret = ", ".join(f"{a} {n / max(together.secrets, 1):.2f}" for a, n in actions.most_common())
    print(f"calls per secret, parallel scan: {per_secret}")
    print(f"speed-up of all at once over one at a time: {one_by_one.seconds / together.seconds:.2f}x")

    latency_floor = together.latency_floor(LATENCY)
    floor = max(cpu.seconds, latency_floor)
    bound = "the stack's CPU" if cpu.seconds >= latency_floor else "the latency"
    print(f"floors of the parallel scan: stack CPU {cpu.seconds:.1f}s (the same scan with no latency), "
          f"latency {latency_floor:.1f}s ({len(together.calls)} calls x {ms:.0f} ms / "
          f"({PARALLEL} targets x {CONCURRENCY} in flight))")
    ratio = together.seconds / floor
    print(f"parallel scan: {ratio:.2f}x the larger floor ({bound}): "
          f"{'within' if ratio <= 1.25 else 'NOT within'} 1.25x")
    print(f"note: the stack is one Python process, whose Python runs on one core at a time (the GIL): it "
          f"serves at most ~{len(cpu.calls) / cpu.seconds:.0f} calls/s here\n"
          f"however many targets run at once, which caps the speed-up of parallel targets (and the fleet "
          f"command shares the {os.cpu_count()} cores with it).\n"
          f"AWS has no such cap: there the latency floor is the one that counts.")


if __name__ == "__main__":
    main()
