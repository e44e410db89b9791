"""SPEC §15, the policy half, proven over the template: the function's IAM statements, evaluated
as IAM evaluates identity policies, allow the key actions only on users under UserPath whose
`iam-key-rotator:secret` tag names a secret of this account and Region. The local stack checks
actions only (SPEC §14), so this half is proven here and the code half end to end
(tests/e2e/test_rotation.py).

The evaluator covers what these statements use: Allow statements, `*`/`?` wildcards in actions
and resources, and the StringEquals / StringLike / ArnEquals / ArnLike / ForAllValues:StringEquals
/ Null operators (and ...IfExists), a missing context key failing a condition (but ForAllValues,
Null and IfExists) as it does in IAM. Tag keys in `aws:ResourceTag/<key>` compare without case, as
IAM's do.

Every statement of the role also requires `lambda:SourceFunctionArn` to be the function's ARN
(test_source_function.py): `allowed` evaluates a call of the function's own code, whose request
context Lambda gives that key.
"""

import copy
import re

import pytest

from test_template import BINDING_TAG, load, statements

ACCOUNT, REGION = "111122223333", "eu-west-1"
PARAMETERS = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::Region": REGION,
              "UserPath": "/svc/", "FunctionName": "iam-key-rotator"}
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ci/prod/deployer-AbCdEf"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:iam-key-rotator"
# What Lambda adds to the request context of every call the function's code makes.
FROM_THE_FUNCTION = {"lambda:SourceFunctionArn": FUNCTION_ARN}


def text(value, parameters=None):
    """A policy value with its ${...} and Refs substituted by `parameters` (the function's
    above by default). A Sub's own variables must be among the parameters."""
    parameters = parameters or PARAMETERS
    if isinstance(value, dict):
        (kind, body), = value.items()
        if kind == "Ref":
            return parameters[body]
        template = body[0] if isinstance(body, list) else body
        return re.sub(r"\$\{([^}]+)\}", lambda m: parameters[m[1]], template)
    return value


def matches(pattern, value, case_sensitive=True):
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def arn_matches(pattern, value):
    """IAM's ArnEquals and ArnLike (one and the same): each of the six colon-separated parts of
    the ARN matched on its own, case-sensitively, with `*` and `?` wildcards."""
    patterns, values = pattern.split(":", 5), value.split(":", 5)
    return len(patterns) == len(values) == 6 and all(matches(p, v) for p, v in zip(patterns, values))


def policy_variables(value, context):
    """IAM's own ${aws:...} variables in a plain string, from the request context (a missing one
    matches nothing)."""
    if not isinstance(value, str):
        return value
    return re.sub(r"\$\{(aws:[^}]+)\}", lambda m: str(context.get(m[1], "\0no-such-value\0")), value)


def holds(operator, key, expected, context, parameters=None):
    found = [v for k, v in context.items() if k.lower() == key.lower()]
    expected = expected if isinstance(expected, list) else [expected]
    expected = [policy_variables(e, context) if isinstance(e, str) else text(e, parameters) for e in expected]
    if operator == "Null":
        return (not found) == (expected == ["true"])
    if operator == "ForAllValues:StringEquals":
        # True for a missing key too, as in IAM: hence the Null condition beside it.
        return all(v in expected for v in (found[0] if found else []))
    if operator.endswith("IfExists"):
        # A missing key passes; a present one is compared as by the operator without IfExists.
        if not found:
            return True
        operator = operator.removesuffix("IfExists")
    if not found:
        return False
    if operator == "StringEquals":
        return found[0] in expected
    if operator == "StringLike":
        return any(matches(e, found[0]) for e in expected)
    if operator in ("ArnEquals", "ArnLike"):
        return any(arn_matches(e, found[0]) for e in expected)
    raise AssertionError(f"the evaluator does not know {operator}")


def allowed(template, action, resource, context):
    """Whether the function's code may make this call: `context` plus what Lambda adds to it."""
    return allowed_by(statements(template), action, resource, {**FROM_THE_FUNCTION, **context})


def allowed_by(statements, action, resource, context, parameters=None):
    """Whether these Allow statements allow `action` on `resource` in `context`."""
    for s in statements:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        if s["Effect"] != "Allow" or not any(matches(a, action, False) for a in actions):
            continue
        resources = text(s["Resource"], parameters)
        resources = resources if isinstance(resources, list) else [resources]
        if not any(matches(r, resource) for r in resources):
            continue
        conditions = s.get("Condition", {})
        if all(holds(op, key, value, context, parameters)
               for op, pairs in conditions.items() for key, value in pairs.items()):
            return True
    return False


def trusted(role, principal, context, parameters):
    """Whether the trust policy of `role` (a role's Properties) lets `principal` call
    sts:AssumeRole in `context`; a principal given as a Ref is the parameter's value."""
    for s in role["AssumeRolePolicyDocument"]["Statement"]:
        principals = s["Principal"]["AWS"]
        principals = principals if isinstance(principals, list) else [principals]
        if s["Effect"] != "Allow" or s["Action"] != "sts:AssumeRole":
            continue
        if principal not in [parameters[p["Ref"]] if isinstance(p, dict) else p for p in principals]:
            continue
        statement = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*",
                     "Condition": s.get("Condition", {})}
        if allowed_by([statement], "sts:AssumeRole", "*", context, parameters):
            return True
    return False


def user(path="/svc/", name="ci-deployer"):
    return f"arn:aws:iam::{ACCOUNT}:user{path}{name}"


def tagged(value, key=BINDING_TAG):
    return {f"aws:ResourceTag/{key}": value}


