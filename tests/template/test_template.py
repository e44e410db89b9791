"""Offline validation of template.yaml (SPEC §13).

cfn-lint checks the template against the CloudFormation schemas (SAM transform included). The
checks below enforce what cfn-lint cannot know: our least-privilege policy, that it grants exactly
the calls the code makes, the function settings, the alarm path and the optional example. Each
check is also run on broken copies of the template, to prove it catches them.
"""

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SECRETS_ACTIONS = {
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:ListSecretVersionIds",
}

IAM_READ_ACTIONS = {"iam:GetUser", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"}
IAM_KEY_ACTIONS = {"iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:UpdateAccessKey"}
# SPEC §15: the tag that binds a user to a secret, as the code spells it.
BINDING_TAG = re.search(r'pub const BINDING_TAG: &str = "([^"]+)";', (ROOT / "crates" / "rotator" / "src" / "binding.rs").read_text())[1]


def load(text=None):
    template, errors = decode_str(text if text is not None else TEMPLATE.read_text())
    assert not errors, errors
    return template


def function(t):
    return t["Resources"]["RotatorFunction"]


def role_policies(t):
    """The inline policies of the function's execution role (its own, not SAM's)."""
    return t["Resources"]["RotatorFunctionRole"]["Properties"]["Policies"]


# The role's policy for the calls of the function's code (the unconditional one), and the one for
# Lambda's writes of its log lines.
CODE_POLICY, LOGS_POLICY = "RotatorFunctionRolePolicy0", "RotatorFunctionLogs"


def statements(t, name=CODE_POLICY):
    """The statements of the role's unconditional policy `name` (the code's calls by default)."""
    (policy,) = [p for p in role_policies(t) if p.get("PolicyName") == name]
    return policy["PolicyDocument"]["Statement"]


def statement(t, sid):
    (found,) = [s for s in statements(t) if s.get("Sid") == sid]
    return found


def sub_text(value):
    assert isinstance(value, dict) and "Fn::Sub" in value, value
    return value["Fn::Sub"]


# ---- the checks ----


def check_function_settings(t):
    fn = function(t)
    assert fn["Type"] == "AWS::Serverless::Function"
    assert fn["Metadata"]["BuildMethod"] == "rust-cargolambda"
    props = fn["Properties"]
    assert props["Runtime"] == "provided.al2023"
    # Deploy what is tested: the architecture is a parameter whose default is the one the tests,
    # the benchmarks and CI build (x86_64).
    assert props["Architectures"] == [{"Ref": "Architecture"}]
    architecture = t["Parameters"]["Architecture"]
    assert architecture["Default"] == "x86_64"
    assert sorted(architecture["AllowedValues"]) == ["arm64", "x86_64"]
    # SAM builds the package in CodeUri: the Lambda crate, which has the binary BuildProperties name.
    crate = ROOT / props["CodeUri"]
    binary = fn["Metadata"]["BuildProperties"]["Binary"]
    assert f'name = "{binary}"' in (crate / "Cargo.toml").read_text(), f"{crate} builds no binary {binary}"
    assert props["Handler"] == "bootstrap"
    assert props["MemorySize"] == 128
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    longest_wait = int(t["Parameters"]["PropagationTimeoutSeconds"]["MaxValue"])
    assert props["Timeout"] >= longest_wait + 30, "timeout above the propagation timeout plus margin"
    assert props["Timeout"] <= 900
    assert props["FunctionName"] == {"Ref": "FunctionName"}, "explicit name, no circular reference"


def check_environment_matches_config(t):
    variables = function(t)["Properties"]["Environment"]["Variables"]
    sources = ["config.rs", "member_role.rs"]
    config_rs = "".join((ROOT / "crates" / "rotator" / "src" / name).read_text() for name in sources)
    names = set(re.findall(r'pub const [A-Z_]+: &str = "([A-Z_]+)";', config_rs))
    assert names, "config.rs names its variables"
    # Only an emulator, which gives no function ARN, needs it; Lambda gives the real one.
    assert "EMULATED_FUNCTION_ARN" in names and "EMULATED_FUNCTION_ARN" not in variables
    names.discard("EMULATED_FUNCTION_ARN")
    assert set(variables) == names, f"template sets {sorted(variables)}, config.rs reads {sorted(names)}"
    for name, value in variables.items():
        assert isinstance(value, dict) and "Ref" in value, f"{name} comes from a parameter"
        assert value["Ref"] in t["Parameters"]
    action = t["Parameters"]["PreviousKeyAction"]
    assert action["AllowedValues"] == ["keep", "deactivate", "delete", "retire"]
    idle = t["Parameters"]["RetireIdleHours"]
    assert 8 <= int(idle["MinValue"]) <= int(idle["Default"]) <= int(idle["MaxValue"]) <= 720
    assert action["Default"] == "retire", "AWS's own procedure for access keys: retire by use"
    timeout = t["Parameters"]["PropagationTimeoutSeconds"]
    assert 1 <= int(timeout["MinValue"]) <= int(timeout["Default"]) <= int(timeout["MaxValue"]) <= 840


def check_secrets_statement(t):
    s = statement(t, "SecretsRotatedByThisFunction")
    assert s["Effect"] == "Allow"
    assert set(s["Action"]) == SECRETS_ACTIONS
    resource = sub_text(s["Resource"])
    assert resource.startswith("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:")
    condition = s["Condition"]["StringEquals"]["secretsmanager:resource/AllowRotationLambdaArn"]
    assert sub_text(condition) == (
        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${FunctionName}"
    ), "only secrets that name this function as their rotation function"


def check_iam_statement(t):
    users_on_path = "arn:${AWS::Partition}:iam::${AWS::AccountId}:user${UserPath}*"
    read = statement(t, "ReadUsersOnPath")
    assert read["Effect"] == "Allow" and set(read["Action"]) == IAM_READ_ACTIONS
    assert sub_text(read["Resource"]) == users_on_path
    keys = statement(t, "AccessKeysOfBoundUsersOnPath")
    assert keys["Effect"] == "Allow" and set(keys["Action"]) == IAM_KEY_ACTIONS
    assert sub_text(keys["Resource"]) == users_on_path
    (condition,) = keys["Condition"]["StringLike"].items()
    assert condition[0] == f"aws:ResourceTag/{BINDING_TAG}", "the key AWS documents for IAM users"
    assert sub_text(condition[1]) == "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*"
    assert t["Parameters"]["UserPath"]["Default"] == "/"
    granted = [a for st in statements(t) for a in st["Action"]]
    assert not [a for a in granted if a.startswith(("iam:Tag", "iam:Untag"))], "the function cannot bind a user"


def check_no_wildcards(t):
    for s in statements(t):
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        assert all("*" not in a for a in actions), f"wildcard action in {s.get('Sid')}"
        # ListSecrets and DescribeParameters support no resource scoping: their statements, and
        # no other, are on "*".
        if s["Resource"] == "*":
            assert actions in (["secretsmanager:ListSecrets"], ["ssm:DescribeParameters"]), f"wildcard resource in {s.get('Sid')}"
    assert len(statements(t)) == 9, "no statement beyond the nine the function needs"


def check_sweep(t):
    """An EventBridge schedule invokes the function with the standard event (no Input), only from
    its own rule (always: a secret's tag may ask for retire); the function may write one tag key
    on its own secrets."""
    resources = t["Resources"]
    rule = resources["SweepRule"]
    assert sub_text(rule["Properties"]["ScheduleExpression"]) == "rate(${SweepIntervalMinutes} minutes)"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["RotatorFunction", "Arn"]}
    assert "Input" not in target and "InputPath" not in target and "InputTransformer" not in target
    permission = resources["SweepInvokePermission"]
    props = permission["Properties"]
    assert props["Principal"] == "events.amazonaws.com"
    assert props["SourceArn"] == {"Fn::GetAtt": ["SweepRule", "Arn"]}
    assert int(t["Parameters"]["SweepIntervalMinutes"]["MinValue"]) >= 5, "rate(N minutes) needs N > 1"
    tag = statement(t, "RetireBookkeepingTag")
    assert set(tag["Action"]) == {"secretsmanager:TagResource", "secretsmanager:UntagResource"}
    conditions = tag["Condition"]
    tag_rs = (ROOT / "crates" / "rotator" / "src" / "overrides.rs").read_text()
    (bookkeeping,) = re.findall(r'pub const INACTIVE_SINCE_TAG: &str = "([^"]+)";', tag_rs)
    assert conditions["ForAllValues:StringEquals"]["aws:TagKeys"] == [bookkeeping]
    assert conditions["Null"]["aws:TagKeys"] == "false"
    assert conditions["StringEquals"] == statement(t, "SecretsRotatedByThisFunction")["Condition"]["StringEquals"]


