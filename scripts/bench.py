#!/usr/bin/env python3
"""make bench: cold start, one full rotation, API calls, size and testSecret's overshoot, measured
against the floor (a hello-world lambda_runtime function built with the same release profile).

Each binary runs under a minimal Lambda Runtime API served here, as in Lambda: it polls
/invocation/next, gets an event, posts its response. AWS is the local stack (stack/). Prints one
table; nothing is asserted (figures, not tests).
"""

from __future__ import annotations

import json
import os
import platform
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stack.harness import REGION, Stack, World, template_actions  # noqa: E402

TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
# The deployment binary as `make build` (cargo lambda) makes it, and the floor built the same way:
# the same target, and the flags cargo lambda adds to x86_64 release builds (its "release
# optimizations", shown by `cargo lambda build -v`).
TRIPLE = "x86_64-unknown-linux-gnu"
CARGO_LAMBDA_FLAGS = ["--target", TRIPLE, "--config", 'build.rustflags=["-C", "target-cpu=haswell"]']
ROTATOR = TARGET / "lambda" / "iam-key-rotator" / "bootstrap"
FLOOR = TARGET / TRIPLE / "release" / "examples" / "hello_lambda"
RUNS = int(os.environ.get("BENCH_RUNS", "50"))
RSS_RUNS = int(os.environ.get("BENCH_RSS_RUNS", "7"))
STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"]


class RuntimeApi:
    """The Lambda Runtime API, minimal: one function process at a time."""

    def __init__(self) -> None:
        self.events: queue.Queue = queue.Queue()
        self.first_poll: float | None = None
        self.results: queue.Queue = queue.Queue()
        self.delivered: dict[str, float] = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                if api.first_poll is None:
                    api.first_poll = time.monotonic()
                event = api.events.get()
                request_id = str(uuid.uuid4())
                body = json.dumps(event).encode()
                api.delivered[request_id] = time.monotonic()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int((time.time() + 300) * 1000)))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", f"arn:aws:lambda:{REGION}:123456789012:function:bench")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = self.path.split("/")
                request_id = parts[-2] if len(parts) > 2 else ""
                ended = time.monotonic()
                self.send_response(202)
                self.end_headers()
                api.results.put({"ok": self.path.endswith("/response"), "body": body.decode(errors="replace"),
                                 "took": ended - api.delivered.get(request_id, ended), "ended_wall": time.time()})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A killed function leaves its poll's connection broken: expected, not worth a traceback.
        self.server.handle_error = lambda *_: None
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        for _ in range(4):
            self.events.put({})  # release blocked pollers
        self.server.shutdown()


def spawn(binary: Path, api: RuntimeApi, env: dict[str, str], wrapper: tuple[str, ...] = ()) -> subprocess.Popen:
    """Starts the binary as Lambda would, polling `api`; `wrapper` runs it under a tool (valgrind)."""
    environment = {
        "PATH": os.environ["PATH"], "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_FORMAT": "json",
        "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": "AKIABENCHBENCHBENCH0", "AWS_SECRET_ACCESS_KEY": "bench-not-a-secret",
        **env,
    }
    return subprocess.Popen([*wrapper, str(binary)], env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finish(process: subprocess.Popen) -> tuple[float, dict[str, int]]:
    """Kills the process; returns (CPU seconds, memory in KiB). The peak is VmHWM, read before the
    kill: wait4's ru_maxrss would count the Python process the child was forked from. RssAnon (heap,
    stacks) and RssFile (pages of the binary and libraries) say what the resident memory is."""
    status = Path(f"/proc/{process.pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    memory = {name: int(fields[name].split()[0]) for name in ("VmHWM", "RssAnon", "RssFile")}
    process.send_signal(signal.SIGKILL)
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = -9
    return usage.ru_utime + usage.ru_stime, memory


def cold_start(*binaries: Path) -> list[float]:
    """Median time from exec to the first poll of /invocation/next, in ms, for each binary. The
    binaries take turns, run after run, so a busy moment of the machine falls on all of them."""
    times: list[list[float]] = [[] for _ in binaries]
    for _ in range(RUNS):
        for i, binary in enumerate(binaries):
            api = RuntimeApi()
            started = time.monotonic()
            process = spawn(binary, api, {})
            while api.first_poll is None:
                time.sleep(0.0002)
            times[i].append((api.first_poll - started) * 1000)
            finish(process)
            api.stop()
    return [statistics.median(t) for t in times]


def function_user(world: World) -> dict[str, str]:
    """An IAM user holding exactly the template's actions, for the rotator."""
    name = f"bench-rotator-{uuid.uuid4().hex[:6]}"
    world.iam.create_user(UserName=name)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": template_actions(), "Resource": "*"}]}
    world.iam.put_user_policy(UserName=name, PolicyName="rotator", PolicyDocument=json.dumps(policy))
    key = world.iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def new_rotation(stack: Stack, world: World) -> tuple[str, str]:
    """A secret holding a new user's one key, and the token of a rotation of it the stack's layer
    has started, as RotateSecret would: the events to send are the four steps with that token."""
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **key})
    token = str(uuid.uuid4())
    stack.call("POST", "/_layer/start", {"secret": secret, "token": token, "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:bench"})
    return secret, token


