"""The fleet across an estate (contract §17), end to end: an organization in moto (the central
account its management account), two member accounts and a suspended one, two Regions; the fleet
command enters each account through the read-only role of scanner-role.yaml (its default
--role-name), made there with that template's own policy, so the scan proves it needs no more. One
table (or JSON) for everything; an account it cannot enter is a row with its reason; replicas are
replicas; values are read 20 at a time, and one by one where the batch is refused."""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path

import pytest

from stack.harness import ACCOUNT, BINDING_TAG, fleet_binary
from test_fleet import Fleet

REGIONS = ["us-east-1", "eu-west-1"]
NOBODY = "999999999999"  # no role there: the fleet cannot enter it
SCANNER = "iam-key-fleet-scanner"  # scanner-role.yaml's role, the fleet's default --role-name
EXTERNAL_ID = "fleet-e2e"
AS_SCANNER = ["--external-id", EXTERNAL_ID]


def scanner_policy() -> dict:
    """scanner-role.yaml's policy, its actions and conditions as written: the scan runs with
    exactly these actions. moto judges a request's action, not its resource (it asks with "*":
    docs/testing.md), so each statement's resource (the template's only `!Sub`s) becomes "*"."""
    from cfnlint.decode import decode_str

    template, errors = decode_str((Path(__file__).resolve().parents[2] / "scanner-role.yaml").read_text())
    assert not errors, errors
    (policy,) = template["Resources"]["ScannerRole"]["Properties"]["Policies"]
    document = json.loads(json.dumps({**policy["PolicyDocument"], "Statement": [
        {**statement, "Resource": "*"} for statement in policy["PolicyDocument"]["Statement"]]}))
    assert "Fn::" not in json.dumps(document), "an intrinsic function left outside a Resource"
    return document


@pytest.fixture(scope="module")
def fleet(stack):
    return Fleet(stack, fleet_binary(), stack.admin)


