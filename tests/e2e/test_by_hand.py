"""The README's "by hand" flow, run as written (issue 24): `make stack` makes the fixtures' world
and writes the environment, `make watch` serves the function with it, and `make invoke
EVENT=...` with each step's fixture rotates the key, each printing what changed. Only the port
and the environment file's place are the test's own (STACK_ENV, WATCH_PORT), so that a
developer's running `make stack` is left alone."""

import json
import os
import queue
import signal
import stat
import subprocess
import threading
import time

import boto3

from stack.harness import LOG_DIR, ROOT, free_port
from stack.local import read_env

STEPS = ["create-secret", "set-secret", "test-secret", "finish-secret"]


def start(args, log):
    return subprocess.Popen(["make", "--no-print-directory", *args], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)


def read_until(process, word, seconds=600):
    """The lines `process` prints until one starts with `word` (a thread reads them: a select on
    a buffered pipe misses the lines already in the buffer)."""
    lines, found = queue.Queue(), []
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        found.append(line)
        if line.startswith(word):
            return found
    raise AssertionError(f"no {word!r} line; printed: {''.join(found)}")


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wait_for_port(port, process, seconds=120):
    import socket
    deadline = time.time() + seconds
    while time.time() < deadline:
        assert process.poll() is None, "make watch exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise AssertionError(f"make watch serves nothing on {port}")


def invoke(event, variables):
    return subprocess.run(["make", "--no-print-directory", "invoke", f"EVENT={event}", *variables], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


def admin_clients(environment):
    session = boto3.Session(aws_access_key_id=environment["LOCAL_STACK_ADMIN_ACCESS_KEY_ID"],
                            aws_secret_access_key=environment["LOCAL_STACK_ADMIN_SECRET_ACCESS_KEY"],
                            region_name=environment["AWS_REGION"])
    return (session.client("secretsmanager", endpoint_url=environment["AWS_ENDPOINT_URL"]),
            session.client("iam", endpoint_url=environment["AWS_ENDPOINT_URL"]))


def test_make_stack_watch_and_invoke_rotate_the_fixtures_key_by_hand(tmp_path):
    env_file = tmp_path / "local" / "stack.env"
    variables = [f"STACK_ENV={env_file}", f"WATCH_PORT={free_port()}"]
    logs = open(LOG_DIR / f"by-hand-{os.getpid()}.log", "w")
    stack = start(["stack", *variables], logs)
    watch = None
    try:
        printed = "".join(read_until(stack, "ready:"))
        assert "secret iam-key-rotator/demo/ci-deployer bound to it" in printed, printed
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600, "the environment file holds the admin key"
        environment = read_env(env_file)
        sm, iam = admin_clients(environment)
        secret = json.loads((ROOT / "events" / "create-secret.json").read_text())
        token, name = secret["ClientRequestToken"], secret["SecretId"]
        old = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
        material = {old["SecretAccessKey"], environment["AWS_SECRET_ACCESS_KEY"],
                    environment["LOCAL_STACK_ADMIN_SECRET_ACCESS_KEY"]}

        watch = subprocess.Popen(["make", "--no-print-directory", "watch", *variables], cwd=ROOT,
                                 stdin=subprocess.DEVNULL, stdout=logs, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        wait_for_port(int(variables[1].split("=")[1]), watch)
        outputs = {}
        for step in STEPS:
            result = invoke(step, variables)
            outputs[step] = result.stdout + result.stderr
            assert result.returncode == 0, f"make invoke EVENT={step}:\n{outputs[step]}"
            assert f"after {step} (* changed):" in result.stdout, outputs[step]

        new = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])
        material.add(new["SecretAccessKey"])
        assert new["AccessKeyId"] != old["AccessKeyId"]
        # Each step printed its change: the key made, stored under AWSPENDING, then made current.
        assert f"* {token}  AWSPENDING  key {new['AccessKeyId']}" in outputs["create-secret"]
        assert f"* {new['AccessKeyId']}  Active" in outputs["create-secret"]
        assert "AWSPENDING removed" in outputs["finish-secret"]
        assert f"* {token}  AWSCURRENT  key {new['AccessKeyId']}" in outputs["finish-secret"]
        stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
        assert stages[token] == ["AWSCURRENT"]
        keys = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=old["UserName"])["AccessKeyMetadata"]}
        # The template's default action, retire: the old key stays until IAM shows it idle.
        assert keys == {old["AccessKeyId"]: "Active", new["AccessKeyId"]: "Active"}

        sweep = invoke("scheduled-sweep", variables)
        assert sweep.returncode == 0, sweep.stdout + sweep.stderr
        assert '"visited":1' in sweep.stdout.replace(" ", ""), sweep.stdout
        outputs["scheduled-sweep"] = sweep.stdout + sweep.stderr
        for step, text in outputs.items():
            assert not [m for m in material if m in text], f"secret material in make invoke EVENT={step}'s output"
    finally:
        for process in (watch, stack):
            if process is not None:
                stop(process)
        logs.close()