CASES = [
    # (what, action, resource, request context, allowed)
    ("a user bound to a secret of this account and Region", "iam:CreateAccessKey", user(), tagged(SECRET), True),
    ("the binding tag in another case", "iam:DeleteAccessKey", user(), tagged(SECRET, BINDING_TAG.upper()), True),
    ("an unbound user", "iam:CreateAccessKey", user(), {}, False),
    ("an unbound user", "iam:DeleteAccessKey", user(), {}, False),
    ("an unbound user", "iam:UpdateAccessKey", user(), {}, False),
    ("a user bound to a secret of another account", "iam:CreateAccessKey", user(),
     tagged(SECRET.replace(ACCOUNT, "444455556666")), False),
    ("a user bound to a secret of another Region", "iam:CreateAccessKey", user(),
     tagged(SECRET.replace(REGION, "us-east-1")), False),
    ("a tag that is not a secret's ARN", "iam:CreateAccessKey", user(), tagged("yes"), False),
    ("another tag", "iam:CreateAccessKey", user(), {"aws:ResourceTag/owner": SECRET}, False),
    ("a bound user off UserPath", "iam:CreateAccessKey", user("/"), tagged(SECRET), False),
    ("reading an unbound user, to explain the refusal", "iam:GetUser", user(), {}, True),
    ("listing an unbound user's keys", "iam:ListAccessKeys", user(), {}, True),
    ("reading a user off UserPath", "iam:GetUser", user("/admins/"), {}, False),
    ("binding a user itself", "iam:TagUser", user(), tagged(SECRET), False),
    ("unbinding a user", "iam:UntagUser", user(), tagged(SECRET), False),
]


@pytest.mark.parametrize("what, action, resource, context, expected", CASES,
                         ids=[f"{c[1]}: {c[0]}" for c in CASES])
def test_the_key_actions_only_reach_users_bound_to_a_secret(what, action, resource, context, expected):
    assert allowed(load(), action, resource, context) is expected, what


def test_the_proof_fails_on_a_template_without_the_condition():
    """The evaluation above is not vacuous: without the tag condition an unbound user's key
    could be made, and the proof says so."""
    broken = copy.deepcopy(load())
    for s in statements(broken):
        if "iam:CreateAccessKey" in s["Action"]:
            del s["Condition"]
    assert allowed(broken, "iam:CreateAccessKey", user(), {}) is True
    assert allowed(load(), "iam:CreateAccessKey", user(), {}) is False


def test_the_secrets_statement_reaches_only_secrets_rotated_by_this_function():
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:iam-key-rotator"
    context = {"secretsmanager:resource/AllowRotationLambdaArn": arn}
    assert allowed(load(), "secretsmanager:PutSecretValue", SECRET, context)
    other = {"secretsmanager:resource/AllowRotationLambdaArn": arn.replace("iam-key-rotator", "other")}
    assert not allowed(load(), "secretsmanager:PutSecretValue", SECRET, other)
    assert not allowed(load(), "secretsmanager:PutSecretValue", SECRET, {})


def test_the_function_may_put_only_its_own_source_on_the_default_bus():
    bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
    assert allowed(load(), "events:PutEvents", bus, {"events:source": "iam-key-rotator"})
    assert not allowed(load(), "events:PutEvents", bus, {"events:source": "aws.secretsmanager"})
    assert not allowed(load(), "events:PutEvents", bus.replace("default", "other"), {"events:source": "iam-key-rotator"})


BOOKKEEPING = "iam-key-rotator:previous-key-inactive-since"
OURS = {"secretsmanager:resource/AllowRotationLambdaArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:iam-key-rotator"}


@pytest.mark.parametrize("what, action, tag_keys, expected", [
    ("the bookkeeping tag", "secretsmanager:TagResource", [BOOKKEEPING], True),
    ("removing it", "secretsmanager:UntagResource", [BOOKKEEPING], True),
    ("an override tag", "secretsmanager:TagResource", ["iam-key-rotator:previous-key-action"], False),
    ("the bookkeeping tag and another", "secretsmanager:TagResource", [BOOKKEEPING, "owner"], False),
    ("no tag keys in the request", "secretsmanager:TagResource", None, False),
])
def test_the_sweep_may_write_its_bookkeeping_tag_and_no_other(what, action, tag_keys, expected):
    context = dict(OURS)
    if tag_keys is not None:
        context["aws:TagKeys"] = tag_keys
    assert allowed(load(), action, SECRET, context) is expected, what
    # And only on secrets rotated by this function.
    other = {**context, "secretsmanager:resource/AllowRotationLambdaArn": "arn:aws:lambda:eu-west-1:111122223333:function:other"}
    assert allowed(load(), action, SECRET, other) is False


def test_the_member_role_may_be_assumed_only_in_the_functions_organization():
    from test_template import conditional_document
    statements_ = conditional_document(load(), "CrossAccount")[1]["Statement"]
    role = "arn:aws:iam::444455556666:role/iam-key-rotator-member"
    params = {**PARAMETERS, "MemberRolePath": "/", "MemberRoleName": "iam-key-rotator-member"}
    ours = {**FROM_THE_FUNCTION, "aws:PrincipalOrgID": "o-abc123", "aws:ResourceOrgID": "o-abc123"}
    assert allowed_by(statements_, "sts:AssumeRole", role, ours, params)
    outside = {**FROM_THE_FUNCTION, "aws:PrincipalOrgID": "o-abc123", "aws:ResourceOrgID": "o-zzz999"}
    assert not allowed_by(statements_, "sts:AssumeRole", role, outside, params)
    assert not allowed_by(statements_, "sts:AssumeRole", role, {**FROM_THE_FUNCTION, "aws:PrincipalOrgID": "o-abc123"}, params)
    other_role = role.replace("iam-key-rotator-member", "admin")
    assert not allowed_by(statements_, "sts:AssumeRole", other_role, ours, params)

