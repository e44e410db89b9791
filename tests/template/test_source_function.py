"""The function's execution role is usable by the function alone. Every statement of the role, the
conditional ones and Lambda's log writes included, requires `lambda:SourceFunctionArn` to be this
function's ARN: Lambda puts that key in the request context of every call of the function's code
and of its own CreateLogStream / PutLogEvents. Another function given the role (by someone with
iam:PassRole) sends another ARN, and a caller outside Lambda none: each statement then allows
nothing. The role is the template's own, not SAM's: SAM's carries AWSLambdaBasicExecutionRole (logs
on "*"), an AWS managed policy that takes no condition.

Proven with the evaluator of test_policy.py, one statement at a time. One exception: whether
Secrets Manager's and SSM's KMS calls (kms:ViaService, forward access sessions) carry the key is
not documented, so those statements check it only where present (ArnEqualsIfExists). They stay the
function's alone: KMS answers them only for those services, whose statements all require the key.
"""

import json

import pytest

from test_policy import ACCOUNT, FUNCTION_ARN, PARAMETERS, REGION, SECRET, allowed_by, arn_matches, holds
from test_template import BINDING_TAG, LOGS_POLICY, POLICIES, function, load, mutate, role_policies

KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MEMBER_ROLE = "arn:aws:iam::444455556666:role/iam-key-rotator-member"
LOG_GROUP = "/iam-key-rotator/iam-key-rotator"
# The parameters with KmsKeyArn and MemberRoleName set: every conditional statement exists.
MIRROR_KEY = KMS_KEY.replace("1234abcd", "5678efab")
PARAMS = {**PARAMETERS, "KmsKeyArn": KMS_KEY, "MemberRolePath": "/", "MemberRoleName": "iam-key-rotator-member",
          "RotatorLogGroup": LOG_GROUP, "MirrorKmsKeyArns": [MIRROR_KEY]}