def key_secret(stack, account, region, name, fleet, account_id=None):
    """A user (in `account`, or in `account_id` for a central secret) with a key, and a secret in
    `account`/`region` holding it, the user bound to it."""
    user = f"ci-{uuid.uuid4().hex[:6]}"
    iam_account = account_id or account
    iam = stack.client("iam", stack.account_admin(iam_account))
    iam.create_user(UserName=user, Path="/svc/")
    key = iam.create_access_key(UserName=user)["AccessKey"]
    fleet.material.add(key["SecretAccessKey"])
    value = {"UserName": user, "AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
    if account_id:
        value["AccountId"] = account_id
    sm = stack.client("secretsmanager", stack.account_admin(account), region=region)
    arn = sm.create_secret(Name=name, SecretString=json.dumps(value))["ARN"]
    iam.tag_user(UserName=user, Tags=[{"Key": BINDING_TAG, "Value": arn}])
    return arn, key["AccessKeyId"]


@pytest.fixture(scope="module")
def org(stack, fleet):
    """Central (the management account) and two members, each with a key secret and an unrelated
    one in each Region; a third member closed (SUSPENDED)."""
    organizations = stack.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    members = []
    for name in ("member-a", "member-b", "closed"):
        status = organizations.create_account(Email=f"{name}@example.com", AccountName=name)
        members.append(status["CreateAccountStatus"]["AccountId"])
    *members, closed = members
    # The OU a service-managed StackSet would target (docs/accounts.md, "Deploying the member role").
    root = organizations.list_roots()["Roots"][0]["Id"]
    ou = organizations.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    for account in members:
        organizations.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
    organizations.close_account(AccountId=closed)
    admin = stack.client("iam").get_user()["User"]["Arn"]
    for account in members:
        iam = stack.client("iam", stack.account_admin(account))
        # What the StackSet of scanner-role.yaml makes: the read-only role the scan enters by.
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": admin}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}]}
        iam.create_role(RoleName=SCANNER, AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(RoleName=SCANNER, PolicyName=SCANNER, PolicyDocument=json.dumps(scanner_policy()))
    secrets = {}
    for account in [ACCOUNT, *members]:
        for region in REGIONS:
            secrets[(account, region)] = key_secret(stack, account, region, f"ci/{region}/deployer", fleet)
            sm = stack.client("secretsmanager", stack.account_admin(account), region=region)
            sm.create_secret(Name=f"db/{region}", SecretString='{"host": "db", "password": "p"}')
    return {"members": members, "closed": closed, "secrets": secrets}


def targets(report):
    return {(t["account"], t.get("region")): t for t in report["targets"]}


def test_scan_over_three_accounts_and_two_regions_and_one_it_cannot_enter(fleet, org):
    a, b = org["members"]
    report = fleet.json("scan", *AS_SCANNER, "--accounts", f"{ACCOUNT},{a},{b},{NOBODY}", "--regions", ",".join(REGIONS),
                        "--parallel-targets", "3", expect=1)
    found = targets(report)
    expected = {(acct, region) for acct in (ACCOUNT, a, b) for region in REGIONS} | {(NOBODY, None)}
    assert set(found) == expected
    for (account, region), (arn, key_id) in org["secrets"].items():
        secrets = found[(account, region)]["scan"]["secrets"]
        (ours,) = [s for s in secrets if s["arn"] == arn]
        assert ours["key"]["id"] == key_id and ours["key"]["exists"], ours
        assert ours["bound_to"] == arn and ours["verdict"] == "never-rotated", ours
        assert all(f":{region}:{account}:" in s["arn"] for s in secrets)
    refused = found[(NOBODY, None)]
    assert f"arn:aws:iam::{NOBODY}:role/{SCANNER}" in refused["error"] and "scan" not in refused

    table = fleet.run("scan", *AS_SCANNER, "--accounts", f"{a},{NOBODY}", "--regions", ",".join(REGIONS))
    assert table.returncode == 1, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["ACCOUNT", "REGION", "SECRET"], lines[0]
    assert any(line.startswith(NOBODY) and line.endswith("not-scanned") for line in lines), table.stdout
    assert any(line.startswith(f"{a}  eu-west-1") for line in lines), table.stdout


def test_the_organization_is_scanned_without_its_suspended_account(fleet, org):
    report = fleet.json("scan", *AS_SCANNER, "--organization", "--regions", "eu-west-1")
    accounts = {t["account"] for t in report["targets"]}
    assert accounts == {ACCOUNT, *org["members"]}
    assert report["accounts_skipped"] == 1


def test_a_replica_is_shown_as_a_replica(stack, fleet, org):
    sm = stack.client("secretsmanager")
    arn, _ = key_secret(stack, ACCOUNT, "us-east-1", f"ci/replicated-{uuid.uuid4().hex[:4]}", fleet)
    sm.replicate_secret_to_regions(SecretId=arn, AddReplicaRegions=[{"Region": "eu-west-1"}])
    report = fleet.json("scan", *AS_SCANNER, "--regions", ",".join(REGIONS))
    found = targets(report)
    name = sm.describe_secret(SecretId=arn)["Name"]
    (replica,) = [s for s in found[(ACCOUNT, "eu-west-1")]["scan"]["secrets"] if s["name"] == name]
    (primary,) = [s for s in found[(ACCOUNT, "us-east-1")]["scan"]["secrets"] if s["name"] == name]
    assert replica["verdict"] == "replica" and "us-east-1" in replica["findings"][0]["detail"], replica
    assert primary["verdict"] == "never-rotated", primary


def test_a_central_secret_is_judged_with_its_member_accounts_iam(stack, fleet, org):
    a, _ = org["members"]
    arn, key_id = key_secret(stack, ACCOUNT, "us-east-1", f"ci/central-for-a-{uuid.uuid4().hex[:4]}", fleet, account_id=a)
    report = fleet.json("scan", *AS_SCANNER, "--accounts", f"{ACCOUNT},{a}", "--regions", "us-east-1")
    (secret,) = [s for s in targets(report)[(ACCOUNT, "us-east-1")]["scan"]["secrets"] if s["arn"] == arn]
    assert secret["user_account"] == a and secret["key"]["id"] == key_id and secret["key"]["exists"], secret
    assert secret["verdict"] == "never-rotated", secret
    alone = fleet.scan("--secret", arn)
    (secret,) = alone["secrets"]
    assert secret["verdict"] == "unreadable" and f"--accounts including {a}" in secret["findings"][0]["fix"], secret


def batch_reads(stack, since):
    calls = stack.call("GET", "/_layer/calls")[since:]
    return sum(c["action"] == "BatchGetSecretValue" for c in calls), sum(c["action"] == "GetSecretValue" for c in calls)


def test_values_are_read_twenty_at_a_time_and_one_by_one_where_batches_are_refused(stack, fleet, org):
    a, b = org["members"]
    for account in (a, b):
        sm = stack.client("secretsmanager", stack.account_admin(account), region="eu-west-1")
        for i in range(40):
            sm.create_secret(Name=f"bulk/{i}", SecretString='{"k": "v"}')
    listed = {}
    for account in (a, b):
        sm = stack.client("secretsmanager", stack.account_admin(account), region="eu-west-1")
        listed[account] = len(sm.list_secrets(MaxResults=100)["SecretList"])
    # In b the role may not batch: it reads one by one, after one refused batch.
    policy = scanner_policy()
    for statement in policy["Statement"]:
        statement["Action"] = [a_ for a_ in statement["Action"] if a_ != "secretsmanager:BatchGetSecretValue"] \
            if isinstance(statement["Action"], list) else statement["Action"]
    stack.client("iam", stack.account_admin(b)).put_role_policy(RoleName=SCANNER, PolicyName=SCANNER, PolicyDocument=json.dumps(policy))
    try:
        for account, expected in ((a, (math.ceil(listed[a] / 20), 0)), (b, (1, listed[b]))):
            since = len(stack.call("GET", "/_layer/calls"))
            report = fleet.json("scan", *AS_SCANNER, "--accounts", account, "--regions", "eu-west-1")
            assert targets(report)[(account, "eu-west-1")]["scan"]["secrets_listed"] == listed[account]
            assert batch_reads(stack, since) == expected, account
    finally:
        stack.client("iam", stack.account_admin(b)).put_role_policy(RoleName=SCANNER, PolicyName=SCANNER, PolicyDocument=json.dumps(scanner_policy()))


def test_a_throttled_scan_slows_down_and_finishes(stack, fleet, org):
    """Throttling answers (BatchGetSecretValue and ListAccessKeys refused a few times) are
    retried by the SDK's adaptive mode: the scan reports every secret, none unreadable."""
    a, _ = org["members"]
    stack.configure(faults=[{"action": "BatchGetSecretValue", "kind": "throttle", "count": 2},
                            {"action": "ListAccessKeys", "kind": "throttle", "count": 3}])
    try:
        report = fleet.json("scan", *AS_SCANNER, "--accounts", a, "--regions", "us-east-1")
    finally:
        stack.configure(faults=[])
    secrets = targets(report)[(a, "us-east-1")]["scan"]["secrets"]
    assert secrets and all(s["verdict"] != "unreadable" for s in secrets), [s["findings"] for s in secrets]
    throttled = [c for c in stack.call("GET", "/_layer/calls") if c["action"] in ("BatchGetSecretValue", "ListAccessKeys")]
    assert len(throttled) >= 5, "the throttled calls were made again"


def test_every_region_each_account_has_enabled(stack, fleet, org):
    """--regions all: account:ListRegions as each account sees it (the layer serves it)."""
    a, b = org["members"]
    stack.configure(enabled_regions={a: ["eu-west-1"], b: ["us-east-1", "eu-west-1", "ap-south-1"]})
    report = fleet.json("scan", *AS_SCANNER, "--accounts", f"{a},{b}", "--regions", "all")
    assert set(targets(report)) == {(a, "eu-west-1"), (b, "ap-south-1"), (b, "eu-west-1"), (b, "us-east-1")}
    mixed = fleet.run("scan", *AS_SCANNER, "--accounts", a, "--regions", "all,eu-west-1")
    assert mixed.returncode == 2 and "--regions all stands alone" in mixed.stderr, mixed.stderr


def test_a_member_session_is_renewed_before_it_expires(stack, fleet, org):
    """A scan longer than the role's session goes on: the fleet assumes the role again before the
    session ends (aws-config's AssumeRoleProvider behind the SDK's identity cache). The cache takes
    a session for ended 10 s before its end, less a random jitter of up to 5 s: so a 10 s session
    is renewed within 5 s, whatever the jitter. At 1.5 s a call, one at a time, the scan of one
    member's Region (at least five calls) outlasts that."""
    a, _ = org["members"]

    def assumed_during_a_scan() -> int:
        since = len(stack.call("GET", "/_layer/calls"))
        report = fleet.json("scan", *AS_SCANNER, "--accounts", a, "--regions", ",".join(REGIONS), "--concurrency", "1",
                            "--parallel-targets", "1")
        assert all(t.get("error") is None for t in report["targets"]), report
        return sum(c["action"] == "AssumeRole" for c in stack.call("GET", "/_layer/calls")[since:])

    hour_long = assumed_during_a_scan()
    stack.configure(latency_seconds=1.5, session_seconds=10)
    try:
        short = assumed_during_a_scan()
    finally:
        stack.configure(latency_seconds=0, session_seconds=None)
    assert short > hour_long, (hour_long, short)
