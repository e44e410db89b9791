"""The fleet command (iam-key-fleet) against the local stack, with more than 1,000 secrets so that
ListSecrets really pages. Scan finds every key-holding secret and judges it; enable, rotate and
unstick change what they say they change, through the real function where a rotation runs; bad
filters and missing permissions get clear errors and change nothing."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from stack.harness import BINDING_TAG, fleet_binary

BULK = 1000  # secrets that hold no AWS key, beside the key-holding ones


class Fleet:
    """Runs the command against the stack, as an operator would (credentials in the environment)."""

    def __init__(self, stack, binary: Path, key: dict[str, str]) -> None:
        self.stack, self.binary, self.key = stack, binary, key
        self.material: set[str] = set()
        self.worlds: list = []  # their secret material is checked too

    def run(self, *args: str, key: dict[str, str] | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        environment = self.stack.environment(key or self.key)
        environment.update({"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
        environment.pop("USER_NAME_TEMPLATE", None)
        environment.update(env or {})
        done = subprocess.run([str(self.binary), *args], env=environment, capture_output=True, text=True, timeout=600)
        material = self.material.union(*(w.secret_material for w in self.worlds))
        leaked = [m for m in material if m in done.stdout or m in done.stderr]
        assert not leaked, "secret material in the fleet command's output"
        return done

    def json(self, *args: str, expect: int = 0, **kw) -> dict:
        done = self.run(*args, "--json", **kw)
        assert done.returncode == expect, done.stderr
        return json.loads(done.stdout)

    def scan(self, *args: str, expect: int = 0, **kw) -> dict:
        """`scan --json` of this account and Region: the one target's scan, in the one shape."""
        report = self.json("scan", *args, expect=expect, **kw)
        assert report["schema"] == "iam-key-fleet/scan/v1", report.keys()
        (target,) = report["targets"]
        return target["scan"]


@pytest.fixture(scope="module")
def fleet(stack):
    return Fleet(stack, fleet_binary(), stack.admin)


