"""member-role.yaml (contract §17), offline: cfn-lint, and its two policies evaluated as IAM
would. The role trusts the central function's role alone, and only with the external id; it
changes keys only of users under UserPath that this account's administrator bound to a secret
of the central account. Each check is also run on a broken copy, to prove it catches it."""

import re
from pathlib import Path

import pytest
from cfnlint.decode import decode_str

from test_policy import allowed_by, trusted as policy_trusts
from test_template import BINDING_TAG, cfn_lint, load as load_function_template, mutate as mutate_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "member-role.yaml"
CENTRAL, MEMBER = "111122223333", "444455556666"
FUNCTION_ROLE = f"arn:aws:iam::{CENTRAL}:role/iam-key-rotator-RotatorFunctionRole-Ab12Cd34"
EXTERNAL_ID = "org-rotation-7f3a"
PARAMETERS = {"AWS::Partition": "aws", "AWS::AccountId": MEMBER, "UserPath": "/svc/", "CentralRegion": "*",
              "Central": CENTRAL, "CentralFunctionRoleArn": FUNCTION_ROLE, "ExternalId": EXTERNAL_ID}
CENTRAL_SECRET = f"arn:aws:secretsmanager:eu-west-1:{CENTRAL}:secret:ci/prod/deployer-AbCdEf"
# What the function calls through the Iam trait, in iam.rs.
IAM_CALLS = {"iam:GetUser", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed",
             "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:UpdateAccessKey"}


def load(text=None):
    template, errors = decode_str(text if text is not None else TEMPLATE.read_text())
    assert not errors, errors
    return template


def role(t):
    return t["Resources"]["MemberRole"]["Properties"]


def policy(t):
    (document,) = [p["PolicyDocument"] for p in role(t)["Policies"]]
    return document["Statement"]


def trusted(t, principal, context):
    return policy_trusts(role(t), principal, context, PARAMETERS)


def check_trust(t):
    (statement,) = role(t)["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": {"Ref": "CentralFunctionRoleArn"}}, "the central function alone"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}
    assert trusted(t, FUNCTION_ROLE, {"sts:ExternalId": EXTERNAL_ID})
    assert not trusted(t, FUNCTION_ROLE, {"sts:ExternalId": "guess"})
    assert not trusted(t, FUNCTION_ROLE, {})
    assert not trusted(t, f"arn:aws:iam::{CENTRAL}:role/other", {"sts:ExternalId": EXTERNAL_ID})
    assert role(t)["MaxSessionDuration"] == 3600, "a chained session lasts an hour at most"


def check_policy_is_the_calls(t):
    granted = {a for s in policy(t) for a in s["Action"]}
    assert granted == IAM_CALLS, sorted(granted)
    for s in policy(t):
        assert s["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:user${UserPath}*"}
    iam_rs = (ROOT / "crates" / "rotator" / "src" / "aws" / "iam.rs").read_text()
    called = {"iam:" + "".join(p.title() for p in op.split("_"))
              for op in re.findall(r"\.client\s*\.(\w+)\(\)", iam_rs)}
    assert called == IAM_CALLS, sorted(called)


def check_key_condition(t):
    keys = [s for s in policy(t) if "iam:CreateAccessKey" in s["Action"]]
    (statement,) = keys
    (key, value), = statement["Condition"]["StringLike"].items()
    assert key == f"aws:ResourceTag/{BINDING_TAG}"
    template, variables = value["Fn::Sub"]
    assert template == "arn:${AWS::Partition}:secretsmanager:${CentralRegion}:${Central}:secret:*"
    assert t["Parameters"]["CentralRegion"]["Default"] == "*"
    assert variables == {"Central": {"Fn::Select": [4, {"Fn::Split": [":", {"Ref": "CentralFunctionRoleArn"}]}]}}


def check_parameters_match_the_function_template(t):
    """The names, path and external id given to both stacks take the same shapes."""
    function = load_function_template()["Parameters"]
    params = t["Parameters"]
    assert params["RolePath"]["AllowedPattern"] == function["MemberRolePath"]["AllowedPattern"]
    assert params["UserPath"]["AllowedPattern"] == function["UserPath"]["AllowedPattern"]
    assert params["RoleName"]["AllowedPattern"].replace("{1,64}", "{0,64}") == function["MemberRoleName"]["AllowedPattern"]
    assert (params["ExternalId"]["MinLength"], params["ExternalId"]["MaxLength"]) == (2, 1224)
    assert params["ExternalId"]["AllowedPattern"].replace("^[", "^([").replace("]+$", "]{2,1224})?$") == \
        function["MemberRoleExternalId"]["AllowedPattern"]
    assert "Default" not in params["ExternalId"] and "Default" not in params["CentralFunctionRoleArn"]


