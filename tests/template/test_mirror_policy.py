"""§19, the policy half: the function may read and write a secret or an SSM parameter only when it
claims a source secret of this account and Region (tag `iam-key-rotator:mirror-of`), may never
create or tag one, and uses the mirrors' KMS keys only through SSM and Secrets Manager. Which
claimed target is written is the code's decision (the source's bound user must name it too:
crates/rotator/tests/mirror_writes.rs, tests/e2e/test_mirrors.py); this is the bound on it,
evaluated with test_policy.py's evaluator.
"""

import copy

import pytest

from test_policy import ACCOUNT, PARAMETERS, REGION, SECRET, allowed, allowed_by
from test_template import conditional_document, load, statements

CLAIM = "iam-key-rotator:mirror-of"
MIRROR_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:ci/prod/aws_access_key_id-GhIjKl"
PARAMETER = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/ci/prod/credentials"
MIRROR_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/5678efab-12ab-34cd-56ef-1234567890ab"


def claiming(source=SECRET, key=CLAIM):
    return {f"aws:ResourceTag/{key}": source}


CASES = [
    # (what, action, resource, request context, allowed)
    ("a secret claiming a source here", "secretsmanager:PutSecretValue", MIRROR_SECRET, claiming(), True),
    ("reading it, for drift", "secretsmanager:GetSecretValue", MIRROR_SECRET, claiming(), True),
    ("describing it", "secretsmanager:DescribeSecret", MIRROR_SECRET, claiming(), True),
    ("the claim tag in another case", "secretsmanager:PutSecretValue", MIRROR_SECRET, claiming(key=CLAIM.upper()), True),
    ("a secret claiming nothing", "secretsmanager:PutSecretValue", MIRROR_SECRET, {}, False),
    ("a secret claiming nothing, read", "secretsmanager:GetSecretValue", MIRROR_SECRET, {}, False),
    ("a claim that is no secret's ARN", "secretsmanager:PutSecretValue", MIRROR_SECRET, claiming("yes"), False),
    ("a claim of another account's secret", "secretsmanager:PutSecretValue", MIRROR_SECRET,
     claiming(SECRET.replace(ACCOUNT, "444455556666")), False),
    ("a claim of another Region's secret", "secretsmanager:PutSecretValue", MIRROR_SECRET,
     claiming(SECRET.replace(REGION, "us-east-1")), False),
    ("a claimed secret of another Region", "secretsmanager:PutSecretValue",
     MIRROR_SECRET.replace(REGION, "us-east-1"), claiming(), False),
    ("making a secret", "secretsmanager:CreateSecret", MIRROR_SECRET, claiming(), False),
    ("tagging a claimed secret", "secretsmanager:TagResource", MIRROR_SECRET, claiming(), False),
    ("moving its labels", "secretsmanager:UpdateSecretVersionStage", MIRROR_SECRET, claiming(), False),
    ("a parameter claiming a source here", "ssm:PutParameter", PARAMETER, claiming(), True),
    ("reading it", "ssm:GetParameter", PARAMETER, claiming(), True),
    ("its tags", "ssm:ListTagsForResource", PARAMETER, claiming(), True),
    ("a parameter claiming nothing", "ssm:PutParameter", PARAMETER, {}, False),
    ("a parameter claiming nothing, read", "ssm:GetParameter", PARAMETER, {}, False),
    ("a parameter claiming another account's secret", "ssm:PutParameter", PARAMETER,
     claiming(SECRET.replace(ACCOUNT, "444455556666")), False),
    ("a claimed parameter of another account", "ssm:PutParameter", PARAMETER.replace(ACCOUNT, "444455556666"),
     claiming(), False),
    ("many parameters at once", "ssm:GetParameters", PARAMETER, claiming(), False),
    ("a hierarchy", "ssm:GetParametersByPath", PARAMETER, claiming(), False),
    ("tagging a parameter", "ssm:AddTagsToResource", PARAMETER, claiming(), False),
    ("deleting one", "ssm:DeleteParameter", PARAMETER, claiming(), False),
    ("a parameter's type and key (no value)", "ssm:DescribeParameters", "*", {}, True),
]


@pytest.mark.parametrize("what, action, resource, context, expected", CASES,
                         ids=[f"{c[1]}: {c[0]}" for c in CASES])
def test_the_function_reaches_only_mirrors_that_claim_a_source_here(what, action, resource, context, expected):
    assert allowed(load(), action, resource, context) is expected, what


def test_the_proof_fails_on_a_template_without_the_claim_condition():
    broken = copy.deepcopy(load())
    for s in statements(broken):
        if s.get("Sid") in ("MirrorSecrets", "MirrorParameters"):
            del s["Condition"]["StringLike"]
    assert allowed(broken, "ssm:PutParameter", PARAMETER, {})
    assert allowed(broken, "secretsmanager:PutSecretValue", MIRROR_SECRET, {})
    assert not allowed(load(), "ssm:PutParameter", PARAMETER, {})


PARAMS = {**PARAMETERS, "MirrorKmsKeyArns": [MIRROR_KEY]}
FUNCTION = {"lambda:SourceFunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:iam-key-rotator"}


@pytest.mark.parametrize("what, action, key, via, expected", [
    ("encrypting a parameter through SSM", "kms:Encrypt", MIRROR_KEY, f"ssm.{REGION}.amazonaws.com", True),
    ("decrypting it through SSM", "kms:Decrypt", MIRROR_KEY, f"ssm.{REGION}.amazonaws.com", True),
    ("a mirror secret's key through Secrets Manager", "kms:GenerateDataKey", MIRROR_KEY,
     f"secretsmanager.{REGION}.amazonaws.com", True),
    ("decrypting directly", "kms:Decrypt", MIRROR_KEY, None, False),
    ("through SSM of another Region", "kms:Decrypt", MIRROR_KEY, "ssm.us-east-1.amazonaws.com", False),
    ("through another service", "kms:Decrypt", MIRROR_KEY, f"s3.{REGION}.amazonaws.com", False),
    ("another key", "kms:Decrypt", MIRROR_KEY.replace("5678efab", "99999999"), f"ssm.{REGION}.amazonaws.com", False),
    ("managing the key", "kms:PutKeyPolicy", MIRROR_KEY, f"ssm.{REGION}.amazonaws.com", False),
])
def test_the_mirror_keys_serve_ssm_and_secrets_manager_only(what, action, key, via, expected):
    condition, document, otherwise = conditional_document(load(), "HasMirrorKmsKeys")
    assert otherwise == {"Ref": "AWS::NoValue"}
    context = dict(FUNCTION)
    if via:
        context["kms:ViaService"] = via
    assert allowed_by(document["Statement"], action, key, context, PARAMS) is expected, what


def test_no_mirror_key_grant_without_the_parameter():
    t = load()
    assert t["Parameters"]["MirrorKmsKeyArns"]["Default"] == ""
    # The condition is false for the default: the statement does not exist then.
    joined = t["Conditions"]["HasMirrorKmsKeys"]
    assert joined == {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "MirrorKmsKeyArns"}]}, ""]}]}