@pytest.fixture(scope="module")
def estate(stack, fleet):
    """The secrets of a company: BULK unrelated ones and a few of each kind that holds keys."""
    sm, iam = stack.client("secretsmanager"), stack.client("iam")
    p = f"f{uuid.uuid4().hex[:6]}"
    path = f"/{p}/"
    expected: dict[str, str] = {}

    def user(name: str, keys: int = 1) -> tuple[str, list[dict]]:
        iam.create_user(UserName=name, Path=path)
        made = [iam.create_access_key(UserName=name)["AccessKey"] for _ in range(keys)]
        fleet.material.update(k["SecretAccessKey"] for k in made)
        return name, made

    def secret(name: str, value, verdict: str | None, bind: str | None = None) -> str:
        """A secret; its user (UserName, or `bind`) bound to it as an administrator would."""
        text = value if isinstance(value, str) else json.dumps(value)
        arn = sm.create_secret(Name=name, SecretString=text)["ARN"]
        user = bind or (value.get("UserName") if isinstance(value, dict) else None)
        if user and bind != "":
            iam.tag_user(UserName=user, Tags=[{"Key": BINDING_TAG, "Value": arn}])
        if verdict:
            expected[name] = verdict
        return name

    def pair(u: str, k: dict) -> dict:
        return {"UserName": u, "AccessKeyId": k["AccessKeyId"], "SecretAccessKey": k["SecretAccessKey"]}

    for i in range(BULK):
        password = uuid.uuid4().hex
        fleet.material.add(password)
        secret(f"{p}-bulk/db-{i:04d}", {"username": f"app{i}", "password": password}, None)
    for i in range(3):
        u, (k,) = user(f"{p}-never-{i}")
        secret(f"{p}/never/{i}", pair(u, k), "never-rotated")
    u, (k,) = user(f"{p}-stale")
    secret(f"{p}/stale/0", pair(u, k), "stale")
    stack.call("POST", "/_layer/age", {"user": u, "key": k["AccessKeyId"], "created_days_ago": 120})
    u, (k,) = user(f"{p}-missing")
    secret(f"{p}/missing/0", pair(u, k), "key-missing")
    iam.delete_access_key(UserName=u, AccessKeyId=k["AccessKeyId"])
    u, (k, extra) = user(f"{p}-foreign", keys=2)
    secret(f"{p}/foreign/0", pair(u, k), "foreign-keys")
    u, (k,) = user(f"{p}-plain")
    secret(f"{p}/plain/id", k["AccessKeyId"], "not-rotatable")
    secret(f"{p}/plain/secret-key", k["SecretAccessKey"], "not-rotatable")
    secret(f"{p}/plain/env-naming", {"AWS_ACCESS_KEY_ID": k["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": k["SecretAccessKey"]}, "not-rotatable")
    u, _ = user(f"{p}app-prod", keys=0)
    secret(f"{p}app/prod/deployer", {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "x" * 40}, "key-missing", bind=u)
    u, _ = user(f"{p}-bootstrap", keys=0)
    secret(f"{p}/bootstrap/0", {"UserName": u}, "never-rotated")
    # §15: users not bound to their secret, a user bound to another one, and a console password.
    u, (k,) = user(f"{p}-unbound")
    secret(f"{p}/unbound/key", pair(u, k), "unbound", bind="")
    u, _ = user(f"{p}-unbound-boot", keys=0)
    secret(f"{p}/unbound/bootstrap", {"UserName": u}, "unbound", bind="")
    secret(f"{p}/unbound/elsewhere", {"UserName": f"{p}-bootstrap"}, "unbound", bind="")
    u, _ = user(f"{p}-human", keys=0)
    password = uuid.uuid4().hex
    fleet.material.add(password)
    secret(f"{p}/console/0", {"UserName": u, "Password": password}, None, bind="")
    u, (k,) = user(f"{p}-halfdone")
    name = secret(f"{p}/halfdone/0", pair(u, k), "half-done-rotation")
    token = stack.call("POST", "/_layer/start", {"secret": name, "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:gone"})["token"]
    stack.call("POST", "/_layer/age", {"secret": name, "version": token, "created_seconds_ago": 3600})
    orphans = [user(f"{p}-nosecret-{i}")[0] for i in range(2)]
    user(f"{p}-nokeys", keys=0)
    return {"prefix": p, "path": path, "expected": expected, "orphans": orphans, "total": BULK + len(expected)}


def world_arn(stack, name: str) -> str:
    return stack.client("secretsmanager").describe_secret(SecretId=name)["ARN"]


def by_name(report: dict) -> dict[str, dict]:
    return {s["name"]: s for s in report["secrets"]}


def test_scan_pages_through_every_secret_and_judges_each_that_holds_keys(stack, fleet, estate):
    calls_before = len(stack.call("GET", "/_layer/calls"))
    report = fleet.scan("--user-path", estate["path"], "--user-name-template", "{1}-{2}")
    calls = stack.call("GET", "/_layer/calls")[calls_before:]
    pages = [c for c in calls if c["action"] == "ListSecrets"]
    assert len(pages) >= estate["total"] // 100, "ListSecrets was followed page by page"
    assert report["secrets_listed"] >= estate["total"]

    found = {name: s["verdict"] for name, s in by_name(report).items() if name.startswith(estate["prefix"])}
    assert found == estate["expected"], "every key-holding secret found, none of the bulk, each judged right"

    secrets = by_name(report)
    p = estate["prefix"]
    never = secrets[f"{p}/never/0"]
    assert never["user"] == f"{p}-never-0" and never["user_source"] == "UserName"
    assert never["key"]["exists"] and never["key"]["active"] and never["key"]["age_days"] == 0
    assert never["rotation"]["enabled"] is False and never["rotation"]["last_rotated"] is None
    assert secrets[f"{p}/stale/0"]["key"]["age_days"] >= 119
    assert secrets[f"{p}/foreign/0"]["foreign_keys"], "the second key is named"
    templated = secrets[f"{p}app/prod/deployer"]
    assert (templated["user"], templated["user_source"], templated["app"], templated["env"]) == (f"{p}app-prod", "template", f"{p}app", "prod")
    assert never["bound_to"] == world_arn(stack, f"{p}/never/0")
    unbound = secrets[f"{p}/unbound/key"]
    assert unbound["bound_to"] is None and "enable --bind arn:aws:iam::" in unbound["findings"][0]["fix"]
    boot = secrets[f"{p}/unbound/bootstrap"]["findings"][0]
    assert "aws iam tag-user" in boot["fix"] and "enable" not in boot["fix"], "a bootstrap value is bound by hand"
    assert secrets[f"{p}/unbound/elsewhere"]["bound_to"] == world_arn(stack, f"{p}/bootstrap/0")
    half = secrets[f"{p}/halfdone/0"]
    assert half["pending"]["version_id"] and half["pending"]["created"]
    for name in (f"{p}/plain/id", f"{p}/plain/secret-key", f"{p}/plain/env-naming"):
        finding = secrets[name]["findings"][0]
        assert finding["verdict"] == "not-rotatable" and finding["fix"], name
    # The key id is in two of them: each names the other as a second holder.
    for name, other in ((f"{p}/plain/id", f"{p}/plain/env-naming"), (f"{p}/plain/env-naming", f"{p}/plain/id")):
        (duplicate,) = [f for f in secrets[name]["findings"] if f["verdict"] == "duplicate-key"]
        assert world_arn(stack, other) in duplicate["detail"], duplicate
    plain = secrets[f"{p}/plain/id"]
    assert (plain["user"], plain["user_source"], plain["key"]["exists"]) == (f"{p}-plain", "key owner", True), "the key's owner"
    assert sorted(u["user"] for u in report["users_without_secret"]) == sorted(estate["orphans"])
    print(f"\nscan: {report['secrets_listed']} secrets listed in {len(pages)} pages, {len(report['secrets'])} hold keys")


def test_scan_prints_a_table_with_findings_and_fixes(fleet, estate):
    p = estate["prefix"]
    done = fleet.run("scan", "--name-prefix", f"{p}/")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["SECRET", "USER", "KEY", "AGE", "LAST", "USED", "ROTATION", "LAST", "ROTATED", "NEXT", "VERDICT"]
    assert any(line.startswith(f"{p}/stale/0 ") and line.endswith("stale") for line in lines)
    assert f"  {p}/missing/0: key-missing: " in done.stdout and "Fix: " in done.stdout
    holding = len([n for n in estate["expected"] if n.startswith(p + "/")])
    # The console password secret is listed, and is not a key secret (§15).
    assert lines[-1].startswith(f"{holding + 1} secrets listed, {holding} hold AWS access keys"), lines[-1]


def test_filters_select_by_prefix_tag_and_verdict(stack, fleet, estate):
    p = estate["prefix"]
    sm = stack.client("secretsmanager")
    sm.tag_resource(SecretId=f"{p}/never/1", Tags=[{"Key": "team", "Value": "ci"}])
    only_tagged = fleet.scan("--tag", "team=ci", "--name-prefix", f"{p}/")
    assert list(by_name(only_tagged)) == [f"{p}/never/1"]
    stale_or_missing = fleet.scan("--name-prefix", f"{p}/", "--verdict", "stale", "--verdict", "key-missing")
    assert sorted(by_name(stale_or_missing)) == [f"{p}/missing/0", f"{p}/stale/0"]


@pytest.mark.parametrize(
    "args, says",
    [
        (["scan", "--tag", "team"], "KEY=VALUE"),
        (["scan", "--tag", "=ci"], "no tag key"),
        (["scan", "--verdict", "bogus"], "possible values"),
        (["scan", "--name-prefix", "a b"], "cannot be in a secret name"),
        (["scan", "--user-path", "svc"], "is not an IAM path"),
        (["scan", "--user-name-template", "{x}"], "not a segment number"),
        (["enable", "--function-arn", "rotator"], "not a Lambda function ARN"),
        (["enable", "--function-arn", "arn:aws:lambda:us-east-1:123456789012:function:f", "--schedule", "rate(2 hours)"], "out of range"),
        (["enable", "--function-arn", "arn:aws:lambda:us-east-1:123456789012:function:f", "--window", "30h"], "1h to 24h"),
        (["rotate", "--parallel", "0"], "--parallel"),
        (["rotate", "--min-interval", "soon"], "not an interval"),
        (["rotate", "--apply"], "iam-key-fleet rotate --all"),
        (["unstick", "--apply"], "iam-key-fleet unstick --all"),
        (["enable", "--function-arn", "arn:aws:lambda:us-east-1:123456789012:function:f", "--apply"], "--all"),
        (["enable", "--function-arn", "arn:aws:lambda:us-east-1:123456789012:function:f", "--bind", "ci=app/ci"], "USER_ARN=SECRET_ARN"),
        (["rotate", "--all", "--secret", "x"], "cannot be used with"),
        (["scan", "--fail-on", "bogus"], "possible values"),
        (["scan", "--region", "all"], "not a Region"),
        (["scan", "--retire-idle-hours", "4"], "8..=720"),
    ],
)
def test_bad_arguments_are_refused_before_any_call(stack, fleet, args, says):
    before = len(stack.call("GET", "/_layer/calls"))
    done = fleet.run(*args)
    assert done.returncode == 2, done.stdout
    assert says in done.stderr, done.stderr
    assert len(stack.call("GET", "/_layer/calls")) == before, "no AWS call was made"


def limited_key(stack, actions: list[str]) -> dict[str, str]:
    iam = stack.client("iam")
    name = f"fleet-operator-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=name)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    iam.put_user_policy(UserName=name, PolicyName="fleet", PolicyDocument=json.dumps(policy))
    return iam.create_access_key(UserName=name)["AccessKey"]


def test_missing_permissions_are_named(stack, fleet, estate):
    p = estate["prefix"]
    nothing = limited_key(stack, ["iam:GetUser"])
    done = fleet.run("scan", key=nothing)
    assert done.returncode == 1
    assert "secretsmanager:ListSecrets" in done.stderr and "AccessDenied" in done.stderr, done.stderr

    list_only = limited_key(stack, ["secretsmanager:ListSecrets"])
    report = fleet.scan("--name-prefix", f"{p}/never/", key=list_only)
    assert {s["verdict"] for s in report["secrets"]} == {"unreadable"} and len(report["secrets"]) == 3
    assert all("secretsmanager:GetSecretValue" in s["findings"][0]["fix"] for s in report["secrets"])

    no_iam = limited_key(stack, ["secretsmanager:ListSecrets", "secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds"])
    report = fleet.scan("--name-prefix", f"{p}/never/0", key=no_iam)
    (only,) = report["secrets"]
    assert only["verdict"] == "unreadable" and "iam:GetUser" in only["findings"][0]["detail"] + only["findings"][0]["fix"]


@pytest.fixture
def ops(fleet, world, functions):
    """The fleet command watching this test's world, and the function (PREVIOUS_KEY_ACTION=delete)."""
    fleet.worlds.append(world)
    yield fleet, functions("delete")
    fleet.worlds.remove(world)


def keyed_secrets(world, prefix: str, n: int) -> list[tuple[str, str, str]]:
    """n secrets each holding its own user's one key: (secret, user, key id)."""
    made = []
    for i in range(n):
        user, (key,) = world.user(keys=1)
        name = world.secret({"UserName": user, "AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]},
                            name=f"{prefix}/{i:02d}")
        made.append((name, user, key["AccessKeyId"]))
    return made


def outcomes(report: dict) -> dict[str, str]:
    return {o["secret"]: o["outcome"] for o in report["outcomes"]}


def test_enable_shows_the_change_then_applies_it_once(stack, ops, world):
    fleet, function = ops
    prefix = f"en{uuid.uuid4().hex[:6]}"
    made = keyed_secrets(world, prefix, 3)
    args = ["enable", "--name-prefix", f"{prefix}/", "--function-arn", function.arn, "--schedule", "rate(30 days)", "--window", "2h"]

    dry = fleet.json(*args)
    assert dry["dry_run"] and set(outcomes(dry).values()) == {"would-do"} and len(dry["outcomes"]) == 3
    assert not any(world.sm.describe_secret(SecretId=name).get("RotationEnabled") for name, _, _ in made)

    applied = fleet.json(*args, "--apply")
    assert set(outcomes(applied).values()) == {"done"}
    for name, _, key in made:
        described = world.sm.describe_secret(SecretId=name)
        assert described["RotationEnabled"] and described["RotationLambdaARN"] == function.arn
        assert described["RotationRules"]["ScheduleExpression"] == "rate(30 days)" and described["RotationRules"]["Duration"] == "2h"
        assert world.key_of(name) == key, "enabling does not rotate"
    tests_run = [r for r in stack.rotations() if r["secret"].startswith(prefix) and not r["rotate_immediately"]]
    assert len(tests_run) == 3, "Secrets Manager ran testSecret once for each"

    again = fleet.json(*args, "--apply")
    assert set(outcomes(again).values()) == {"unchanged"}
    scanned = fleet.scan("--name-prefix", f"{prefix}/")
    assert {s["verdict"] for s in scanned["secrets"]} == {"never-rotated"}
    assert all(s["rotation"]["next_rotation"] for s in scanned["secrets"])


def bound_to(world, user: str) -> str | None:
    tags = world.iam.list_user_tags(UserName=user)["Tags"]
    return next((t["Value"] for t in tags if t["Key"] == BINDING_TAG), None)


def user_arn(world, user: str) -> str:
    return world.iam.get_user(UserName=user)["User"]["Arn"]


def test_enable_binds_only_what_an_administrator_names_and_only_on_proof(stack, ops, world):
    """§15 migration: enable never binds on its own inference. For an unbound user it prints the
    evidence and the `--bind` command; `--bind USER_ARN=SECRET_ARN` binds that pair alone, once
    the stored key authenticates as the user, and refuses a bootstrap value, a user bound
    elsewhere, a forged key pair, a key held twice and a user with a key the secret lacks."""
    fleet, function = ops
    prefix = f"bi{uuid.uuid4().hex[:6]}"
    user, (key,) = world.user(keys=1)
    proven = world.secret({"UserName": user, **key}, name=f"{prefix}/proven", bind=False)
    boot_user, _ = world.user()
    bootstrap = world.secret({"UserName": boot_user}, name=f"{prefix}/bootstrap", bind=False)
    other = world.secret({"UserName": user}, name=f"{prefix}/other-claims-it", bind=False)
    victim, (victims_key,) = world.user(keys=1)
    forged = world.secret({"UserName": victim, "AccessKeyId": victims_key["AccessKeyId"], "SecretAccessKey": "F" * 40},
                          name=f"{prefix}/forged", bind=False)
    args = ["enable", "--name-prefix", f"{prefix}/", "--function-arn", function.arn]
    bind = f"{user_arn(world, user)}={world_arn(stack, proven)}"

    for apply in ([], ["--apply"]):
        unnamed = {o["secret"]: o for o in fleet.json(*args, *apply)["outcomes"]}
        assert unnamed[proven]["outcome"] == "skipped" and f"--bind {bind}" in unnamed[proven]["detail"]
        assert world_arn(stack, proven) in unnamed[proven]["detail"], "the evidence: the secrets holding the key"
        assert unnamed[forged]["outcome"] == "skipped"
        assert bound_to(world, user) is None and bound_to(world, victim) is None, "nothing named, nothing bound"

    dry = {o["secret"]: o for o in fleet.json(*args, "--bind", bind)["outcomes"]}
    assert dry[proven]["outcome"] == "would-do" and "bind the user" in dry[proven]["detail"]
    assert bound_to(world, user) is None, "a dry run binds nothing"
    applied = {o["secret"]: o for o in fleet.json(*args, "--bind", bind, "--apply")["outcomes"]}
    assert applied[proven]["outcome"] == "done" and bound_to(world, user) == world_arn(stack, proven)
    assert applied[bootstrap]["outcome"] == "skipped" and "by hand" in applied[bootstrap]["detail"]
    assert applied[forged]["outcome"] == "skipped" and bound_to(world, victim) is None, "only the pair named"

    forged_bind = f"{user_arn(world, victim)}={world_arn(stack, forged)}"
    refused = fleet.json("enable", "--bind", forged_bind, "--function-arn", function.arn, "--apply", expect=1)
    (outcome,) = refused["outcomes"]
    assert outcome["outcome"] == "failed" and "does not authenticate" in outcome["detail"]
    assert bound_to(world, victim) is None and world.keys(victim) == {victims_key["AccessKeyId"]: "Active"}
    assert not world.sm.describe_secret(SecretId=forged).get("RotationEnabled")
    # `other` names the user just bound to `proven`: it is refused now, not re-bound.
    again = {o["secret"]: o for o in fleet.json(*args, "--apply")["outcomes"]}
    assert again[other]["outcome"] == "skipped" and "bound to another secret" in again[other]["detail"]
    assert again[proven]["outcome"] == "unchanged"
    assert bound_to(world, user) == world_arn(stack, proven)
    # A pair naming another user than the secret's value: a usage error, nothing changed.
    wrong = fleet.run("enable", "--bind", f"{user_arn(world, victim)}={world_arn(stack, proven)}",
                      "--function-arn", function.arn, "--apply")
    assert wrong.returncode == 2 and "value is for" in wrong.stderr, wrong.stderr

    # A leaked key pair stored in a second secret proves nothing about which secret is the
    # user's: with the key held twice (the other copy outside the selection), nothing is bound.
    leaked_user, (leaked_key,) = world.user(keys=1)
    world.secret({"UserName": leaked_user, **leaked_key}, name=f"{prefix}-elsewhere/original", bind=False)
    thief = world.secret({"UserName": leaked_user, **leaked_key}, name=f"{prefix}/thief", bind=False)
    # A user with a key the secret does not hold: binding would hand that key to its writers.
    two_keys_user, (held, _) = world.user(keys=2)
    partial = world.secret({"UserName": two_keys_user, **held}, name=f"{prefix}/partial", bind=False)
    binds = [f"{user_arn(world, leaked_user)}={world_arn(stack, thief)}",
             f"{user_arn(world, two_keys_user)}={world_arn(stack, partial)}"]
    third = {o["secret"]: o for o in fleet.json(*args, "--bind", binds[0], "--bind", binds[1], "--apply")["outcomes"]}
    assert third[thief]["outcome"] == "skipped" and f"{prefix}-elsewhere/original" in third[thief]["detail"]
    assert third[partial]["outcome"] == "skipped" and "does not hold" in third[partial]["detail"]
    assert bound_to(world, leaked_user) is None and bound_to(world, two_keys_user) is None
    assert not world.sm.describe_secret(SecretId=thief).get("RotationEnabled")

    # The bound secret rotates; the one naming the same user is refused by the function too.
    assert world.rotate(proven, function)["outcome"] == "succeeded"
    world.check_invariants(proven, user, key["AccessKeyId"], "delete")
    keys = world.keys(user)
    refused = world.rotate(other, function)
    assert refused["outcome"] == "failed" and refused["steps"][-1]["errorType"] == "Permanent.UserNotBound"
    assert world.keys(user) == keys


def test_a_leaked_key_stored_in_another_region_gets_no_one_bound(stack, ops, world, tmp_path):
    """The attack of issue 22: whoever holds a leaked key pair stores it in a secret of a Region
    the operator does not look at. enable reads every enabled Region first: its evidence names
    that copy, `--bind` refuses, and scan over both Regions calls both duplicate-key."""
    fleet, function = ops
    prefix = f"lk{uuid.uuid4().hex[:6]}"
    user, (key,) = world.user(keys=1)
    secret = world.secret({"UserName": user, **key}, name=f"{prefix}/ci", bind=False)
    far = stack.client("secretsmanager", region="eu-west-1")
    copy = far.create_secret(Name=f"{prefix}-attacker/copy", SecretString=json.dumps({"UserName": user, **key}))["ARN"]
    try:
        pair = f"{user_arn(world, user)}={world_arn(stack, secret)}"
        bind_file = tmp_path / "binds.txt"
        bind_file.write_text(f"# reviewed by the IAM team\n{pair}\n")
        for how in (["--bind", pair], ["--bind-file", str(bind_file)]):
            report = fleet.json("enable", *how, "--function-arn", function.arn, "--apply")
            (outcome,) = report["outcomes"]
            assert outcome["outcome"] == "skipped" and copy in outcome["detail"], outcome
        unnamed = fleet.json("enable", "--secret", secret, "--function-arn", function.arn, "--apply")
        assert copy in unnamed["outcomes"][0]["detail"], "the evidence names the copy in eu-west-1"
        assert bound_to(world, user) is None
        assert not world.sm.describe_secret(SecretId=secret).get("RotationEnabled")

        both = fleet.json("scan", "--regions", "us-east-1,eu-west-1", "--name-prefix", prefix)
        found = {s["arn"]: s for t in both["targets"] for s in t["scan"]["secrets"]}
        assert set(found) == {world_arn(stack, secret), copy}
        for arn, report in found.items():
            assert any(f["verdict"] == "duplicate-key" for f in report["findings"]), report["findings"]

        far.delete_secret(SecretId=copy, ForceDeleteWithoutRecovery=True)
        report = fleet.json("enable", "--bind", pair, "--function-arn", function.arn, "--apply")
        assert report["outcomes"][0]["outcome"] == "done", report
        assert bound_to(world, user) == world_arn(stack, secret)
    finally:
        try:
            far.delete_secret(SecretId=copy, ForceDeleteWithoutRecovery=True)
        except far.exceptions.ResourceNotFoundException:
            pass


def test_rotate_runs_a_few_at_a_time_and_the_exit_code_tells(stack, ops, world):
    fleet, function = ops
    prefix = f"ro{uuid.uuid4().hex[:6]}"
    made = keyed_secrets(world, prefix, 7)
    fleet.json("enable", "--name-prefix", f"{prefix}/", "--function-arn", function.arn, "--apply")
    off = keyed_secrets(world, f"{prefix}-off", 1)[0][0]
    stack.age(25)  # the values were put just now: --min-interval counts from that too

    dry = fleet.json("rotate", "--name-prefix", f"{prefix}/")
    assert dry["dry_run"] and set(outcomes(dry).values()) == {"would-do"}, "a dry run unless --apply"
    assert not [r for r in stack.rotations() if r["secret"].startswith(prefix + "/") and r["rotate_immediately"]]
    report = fleet.json("rotate", "--name-prefix", f"{prefix}/", "--parallel", "3", "--apply")
    assert set(outcomes(report).values()) == {"done"} and len(report["outcomes"]) == 7
    for name, user, old_key in made:
        world.check_invariants(name, user, old_key, "delete")
    runs = [r for r in stack.rotations() if r["secret"].startswith(prefix + "/") and r["rotate_immediately"]]
    assert len(runs) == 7 and all(r["outcome"] == "succeeded" for r in runs)
    overlap = max(sum(1 for o in runs if o["started"] <= r["started"] < o["ended"]) for r in runs)
    assert 2 <= overlap <= 3, f"at most --parallel rotations at once, and more than one: {overlap}"

    scanned = fleet.scan("--name-prefix", f"{prefix}/")
    assert {s["verdict"] for s in scanned["secrets"]} == {"ok"}, [s["findings"] for s in scanned["secrets"]]
    overdue = made[0][0]
    stack.call("POST", "/_layer/age", {"secret": overdue, "last_rotated_days_ago": 40})
    assert by_name(fleet.scan("--secret", overdue))[overdue]["verdict"] == "rotation-failing"

    skipped = fleet.json("rotate", "--secret", off, "--apply")
    assert outcomes(skipped) == {off: "skipped"} and "enable" in skipped["outcomes"][0]["detail"]

    # Issue 12: a second rotation minutes after the first would act on the key that was current
    # until then: skipped unless --force.
    recent, recent_user, _ = made[3]
    before = world.key_of(recent)
    soon = fleet.json("rotate", "--secret", recent, "--apply")
    assert outcomes(soon) == {recent: "skipped"} and "--min-interval" in soon["outcomes"][0]["detail"]
    assert world.key_of(recent) == before and before in world.keys(recent_user)
    forced = fleet.json("rotate", "--secret", recent, "--apply", "--force")
    assert outcomes(forced) == {recent: "done"}
    world.check_invariants(recent, recent_user, before, "delete")

    broken, broken_user, _ = made[1]
    for key_id in world.keys(broken_user):
        world.iam.delete_access_key(UserName=broken_user, AccessKeyId=key_id)
    world.iam.delete_user(UserName=broken_user)
    failed = fleet.run("rotate", "--secret", broken, "--secret", made[2][0], "--timeout-seconds", "3", "--json",
                       "--apply", "--force")
    assert failed.returncode == 1, failed.stderr
    result = {o["secret"]: o for o in json.loads(failed.stdout)["outcomes"]}
    assert result[broken]["outcome"] == "failed" and "not AWSCURRENT" in result[broken]["detail"]
    assert result[made[2][0]]["outcome"] == "done"


def lost_create(stack, world, function, secret):
    """A rotation whose CreateAccessKey took effect but lost its answer: it stops at createSecret
    with AWSPENDING on an empty placeholder, and leaves a key nobody ever had."""
    stack.configure(faults=[{"action": "CreateAccessKey", "kind": "lost", "count": 1}])
    try:
        assert world.rotate(secret, function)["outcome"] == "failed"
    finally:
        stack.configure(faults=[])


def test_unstick_deletes_only_proven_orphans_and_only_when_asked(stack, ops, world):
    """Issue 12: a key is deleted only if no labelled version holds it, it was made within the
    rotation's window, IAM shows it never used, and no other secret holds it. A key the stuck
    rotation's testSecret used, or a person's key used since, is reported with the command."""
    fleet, function = ops
    prefix = f"un{uuid.uuid4().hex[:6]}"
    (stuck, user, key), (orphaned, user2, key2), (busy, user3, key3) = keyed_secrets(world, prefix, 3)
    stack.configure(faults=[{"action": "UpdateSecretVersionStage", "kind": "5xx", "count": 1000}])
    try:
        assert world.rotate(stuck, function)["outcome"] == "failed"
    finally:
        stack.configure(faults=[])
    (tested_key,) = set(world.keys(user)) - {key}
    lost_create(stack, world, function, orphaned)
    (orphan,) = set(world.keys(user2)) - {key2}
    stack.call("POST", "/_layer/start", {"secret": busy, "function_arn": function.arn})
    import time
    time.sleep(1.2)  # IAM dates keys in whole seconds: this one is made after the rotation started
    persons = world.add_key(user3)
    assert world.authenticates(persons["AccessKeyId"], persons["SecretAccessKey"]), "in use"
    young = fleet.json("unstick", "--name-prefix", f"{prefix}/")
    assert set(outcomes(young).values()) == {"skipped"} and "rotation window" in young["outcomes"][0]["detail"]
    # Minutes old, no key can be proven unused yet: IAM reports a use up to 4 hours late (§18),
    # and the label stays so that unstick finds the secret again.
    early = fleet.json("unstick", "--name-prefix", f"{prefix}/", "--min-age-minutes", "0", "--apply")
    early = {o["secret"]: o for o in early["outcomes"]}
    assert early[orphaned]["outcome"] == "skipped", early[orphaned]
    assert f"left {orphan}: IAM reports a key's use up to 4 hours late" in early[orphaned]["detail"], early
    assert orphan in world.keys(user2) and any("AWSPENDING" in s for s in world.stages(orphaned).values())
    stack.age(4.1)  # IAM has reported every use by now
    dry = fleet.json("unstick", "--name-prefix", f"{prefix}/", "--min-age-minutes", "0")
    details = {o["secret"]: o["detail"] for o in dry["outcomes"]}
    assert set(outcomes(dry).values()) == {"would-do"}
    assert f"delete orphan key {orphan}" in details[orphaned]
    assert f"left {tested_key}: IAM shows it used" in details[stuck] and "no orphan key" in details[stuck]
    assert f"left {persons['AccessKeyId']}: IAM shows it used" in details[busy]
    assert orphan in world.keys(user2) and any("AWSPENDING" in s for s in world.stages(stuck).values()), "dry run"

    applied = fleet.json("unstick", "--name-prefix", f"{prefix}/", "--min-age-minutes", "0", "--apply")
    assert set(outcomes(applied).values()) == {"done"}
    assert world.keys(user2) == {key2: "Active"}, "the orphan nobody had is gone"
    assert world.keys(user) == {key: "Active", tested_key: "Active"}, "a used key is left to a person"
    assert persons["AccessKeyId"] in world.keys(user3)
    for name in (stuck, orphaned, busy):
        assert not any("AWSPENDING" in s for s in world.stages(name).values())
    # The person deletes the reported key with the command given; the secret rotates again.
    world.iam.delete_access_key(UserName=user, AccessKeyId=tested_key)
    again = fleet.json("rotate", "--secret", stuck, "--apply", "--force")
    assert outcomes(again) == {stuck: "done"}, again
    world.check_invariants(stuck, user, key, "delete")


def test_unstick_rereads_and_stops_when_the_rotation_completed_meanwhile(stack, ops, world):
    """Issue 12 (b): the scan is minutes old when the repair acts; Secrets Manager's retry may have
    completed the rotation since, making the "pending" key the live one. unstick reads the labels
    again just before acting: here the retry completes while unstick waits for that read."""
    fleet, function = ops
    prefix = f"ur{uuid.uuid4().hex[:6]}"
    ((stuck, user, key),) = keyed_secrets(world, prefix, 1)
    stack.configure(faults=[{"action": "UpdateSecretVersionStage", "kind": "5xx", "count": 1000}])
    try:
        assert world.rotate(stuck, function)["outcome"] == "failed"
    finally:
        stack.configure(faults=[{"action": "DescribeSecret", "kind": "slow", "seconds": 4, "count": 1}])
    before = len(stack.call("GET", "/_layer/calls"))
    environment = stack.environment(fleet.key)
    environment.update({"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
    process = subprocess.Popen([str(fleet.binary), "unstick", "--secret", stuck, "--min-age-minutes", "0", "--apply", "--json"],
                               env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    import time
    deadline = time.time() + 60
    while not any(c["action"] == "DescribeSecret" for c in stack.call("GET", "/_layer/calls")[before:]):
        assert time.time() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.1)
    assert stack.call("POST", "/_layer/retry", {"secret": stuck})["outcome"] == "succeeded"
    out, err = process.communicate(timeout=120)
    stack.configure(faults=[])
    (outcome,) = json.loads(out)["outcomes"]
    assert outcome["outcome"] == "skipped" and "completed since the scan" in outcome["detail"], outcome
    world.check_invariants(stuck, user, key, "delete")


def test_no_region_is_a_clear_error(fleet):
    done = fleet.run("scan", env={"AWS_REGION": "", "AWS_DEFAULT_REGION": ""})
    assert done.returncode == 2 and "AWS_REGION" in done.stderr, done.stderr


def test_a_progress_bar_on_a_terminal_and_none_in_a_pipe(stack, fleet, estate):
    import pty
    import select

    piped = fleet.run("scan", "--name-prefix", f"{estate['prefix']}/never/")
    assert piped.returncode == 0 and piped.stderr == "", "nothing but the table when stderr is not a terminal"

    controller, terminal = pty.openpty()
    environment = {**stack.environment(fleet.key), "TERM": "xterm"}
    process = subprocess.Popen([str(fleet.binary), "scan"], env=environment, stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    drawn = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        drawn += chunk
    assert process.wait(60) == 0
    os.close(controller)
    assert b"scanning [" in drawn and b"/" in drawn, drawn[:200]


def test_scan_reports_a_previous_key_still_in_use_and_where(stack, fleet, world, functions):
    """§16: a consumer still signing with the previous key a day after the rotation is found by
    the scan, with the service and Region of its last use."""
    from stack.harness import Consumer

    fleet.worlds.append(world)
    try:
        function = functions("retire")
        user, (first,) = world.user(keys=1)
        secret = world.secret({"UserName": user, **first}, name=f"piu{uuid.uuid4().hex[:6]}/key")
        consumer = Consumer(world, secret, region="eu-west-1")
        assert world.rotate(secret, function)["outcome"] == "succeeded"
        assert by_name(fleet.scan("--secret", secret))[secret]["verdict"] == "ok"
        stack.age(30)
        consumer.use()  # it never read the secret again
        stack.report_uses()
        found = by_name(fleet.scan("--secret", secret))[secret]
        assert found["verdict"] == "previous-key-in-use", found["findings"]
        previous = found["previous_key"]
        assert previous["id"] == first["AccessKeyId"] and previous["active"]
        assert (previous["last_used_service"], previous["last_used_region"]) == ("sts", "eu-west-1")
        assert "by sts in eu-west-1" in found["findings"][0]["detail"]
    finally:
        fleet.worlds.remove(world)


def test_rotate_keeps_a_previous_key_in_quarantine_even_forced(stack, fleet, world, functions):
    """§18: under retire, a deactivated previous key is in its quarantine; createSecret would
    refuse, so rotate skips the secret with the reason, --force or not, and changes nothing."""
    fleet.worlds.append(world)
    try:
        function = functions("retire")
        user, (first,) = world.user(keys=1)
        secret = world.secret({"UserName": user, **first}, name=f"rq{uuid.uuid4().hex[:6]}/key")
        fleet.json("enable", "--secret", secret, "--function-arn", function.arn, "--apply")
        assert world.rotate(secret, function)["outcome"] == "succeeded"
        world.iam.update_access_key(UserName=user, AccessKeyId=first["AccessKeyId"], Status="Inactive")
        stack.age(30)  # past --min-interval: only the quarantine stops it
        keys = world.keys(user)
        for force in ([], ["--force"]):
            report = fleet.json("rotate", "--secret", secret, "--apply", *force)
            (outcome,) = report["outcomes"]
            assert outcome["outcome"] == "skipped" and "PreviousKeyInQuarantine" in outcome["detail"], outcome
        assert world.keys(user) == keys
    finally:
        fleet.worlds.remove(world)


def test_scan_fail_on_gates_a_ci_job(stack, fleet, estate):
    """`scan --fail-on VERDICT,...` exits 3 when a selected secret has one of them, 0 when none;
    an unreadable secret counts whatever is named."""
    p = estate["prefix"]
    gate = fleet.run("scan", "--name-prefix", f"{p}/stale/", "--fail-on", "stale,unbound,duplicate-key")
    assert gate.returncode == 3 and "--fail-on" in gate.stderr, gate.stderr
    assert f"{p}/stale/0" in gate.stdout, "the report is printed before the gate closes"
    clean = fleet.run("scan", "--name-prefix", f"{p}/never/", "--fail-on", "stale,unbound,duplicate-key")
    assert clean.returncode == 0, clean.stderr
    list_only = limited_key(stack, ["secretsmanager:ListSecrets", "sts:GetCallerIdentity"])
    hidden = fleet.run("scan", "--name-prefix", f"{p}/never/", "--fail-on", "stale", key=list_only)
    assert hidden.returncode == 3, hidden.stderr


def test_profile_and_region_flags_win_over_the_environment(stack, fleet, tmp_path):
    """--profile takes the profile's credentials even with other keys in the environment (as the
    AWS CLI does); --region picks the Region."""
    name = f"pr{uuid.uuid4().hex[:6]}/in-eu"
    far, iam = stack.client("secretsmanager", region="eu-west-1"), stack.client("iam")
    user = iam.create_user(UserName=name.replace("/", "-"))["User"]["UserName"]
    key = iam.create_access_key(UserName=user)["AccessKey"]
    fleet.material.add(key["SecretAccessKey"])
    pair = {"UserName": user, "AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
    far.create_secret(Name=name, SecretString=json.dumps(pair))
    (tmp_path / "credentials").write_text(
        f"[ops]\naws_access_key_id = {stack.admin['AccessKeyId']}\naws_secret_access_key = {stack.admin['SecretAccessKey']}\n")
    (tmp_path / "config").write_text("[profile ops]\nregion = us-east-1\n")
    files = {"AWS_CONFIG_FILE": str(tmp_path / "config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials")}
    nobody = {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "x" * 40}
    refused = fleet.run("scan", "--secret", name, "--region", "eu-west-1", key=nobody, env=files)
    assert refused.returncode == 1, "the environment's keys are not the stack's"
    report = fleet.json("scan", "--profile", "ops", "--region", "eu-west-1", "--secret", name, key=nobody, env=files)
    (target,) = report["targets"]
    assert target["region"] == "eu-west-1" and [s["name"] for s in target["scan"]["secrets"]] == [name]
    home = fleet.json("scan", "--profile", "ops", "--secret", name, key=nobody, env=files)
    assert home["targets"][0]["region"] == "us-east-1" and home["targets"][0]["scan"]["secrets"] == []


def test_enable_brings_the_split_layout_under_rotation_and_a_rotation_reaches_its_fields(stack, ops, world):
    """Issue 23: the seed's store (one field per secret) is `not-rotatable` until an administrator
    names the user and the layout (`--bind USER_ARN=<ARN of <p>/aws_access_key_id>`); then enable
    creates `<p>/aws` from the pair, tags the fields as its mirrors, binds the user naming them,
    and turns rotation on. The scan shows no `not-rotatable`, and a rotation reaches the fields
    the consumers read."""
    fleet, function = ops
    prefix = f"sp{uuid.uuid4().hex[:6]}"
    user, (key,) = world.user(keys=1)
    id_field, secret_field = f"{prefix}/aws_access_key_id", f"{prefix}/aws_secret_access_key"
    id_arn = world.sm.create_secret(Name=id_field, SecretString=key["AccessKeyId"])["ARN"]
    world.sm.create_secret(Name=secret_field, SecretString=key["SecretAccessKey"])
    before = by_name(fleet.scan("--name-prefix", f"{prefix}/"))
    assert before[id_field]["verdict"] == "not-rotatable", before[id_field]
    assert "enable --bind" in before[id_field]["findings"][0]["fix"]

    args = ["enable", "--bind", f"{user_arn(world, user)}={id_arn}", "--function-arn", function.arn, "--schedule", "rate(30 days)"]
    dry = fleet.json(*args)
    assert outcomes(dry) == {id_field: "would-do"}, dry
    listed = world.sm.list_secrets(Filters=[{"Key": "name", "Values": [f"{prefix}/aws"]}])["SecretList"]
    assert f"{prefix}/aws" not in [s["Name"] for s in listed], "a dry run creates nothing"
    applied = fleet.json(*args, "--apply")
    assert outcomes(applied) == {id_field: "done"}, applied
    source = f"{prefix}/aws"
    assert bound_to(world, user) == world.sm.describe_secret(SecretId=source)["ARN"]

    after = by_name(fleet.scan("--name-prefix", f"{prefix}/"))
    assert "not-rotatable" not in {s["verdict"] for s in after.values()}, after
    assert after[id_field]["verdict"] == "mirror" and after[secret_field]["verdict"] == "mirror"

    record = world.rotate(source, function)
    assert record["outcome"] == "succeeded", record["steps"][-1]
    new = world.value(source)
    assert new["AccessKeyId"] != key["AccessKeyId"]
    held = world.sm.get_secret_value(SecretId=id_field)["SecretString"], world.sm.get_secret_value(SecretId=secret_field)["SecretString"]
    assert held == (new["AccessKeyId"], new["SecretAccessKey"]), "the consumers' fields hold the new key"
    assert (world.authenticates(*held) or "").endswith(f"/{user}")