CHECKS = [check_trust, check_policy_is_the_calls, check_key_condition, check_parameters_match_the_function_template]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_member_role(check):
    check(load())


def user(path="/svc/", account=MEMBER):
    return f"arn:aws:iam::{account}:user{path}ci-deployer"


def tagged(value):
    return {f"aws:ResourceTag/{BINDING_TAG}": value}


CASES = [
    ("a user bound to a central secret", "iam:CreateAccessKey", user(), tagged(CENTRAL_SECRET), True),
    ("bound to a central secret of another Region", "iam:UpdateAccessKey", user(),
     tagged(CENTRAL_SECRET.replace("eu-west-1", "us-east-1")), True),
    ("an unbound user", "iam:CreateAccessKey", user(), {}, False),
    ("an unbound user", "iam:DeleteAccessKey", user(), {}, False),
    ("bound to a secret of this member account", "iam:CreateAccessKey", user(),
     tagged(CENTRAL_SECRET.replace(CENTRAL, MEMBER)), False),
    ("bound to a secret of a third account", "iam:CreateAccessKey", user(),
     tagged(CENTRAL_SECRET.replace(CENTRAL, "777788889999")), False),
    ("a bound user off UserPath", "iam:CreateAccessKey", user("/"), tagged(CENTRAL_SECRET), False),
    ("reading an unbound user, to explain the refusal", "iam:GetUser", user(), {}, True),
    ("binding a user itself", "iam:TagUser", user(), tagged(CENTRAL_SECRET), False),
    ("a user of another account", "iam:CreateAccessKey", user(account="777788889999"), tagged(CENTRAL_SECRET), False),
]


@pytest.mark.parametrize("what, action, resource, context, expected", CASES,
                         ids=[f"{c[1]}: {c[0]}" for c in CASES])
def test_the_role_changes_keys_only_of_users_bound_to_central_secrets(what, action, resource, context, expected):
    assert allowed_by(policy(load()), action, resource, context, PARAMETERS) is expected, what


def mutate(path, value):
    return mutate_template(path, value, load())


ROLE = ["Resources", "MemberRole", "Properties"]
TRUST = ROLE + ["AssumeRolePolicyDocument", "Statement", 0]
KEYS = ROLE + ["Policies", 0, "PolicyDocument", "Statement", 1]


@pytest.mark.parametrize("check, path, value", [
    (check_trust, TRUST + ["Condition"], KeyError),
    (check_trust, TRUST + ["Principal"], {"AWS": f"arn:aws:iam::{CENTRAL}:root"}),
    (check_trust, ROLE + ["MaxSessionDuration"], 43200),
    (check_policy_is_the_calls, KEYS + ["Action"], ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:UpdateAccessKey", "iam:TagUser"]),
    (check_policy_is_the_calls, KEYS + ["Resource"], "*"),
    (check_key_condition, KEYS + ["Condition"], KeyError),
    (check_key_condition, KEYS + ["Condition", "StringLike", f"aws:ResourceTag/{BINDING_TAG}", "Fn::Sub", 0],
     "arn:${AWS::Partition}:secretsmanager:*:*:secret:*"),
    (check_parameters_match_the_function_template, ["Parameters", "ExternalId", "Default"], "x"),
])
def test_each_check_fails_on_a_broken_template(check, path, value):
    with pytest.raises((AssertionError, KeyError, ValueError, TypeError)):
        check(mutate(path, value))


def test_a_central_region_narrows_the_reach_to_that_regions_secrets():
    pinned = {**PARAMETERS, "CentralRegion": "eu-west-1"}
    assert allowed_by(policy(load()), "iam:CreateAccessKey", user(), tagged(CENTRAL_SECRET), pinned)
    elsewhere = tagged(CENTRAL_SECRET.replace("eu-west-1", "us-east-1"))
    assert not allowed_by(policy(load()), "iam:CreateAccessKey", user(), elsewhere, pinned)


def test_the_proof_fails_without_the_key_condition():
    broken = mutate(KEYS + ["Condition"], KeyError)
    assert allowed_by(policy(broken), "iam:CreateAccessKey", user(), {}, PARAMETERS) is True


def test_cfn_lint_passes_and_fails_on_a_broken_copy(tmp_path):
    result = cfn_lint(TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "member-role.yaml"
    broken.write_text(TEMPLATE.read_text().replace("!GetAtt MemberRole.Arn", "!GetAtt MemberRoel.Arn"))
    assert cfn_lint(broken).returncode != 0