def conditional_document(t, condition):
    """[condition, document, otherwise]: the role's policy document that exists only under
    `condition`."""
    (found,) = [p["Fn::If"] for p in role_policies(t) if "Fn::If" in p and p["Fn::If"][0] == condition]
    condition, policy, otherwise = found
    return [condition, policy["PolicyDocument"], otherwise]


def check_kms_only_with_a_key(t):
    conditional = [p for p in role_policies(t) if "Fn::If" in p]
    assert len(conditional) == 3, "the two KMS grants and the member role, each behind its parameter"
    condition, document, otherwise = conditional_document(t, "HasKmsKey")
    assert condition == "HasKmsKey"
    assert otherwise == {"Ref": "AWS::NoValue"}
    assert t["Conditions"]["HasKmsKey"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "KmsKeyArn"}, ""]}]}
    (kms,) = document["Statement"]
    assert set(kms["Action"]) <= {"kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"}
    assert kms["Resource"] == {"Ref": "KmsKeyArn"}
    assert "kms:ViaService" in kms["Condition"]["StringEquals"]


def check_member_role_only_when_named(t):
    """§17: sts:AssumeRole of the member role's name and path, in accounts of the function's own
    organization, only when MemberRoleName is set; the external id is then required (and without
    the name, neither it nor a path may be given); the role to trust is an output."""
    condition, document, otherwise = conditional_document(t, "CrossAccount")
    assert otherwise == {"Ref": "AWS::NoValue"}
    assert t["Conditions"]["CrossAccount"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "MemberRoleName"}, ""]}]}
    (assume,) = document["Statement"]
    assert assume["Effect"] == "Allow" and assume["Action"] == ["sts:AssumeRole"]
    assert sub_text(assume["Resource"]) == "arn:${AWS::Partition}:iam::*:role${MemberRolePath}${MemberRoleName}"
    assert assume["Condition"]["StringEquals"] == {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}, \
        "only roles in the function's own organization"
    assert t["Parameters"]["MemberRoleName"]["Default"] == "", "off unless asked for"
    (assertion,) = t["Rules"]["ExternalIdWithMemberRole"]["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "MemberRoleExternalId"}, ""]}]}
    assert t["Rules"]["ExternalIdWithMemberRole"]["RuleCondition"] == t["Conditions"]["CrossAccount"]
    off = t["Rules"]["NoMemberSettingsWithoutMemberRole"]
    assert off["RuleCondition"] == {"Fn::Equals": [{"Ref": "MemberRoleName"}, ""]}
    assert off["Assertions"][0]["Assert"] == {"Fn::And": [{"Fn::Equals": [{"Ref": "MemberRoleExternalId"}, ""]},
                                                          {"Fn::Equals": [{"Ref": "MemberRolePath"}, "/"]}]}
    assert t["Outputs"]["FunctionRoleArn"]["Value"] == {"Fn::GetAtt": ["RotatorFunctionRole", "Arn"]}


def check_invoke_permission(t):
    permission = t["Resources"]["SecretsManagerInvokePermission"]
    props = permission["Properties"]
    assert props["Principal"] == "secretsmanager.amazonaws.com"
    assert props["Action"] == "lambda:InvokeFunction"
    assert props["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert props["FunctionName"] == {"Fn::GetAtt": ["RotatorFunction", "Arn"]}


def check_failure_alarm(t):
    resources = t["Resources"]
    rule = resources["RotationFailedRule"]["Properties"]
    assert rule["EventPattern"]["source"] == ["aws.secretsmanager"]
    assert set(rule["EventPattern"]["detail"]["eventName"]) == {"RotationFailed", "RotationAbandoned"}
    assert rule["State"] == "ENABLED"
    assert rule["Targets"][0]["Arn"] == {"Ref": "RotationFailedTopic"}
    assert resources["RotationFailedTopic"]["Type"] == "AWS::SNS::Topic"
    publish = resources["RotationFailedTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert publish["Principal"] == {"Service": "events.amazonaws.com"}
    # The still-in-use event of the function, to the same topic.
    in_use = resources["PreviousKeyInUseRule"]["Properties"]
    lifecycle_rs = (ROOT / "crates" / "rotator" / "src" / "lifecycle.rs").read_text()
    mirrors_rs = (ROOT / "crates" / "rotator" / "src" / "mirror_writes" / "announce.rs").read_text()
    still_in_use, not_written, repaired = in_use["EventPattern"]["detail-type"]
    assert f'pub const STILL_IN_USE: &str = "{still_in_use}";' in lifecycle_rs
    assert f'pub const MIRROR_NOT_WRITTEN: &str = "{not_written}";' in mirrors_rs
    assert f'pub const MIRROR_REPAIRED: &str = "{repaired}";' in mirrors_rs
    assert in_use["EventPattern"]["source"] == ["iam-key-rotator"]
    assert in_use["Targets"][0]["Arn"] == {"Ref": "RotationFailedTopic"}
    sources = publish["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sources == [{"Fn::GetAtt": ["RotationFailedRule", "Arn"]}, {"Fn::GetAtt": ["PreviousKeyInUseRule", "Arn"]}]
    put = statement(t, "LifecycleEventsOnTheDefaultBus")
    assert put["Action"] == ["events:PutEvents"]
    assert sub_text(put["Resource"]).endswith(":event-bus/default")
    assert put["Condition"]["StringEquals"]["events:source"] == "iam-key-rotator"
    email = resources["RotationFailedEmail"]
    assert email["Condition"] == "HasAlarmEmail"
    assert email["Properties"]["Protocol"] == "email"


def check_event_targets_can_be_published(t):
    """Every SNS topic an EventBridge rule targets is unencrypted or under a key of this template
    whose policy lets EventBridge use it. An AWS managed key (alias/aws/sns) cannot: EventBridge
    then drops every event silently."""
    resources = t["Resources"]
    targeted = [target["Arn"]["Ref"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"
                for target in r["Properties"]["Targets"] if "Ref" in target["Arn"]]
    topics = [name for name in targeted if resources[name]["Type"] == "AWS::SNS::Topic"]
    assert topics, "the alarm rule targets a topic"
    for name in topics:
        key = resources[name]["Properties"].get("KmsMasterKeyId")
        if key is None:
            continue
        assert isinstance(key, dict) and ("Ref" in key or "Fn::GetAtt" in key), (
            f"{name} is encrypted with {key!r}: an AWS managed key, or one whose policy this template cannot show")
        key_name = key.get("Ref") or key["Fn::GetAtt"][0]
        assert resources[key_name]["Type"] == "AWS::KMS::Key"
        grants = [s for s in resources[key_name]["Properties"]["KeyPolicy"]["Statement"]
                  if s["Effect"] == "Allow" and s.get("Principal") == {"Service": "events.amazonaws.com"}]
        actions = {a for s in grants for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
        assert {"kms:Decrypt", "kms:GenerateDataKey"} <= actions, f"{key_name} does not let EventBridge publish to {name}"


def check_log_retention(t):
    group = t["Resources"]["RotatorLogGroup"]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert sub_text(group["Properties"]["LogGroupName"]) == "/iam-key-rotator/${FunctionName}"
    assert function(t)["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": "RotatorLogGroup"}
    assert int(t["Parameters"]["LogRetentionDays"]["Default"]) in t["Parameters"]["LogRetentionDays"]["AllowedValues"]


def check_example_behind_parameter(t):
    resources = t["Resources"]
    example = {name for name, r in resources.items() if r.get("Condition") == "MakeExample"}
    assert example == {"ExampleUser", "ExampleSecret", "ExampleRotationSchedule"}
    assert t["Conditions"]["MakeExample"] == {"Fn::Equals": [{"Ref": "CreateExample"}, "true"]}
    assert t["Parameters"]["CreateExample"]["Default"] == "false"
    assert resources["ExampleUser"]["Properties"]["Path"] == {"Ref": "UserPath"}, "the example user is on the path"
    value = sub_text(resources["ExampleSecret"]["Properties"]["SecretString"])
    assert value == '{"UserName": "${ExampleUserName}"}', "a bootstrap value"
    assert resources["ExampleUser"]["Properties"]["UserName"] == {"Ref": "ExampleUserName"}
    tags = resources["ExampleUser"]["Properties"]["Tags"]
    assert {"Key": BINDING_TAG, "Value": {"Ref": "ExampleSecret"}} in tags, "the example user is bound to its secret"
    schedule = resources["ExampleRotationSchedule"]
    assert schedule["Properties"]["RotationLambdaARN"] == {"Fn::GetAtt": ["RotatorFunction", "Arn"]}
    assert "ScheduleExpression" in schedule["Properties"]["RotationRules"]
    assert set(schedule["DependsOn"]) == {"SecretsManagerInvokePermission", "ExampleUser"}, "bound before the first rotation"


def check_outputs(t):
    outputs = t["Outputs"]
    assert outputs["FunctionArn"]["Value"] == {"Fn::GetAtt": ["RotatorFunction", "Arn"]}
    assert outputs["ExampleSecretArn"]["Condition"] == "MakeExample"
    assert "RotationFailedTopicArn" in outputs


CHECKS = [
    check_function_settings,
    check_environment_matches_config,
    check_secrets_statement,
    check_iam_statement,
    check_no_wildcards,
    check_sweep,
    check_kms_only_with_a_key,
    check_member_role_only_when_named,
    check_invoke_permission,
    check_failure_alarm,
    check_event_targets_can_be_published,
    check_log_retention,
    check_example_behind_parameter,
    check_outputs,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_template(check):
    check(load())


def granted_actions(t):
    """What the function's own statements grant, the member role's assumption included (KMS is
    not called by the code but by Secrets Manager and SSM on its behalf)."""
    member = conditional_document(t, "CrossAccount")[1]["Statement"]
    return {a for s in statements(t) + member for a in s["Action"]}


def test_the_policy_grants_exactly_the_calls_the_code_makes():
    """Every SDK call in crates/rotator/src/aws is granted, and nothing else (STS GetCallerIdentity needs none)."""
    services = {"secrets_manager.rs": "secretsmanager", "iam.rs": "iam", "events.rs": "events",
                "member_accounts.rs": "sts", "ssm.rs": "ssm"}
    called = set()
    for file, service in services.items():
        source = (ROOT / "crates" / "rotator" / "src" / "aws" / file).read_text()
        for op in re.findall(r"\.client\s*\.(\w+)\(\)", source):
            called.add(f"{service}:" + "".join(part.title() for part in op.split("_")))
    assert len(called) == 20, sorted(called)
    assert called == granted_actions(load())


# ---- cfn-lint, and the proof that every check catches a broken template ----


def cfn_lint(path):
    executable = Path(sys.executable).parent / "cfn-lint"
    return subprocess.run([str(executable), str(path)], capture_output=True, text=True, check=False)


def test_cfn_lint_passes():
    result = cfn_lint(TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "broken",
    [
        ("!GetAtt RotatorFunction.Arn\n      Action: lambda", "!GetAtt RotatorFunktion.Arn\n      Action: lambda"),
        ("MemorySize: 128", "MemorySize: 64"),
        ("Principal: secretsmanager.amazonaws.com", "Principall: secretsmanager.amazonaws.com"),
        ("Condition: HasAlarmEmail", "Condition: HasNoSuchCondition"),
    ],
    ids=["bad-reference", "memory-below-minimum", "misspelt-property", "unknown-condition"],
)
def test_cfn_lint_fails_on_a_broken_template(tmp_path, broken):
    old, new = broken
    text = TEMPLATE.read_text()
    assert old in text
    path = tmp_path / "template.yaml"
    path.write_text(text.replace(old, new, 1))
    result = cfn_lint(path)
    assert result.returncode != 0, f"cfn-lint accepted a broken template ({new!r})"
    assert re.search(r"^[EW]\d{4} ", result.stdout, re.M), "the failure is a lint finding: " + result.stdout + result.stderr


def mutate(path, value, loaded=None):
    """A copy of the template (or of `loaded`) with the item at `path` (keys and indexes) set
    to `value`, or removed for `KeyError`."""
    t = copy.deepcopy(loaded or load())
    node = t
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return t


FN = ["Resources", "RotatorFunction", "Properties"]
POLICIES = ["Resources", "RotatorFunctionRole", "Properties", "Policies"]
CODE = POLICIES + [0, "PolicyDocument", "Statement"]
SM = CODE + [0]
IAM = CODE + [1]
KEYS = CODE + [2]


@pytest.mark.parametrize(
    "check, path, value",
    [
        (check_function_settings, FN + ["Architectures"], ["arm64"]),
        (check_function_settings, ["Parameters", "Architecture", "Default"], "arm64"),
        (check_function_settings, FN + ["CodeUri"], "."),
        (check_function_settings, FN + ["Timeout"], 60),
        (check_function_settings, FN + ["LoggingConfig", "LogFormat"], "Text"),
        (check_environment_matches_config, FN + ["Environment", "Variables", "USER_NAME_TEMPLATE"], KeyError),
        (check_secrets_statement, SM + ["Condition"], KeyError),
        (check_secrets_statement, SM + ["Action"], sorted(SECRETS_ACTIONS | {"secretsmanager:DeleteSecret"})),
        (check_iam_statement, IAM + ["Resource"], {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*"}),
        (check_iam_statement, KEYS + ["Condition"], KeyError),
        (check_iam_statement, IAM + ["Action"], sorted(IAM_READ_ACTIONS | {"iam:TagUser"})),
        (check_event_targets_can_be_published, ["Resources", "RotationFailedTopic", "Properties", "KmsMasterKeyId"], "alias/aws/sns"),
        (check_event_targets_can_be_published, ["Resources", "AlarmTopicKey", "Properties", "KeyPolicy", "Statement", 1], KeyError),
        (check_log_retention, ["Resources", "RotatorLogGroup", "Properties", "RetentionInDays"], KeyError),
        (check_example_behind_parameter, ["Resources", "ExampleUser", "Properties", "Tags"], []),
        (check_no_wildcards, IAM + ["Resource"], "*"),
        (check_no_wildcards, SM + ["Action"], ["secretsmanager:*"]),
        (check_no_wildcards, CODE + [3, "Action"], ["secretsmanager:ListSecrets", "secretsmanager:GetSecretValue"]),
        (check_sweep, ["Resources", "SweepRule", "Properties", "Targets", 0, "Input"], "{}"),
        (check_sweep, ["Resources", "SweepInvokePermission", "Properties", "SourceArn"], KeyError),
        (check_sweep, CODE + [4, "Condition", "ForAllValues:StringEquals", "aws:TagKeys"], ["iam-key-rotator:*"]),
        (check_sweep, CODE + [4, "Condition", "Null"], KeyError),
        (check_kms_only_with_a_key, POLICIES + [1], {"Fn::If": ["HasKmsKey", {"PolicyName": "P", "PolicyDocument": {"Statement": [{"Action": ["kms:*"], "Resource": "*", "Condition": {}}]}}, {"Ref": "AWS::NoValue"}]}),
        (check_member_role_only_when_named, POLICIES + [2, "Fn::If", 1, "PolicyDocument", "Statement", 0, "Resource"], {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/*"}),
        (check_member_role_only_when_named, ["Rules"], KeyError),
        (check_member_role_only_when_named, POLICIES + [2, "Fn::If", 1, "PolicyDocument", "Statement", 0, "Condition"], KeyError),
        (check_member_role_only_when_named, POLICIES + [2, "Fn::If", 0], "HasKmsKey"),
        (check_invoke_permission, ["Resources", "SecretsManagerInvokePermission", "Properties", "SourceAccount"], KeyError),
        (check_failure_alarm, ["Resources", "RotationFailedRule", "Properties", "EventPattern", "detail", "eventName"], ["RotationSucceeded"]),
        (check_failure_alarm, ["Resources", "PreviousKeyInUseRule", "Properties", "EventPattern", "detail-type"], ["Access Key Rotated"]),
        (check_failure_alarm, CODE + [5, "Condition"], KeyError),
        (check_example_behind_parameter, ["Resources", "ExampleSecret", "Condition"], KeyError),
    ],
)
def test_each_check_fails_on_a_broken_template(check, path, value):
    with pytest.raises((AssertionError, KeyError, ValueError)):
        check(mutate(path, value))


def test_an_output_names_the_log_group():
    """Where to look when a rotation failed (README, "It failed: now what?")."""
    t = load()
    assert t["Outputs"]["LogGroupName"]["Value"] == {"Ref": "RotatorLogGroup"}
    assert t["Resources"]["RotatorLogGroup"]["Properties"]["LogGroupName"] == {"Fn::Sub": "/iam-key-rotator/${FunctionName}"}
