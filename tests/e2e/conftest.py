"""End-to-end fixtures: a local stack per test module, the function under `cargo lambda watch` per
configuration, and after every test a scan of every log line for secret material (SPEC §10.7)."""

import os
import re

import pytest

from stack.harness import LOG_DIR, Function, Stack, World


@pytest.fixture(scope="module")
def stack(request):
    name = re.sub(r"\W", "-", request.module.__name__)
    started = Stack(name)
    # IAM reports a key's use up to 4 hours late, and so does the stack here (§18): a test that
    # needs a use seen at once says so (stack.report_uses()).
    started.configure(report_lag_hours=4)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def functions(stack):
    """functions(action=..., timeout=..., template=..., log_level=..., env={...}): the function so
    configured, started once."""
    running = {}

    def get(action="keep", timeout=None, template=None, log_level=None, env=None):
        key = (action, timeout, template, log_level, tuple(sorted((env or {}).items())))
        if key not in running:
            env = {"PREVIOUS_KEY_ACTION": action, **(env or {})}
            if log_level is not None:
                # Both ways a level is set, each asking for everything.
                env.update({"AWS_LAMBDA_LOG_LEVEL": log_level, "RUST_LOG": f"{log_level.lower()},lambda_runtime=trace,aws_smithy_runtime=trace"})
            if timeout is not None:
                env["PROPAGATION_TIMEOUT_SECONDS"] = str(timeout)
            if template is not None:
                env["USER_NAME_TEMPLATE"] = template
            running[key] = Function(stack, f"rotator-{len(running)}-{action}", env)
        return running[key]

    yield get
    for function in running.values():
        function.stop()


@pytest.fixture
def world(stack, functions):
    w = World(stack)
    yield w
    # §10.7: nothing this test saw that is secret reached a log line of the function or the stack.
    material = w.secret_material | set(stack.call("GET", "/_layer/rotation-tokens"))
    logs = [stack.log_path] + sorted(LOG_DIR.glob(f"function-*-{os.getpid()}-*.log"))
    text = "\n".join(path.read_text(errors="replace") for path in logs)
    assert '"level":"INFO"' in text, "the function's JSON logs were captured"
    # For scripts/check-no-secrets.sh, which scans the test run's own output for them.
    with open(LOG_DIR / "secret-material.txt", "a") as listing:
        listing.writelines(m.replace("\n", " ") + "\n" for m in material if m)
    leaked = [m for m in material if m and m in text]
    assert not leaked, f"{len(leaked)} secret(s) found in the logs"