def rotation(stack: Stack, world: World, creds: dict[str, str], delay: float = 0.0) -> dict:
    """One full rotation (four invocations) by the release binary: a secret holding the user's one
    key, PREVIOUS_KEY_ACTION=delete."""
    secret, token = new_rotation(stack, world)
    stack.configure(propagation_delay=delay)
    api = RuntimeApi()
    process = spawn(ROTATOR, api, {"AWS_ENDPOINT_URL": stack.endpoint, "PREVIOUS_KEY_ACTION": "delete", **creds})
    steps = {}
    calls = {}
    for step in STEPS:
        before = len(stack.call("GET", "/_layer/calls"))
        started_wall = time.time()
        api.events.put({"Step": step, "SecretId": secret, "ClientRequestToken": token})
        result = api.results.get(timeout=300)
        assert result["ok"], result["body"]
        new_calls = stack.call("GET", "/_layer/calls")[before:]
        steps[step] = {"took": result["took"], "started_wall": started_wall, "ended_wall": result["ended_wall"]}
        calls[step] = new_calls
    cpu, rss = finish(process)
    api.stop()
    stack.configure(propagation_delay=0)
    created = [c["at"] for c in calls["createSecret"] if c["action"] == "CreateAccessKey"][0]
    test = steps["testSecret"]
    overshoot = test["ended_wall"] - max(created + delay, test["started_wall"])
    return {"steps": steps, "calls": calls, "cpu": cpu, "rss": rss, "overshoot": overshoot}


def floor_rss() -> tuple[float, dict[str, int]]:
    api = RuntimeApi()
    process = spawn(FLOOR, api, {})
    for step in STEPS:
        api.events.put({"Step": step})
        api.results.get(timeout=60)
    cpu, rss = finish(process)
    api.stop()
    return cpu, rss


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def zip_size(binary: Path) -> int:
    path = Path("/tmp") / f"bootstrap-{os.getpid()}.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(binary, "bootstrap")
    size = path.stat().st_size
    path.unlink()
    return size


# The calls the contract needs, per step, for this rotation (see docs/performance.md): finishSecret
# needs DescribeSecret, the current value, GetUser (the binding, §15), ListSecretVersionIds (no
# hand edit since the start), UpdateSecretVersionStage, the previous value, DeleteAccessKey;
# createSecret GetUser for the binding and ListSecretVersionIds (no hand edit) beside its six.
MINIMUM = {"createSecret": 8, "setSecret": 4, "testSecret": 4, "finishSecret": 7}


def build_floor() -> None:
    """Built apart from the function: building both in one cargo command would give the function
    the features the dev-dependencies turn on (the SDKs' test-util), which make build's has not."""
    subprocess.run(["cargo", "build", "--release", *CARGO_LAMBDA_FLAGS, "-p", "iam-key-rotator-lambda", "--example", "hello_lambda"], cwd=ROOT, check=True)