THIS_FUNCTION = {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${FunctionName}"}
OURS = {"secretsmanager:resource/AllowRotationLambdaArn": FUNCTION_ARN}
# The statements KMS answers for a service's forward access session (see the module's docstring).
KMS_THROUGH_A_SERVICE = {"SecretEncryptionKey", "MirrorEncryptionKeys"}
MIRROR_CLAIM = {"aws:ResourceTag/iam-key-rotator:mirror-of": SECRET}

# Each statement (by Sid): a call it exists for, with the rest of the context it needs.
CALLS = {
    "SecretsRotatedByThisFunction": (SECRET, OURS),
    "ReadUsersOnPath": (f"arn:aws:iam::{ACCOUNT}:user/svc/ci-deployer", {}),
    "AccessKeysOfBoundUsersOnPath": (f"arn:aws:iam::{ACCOUNT}:user/svc/ci-deployer",
                                     {f"aws:ResourceTag/{BINDING_TAG}": SECRET}),
    "FindSecretsRotatedByThisFunction": ("*", {}),
    "RetireBookkeepingTag": (SECRET, {**OURS, "aws:TagKeys": ["iam-key-rotator:previous-key-inactive-since"]}),
    "LifecycleEventsOnTheDefaultBus": (f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default",
                                       {"events:source": "iam-key-rotator"}),
    "SecretEncryptionKey": (KMS_KEY, {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}),
    "MirrorSecrets": (SECRET.replace("deployer-AbCdEf", "deployer-copy-GhIjKl"), MIRROR_CLAIM),
    "MirrorParameters": (f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/ci/prod/credentials", MIRROR_CLAIM),
    "DescribeMirrorParameters": ("*", {}),
    "MirrorEncryptionKeys": (MIRROR_KEY, {"kms:ViaService": f"ssm.{REGION}.amazonaws.com"}),
    "AssumeTheMemberRole": (MEMBER_ROLE, {"aws:PrincipalOrgID": "o-abc123", "aws:ResourceOrgID": "o-abc123"}),
    "LogLinesOfThisFunction": (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}:log-stream:2025/01/01/[$LATEST]abc", {}),
}

SOURCES = [
    # (what, lambda:SourceFunctionArn in the request context or None for none, allowed)
    ("this function's code", FUNCTION_ARN, True),
    ("a call without the key (a session of the role that Lambda did not make for a function)", None, False),
    ("another function given the role", FUNCTION_ARN.replace(":iam-key-rotator", ":other"), False),
    ("a function whose name begins with this one's", FUNCTION_ARN + "-copy", False),
    ("a function of the same name in another account", FUNCTION_ARN.replace(ACCOUNT, "444455556666"), False),
    ("a function of the same name in another Region", FUNCTION_ARN.replace(REGION, "us-east-1"), False),
]


def role_statements(t):
    """(policy name, statement) for every statement of the role, those behind a condition too."""
    for p in role_policies(t):
        policy = p["Fn::If"][1] if "Fn::If" in p else p
        for s in policy["PolicyDocument"]["Statement"]:
            yield policy["PolicyName"], s


def check_every_statement_requires_this_function(t):
    found = list(role_statements(t))
    assert {s["Sid"] for _, s in found} == set(CALLS), "a statement without a call in CALLS goes unproven"
    for name, s in found:
        operator = "ArnEqualsIfExists" if s["Sid"] in KMS_THROUGH_A_SERVICE else "ArnEquals"
        assert s["Condition"][operator] == {"lambda:SourceFunctionArn": THIS_FUNCTION}, f"{name}: {s['Sid']}"


def check_the_function_has_a_role_of_its_own(t):
    """Not SAM's generated role (AWSLambdaBasicExecutionRole on it), and an update keeps the role's
    ARN (member-role.yaml trusts it): SAM's logical id, no RoleName, no Path."""
    props = function(t)["Properties"]
    assert props["Role"] == {"Fn::GetAtt": ["RotatorFunctionRole", "Arn"]}
    assert "Policies" not in props, "SAM would make a role of its own for them"
    assert props["FunctionName"] == {"Ref": "FunctionName"}, "the ARN in the conditions is built from the name"
    role = t["Resources"]["RotatorFunctionRole"]
    assert role["Type"] == "AWS::IAM::Role"
    assert not {"ManagedPolicyArns", "PermissionsBoundary", "RoleName", "Path"} & set(role["Properties"])
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    assert '"RotatorFunction"' not in json.dumps(role), "the role may not name the function: a circular reference"
    assert t["Outputs"]["FunctionRoleArn"]["Value"] == {"Fn::GetAtt": ["RotatorFunctionRole", "Arn"]}


def check_log_lines(t):
    """Lambda's writes of the function's log lines, to its own log group, and nothing else."""
    (logs,) = [p for p in role_policies(t) if p.get("PolicyName") == LOGS_POLICY]
    (s,) = logs["PolicyDocument"]["Statement"]
    assert sorted(s["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    resource = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${RotatorLogGroup}:*"
    assert s["Resource"] == {"Fn::Sub": resource}
    assert function(t)["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": "RotatorLogGroup"}


CHECKS = [check_every_statement_requires_this_function, check_the_function_has_a_role_of_its_own, check_log_lines]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_source_function(check):
    check(load())


STATEMENTS = [(name, s) for name, s in role_statements(load())]


@pytest.mark.parametrize("what, source, expected", SOURCES, ids=[s[0] for s in SOURCES])
@pytest.mark.parametrize("policy, statement", STATEMENTS, ids=[s["Sid"] for _, s in STATEMENTS])
def test_each_statement_serves_this_function_alone(policy, statement, what, source, expected):
    resource, context = CALLS[statement["Sid"]]
    if source is not None:
        context = {**context, "lambda:SourceFunctionArn": source}
    elif statement["Sid"] in KMS_THROUGH_A_SERVICE:
        expected = True  # a forward access session may not carry the key: kms:ViaService decides
    for action in statement["Action"]:
        assert allowed_by([statement], action, resource, context, PARAMS) is expected, f"{action} from {what}"


def test_the_key_through_kms_only_via_secrets_manager():
    """The one statement that lets a call without lambda:SourceFunctionArn through: KMS, and only
    when Secrets Manager makes the call, for a caller its own statements have let in."""
    (_, kms), = [(n, s) for n, s in role_statements(load()) if s["Sid"] == "SecretEncryptionKey"]
    for via in [None, f"ssm.{REGION}.amazonaws.com", f"secretsmanager.us-east-1.amazonaws.com"]:
        context = {} if via is None else {"kms:ViaService": via}
        for action in kms["Action"]:
            assert not allowed_by([kms], action, KMS_KEY, context, PARAMS), f"{action} via {via}"


def test_the_proof_fails_without_the_condition():
    """Not vacuous: a statement without the condition serves another function, and the proof says so."""
    (_, listing), = [(n, s) for n, s in role_statements(load()) if s["Sid"] == "FindSecretsRotatedByThisFunction"]
    other = {"lambda:SourceFunctionArn": FUNCTION_ARN.replace(":iam-key-rotator", ":other")}
    assert not allowed_by([listing], "secretsmanager:ListSecrets", "*", other, PARAMS)
    broken = dict(listing, Condition={})
    assert allowed_by([broken], "secretsmanager:ListSecrets", "*", other, PARAMS)


@pytest.mark.parametrize("pattern, value, expected", [
    (FUNCTION_ARN, FUNCTION_ARN, True),
    (FUNCTION_ARN, FUNCTION_ARN + ":1", False),
    (FUNCTION_ARN, FUNCTION_ARN.upper(), False),
    (f"arn:aws:lambda:*:{ACCOUNT}:function:iam-key-rotator", FUNCTION_ARN, True),
    (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:*", FUNCTION_ARN, True),
    (f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:*", f"arn:aws:lambda:{REGION}:444455556666:function:x", False),
    ("arn:aws:lambda:*", FUNCTION_ARN, False),
])
def test_the_evaluator_compares_arns_part_by_part(pattern, value, expected):
    assert arn_matches(pattern, value) is expected
    assert holds("ArnEquals", "lambda:SourceFunctionArn", pattern, {"lambda:SourceFunctionArn": value}) is expected


def test_the_evaluator_reads_if_exists_as_iam_does():
    assert holds("ArnEqualsIfExists", "lambda:SourceFunctionArn", FUNCTION_ARN, {}) is True
    assert holds("ArnEquals", "lambda:SourceFunctionArn", FUNCTION_ARN, {}) is False
    other = {"lambda:SourceFunctionArn": FUNCTION_ARN + "-copy"}
    assert holds("ArnEqualsIfExists", "lambda:SourceFunctionArn", FUNCTION_ARN, other) is False


ROLE = ["Resources", "RotatorFunctionRole", "Properties"]
FN = ["Resources", "RotatorFunction", "Properties"]
LOGS = POLICIES + [3, "PolicyDocument", "Statement", 0]


@pytest.mark.parametrize("check, path, value", [
    (check_every_statement_requires_this_function, POLICIES + [0, "PolicyDocument", "Statement", 3, "Condition"], KeyError),
    (check_every_statement_requires_this_function, POLICIES + [1, "Fn::If", 1, "PolicyDocument", "Statement", 0,
                                                              "Condition", "ArnEquals"], KeyError),
    (check_every_statement_requires_this_function, POLICIES + [2, "Fn::If", 1, "PolicyDocument", "Statement", 0,
                                                              "Condition", "ArnEquals", "lambda:SourceFunctionArn"],
     {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*"}),
    (check_every_statement_requires_this_function, LOGS + ["Condition"], KeyError),
    (check_the_function_has_a_role_of_its_own, ROLE + ["ManagedPolicyArns"],
     ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]),
    (check_the_function_has_a_role_of_its_own, FN + ["Role"], KeyError),
    (check_the_function_has_a_role_of_its_own, ROLE + ["RoleName"], "iam-key-rotator"),
    (check_the_function_has_a_role_of_its_own, ROLE + ["Description"], {"Fn::GetAtt": ["RotatorFunction", "Arn"]}),
    (check_log_lines, LOGS + ["Resource"], "*"),
    (check_log_lines, LOGS + ["Action"], ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]),
])
def test_each_check_fails_on_a_broken_template(check, path, value):
    with pytest.raises((AssertionError, KeyError, ValueError)):
        check(mutate(path, value))