def main() -> None:
    build_floor()
    if not ROTATOR.exists():
        sys.exit(f"{ROTATOR} is missing: run `make bench` (it runs make build first)")
    rows = []
    ours, floor = cold_start(ROTATOR, FLOOR)
    rows.append(("cold start (exec to first poll, median of %d)" % RUNS, f"{ours:.1f} ms", f"{floor:.1f} ms", f"{ours / floor:.2f}x", "<= 1.25x"))

    stack = Stack("bench")
    try:
        world = World(stack)
        creds = function_user(world)
        world.secret_material.clear()
        # Peak RSS moves by a few percent from run to run (how much of libc happens to be mapped
        # moves the floor by up to 8%): rotations and floor runs take turns, medians are compared.
        runs, floors = [], []
        for _ in range(RSS_RUNS):
            runs.append(rotation(stack, world, creds))
            floors.append(floor_rss())
        run = sorted(runs, key=lambda r: r["rss"]["VmHWM"])[len(runs) // 2]
        floor_cpu, floor_peak = sorted(floors, key=lambda f: f[1]["VmHWM"])[len(floors) // 2]
        spread = [r["rss"]["VmHWM"] / f[1]["VmHWM"] for r, f in zip(runs, floors)]
        for step in STEPS:
            rows.append((f"  {step} wall time", f"{run['steps'][step]['took'] * 1000:.0f} ms", "", "", ""))
        rows.append(("one rotation: CPU time", f"{run['cpu'] * 1000:.0f} ms", f"{floor_cpu * 1000:.0f} ms", "", ""))
        rows.append((f"one rotation: peak RSS (median of {RSS_RUNS})", mib(run["rss"]["VmHWM"]), mib(floor_peak["VmHWM"]),
                     f"{run['rss']['VmHWM'] / floor_peak['VmHWM']:.2f}x", f"<= 1.5x (pairs: {min(spread):.2f}x to {max(spread):.2f}x)"))
        rows.append(("  of which heap and stacks (RssAnon, at end)", mib(run["rss"]["RssAnon"]), mib(floor_peak["RssAnon"]), "", ""))
        rows.append(("  of which binary and libraries (RssFile)", mib(run["rss"]["RssFile"]), mib(floor_peak["RssFile"]), "", ""))
        total = 0
        for step in STEPS:
            actions = [c["action"] for c in run["calls"][step]]
            total += len(actions)
            rows.append((f"  API calls, {step}", str(len(actions)), "", f"min {MINIMUM[step]}", ", ".join(actions)))
        rows.append(("API calls per rotation", str(total), "", f"min {sum(MINIMUM.values())}", ""))
        for delay in (0, 3, 10):
            r = rotation(stack, world, creds, delay)
            rows.append((f"testSecret overshoot, delay {delay} s", f"{max(r['overshoot'], 0) * 1000:.0f} ms", "", "", "<= 1 s"))
    finally:
        stack.stop()
    rows.append(("binary size", f"{ROTATOR.stat().st_size / 1e6:.1f} MB", f"{FLOOR.stat().st_size / 1e6:.1f} MB", "", ""))
    rows.append(("deployment zip", f"{zip_size(ROTATOR) / 1e6:.1f} MB", f"{zip_size(FLOOR) / 1e6:.1f} MB", "", ""))

    print(f"\niam-key-rotator benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores {platform.machine()}, release profile")
    print(f"| {'what':<44} | {'ours':>10} | {'floor':>9} | {'ratio':>8} | target / notes")
    print(f"|{'-' * 46}|{'-' * 12}|{'-' * 11}|{'-' * 10}|{'-' * 16}")
    for what, ours_v, floor_v, ratio, note in rows:
        print(f"| {what:<44} | {ours_v:>10} | {floor_v:>9} | {ratio:>8} | {note}")


if __name__ == "__main__":
    main()
