"""scanner-role.yaml, offline: cfn-lint, and its two policies evaluated as IAM would. The role
trusts one named identity alone, and only with the external id; it grants exactly the reads
`iam-key-fleet scan` makes as the role (found in the fleet's SDK adapter, below), kms:Decrypt only
through Secrets Manager, and no write. Each check is also run on a broken copy, to prove it
catches it."""

import re
from pathlib import Path

import pytest
from cfnlint.decode import decode_str

from test_member_role import load as load_member_role
from test_policy import allowed_by, trusted as policy_trusts
from test_template import cfn_lint, mutate as mutate_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "scanner-role.yaml"
FLEET = ROOT / "crates" / "fleet" / "src"
ADAPTERS = ROOT / "crates" / "rotator" / "src" / "aws"
MANAGEMENT, MEMBER = "111122223333", "444455556666"
SCANNER = f"arn:aws:iam::{MANAGEMENT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Audit_0123abcd"
EXTERNAL_ID = "fleet-scan-5c1e"
PARAMETERS = {"AWS::Partition": "aws", "AWS::AccountId": MEMBER,
              "ScannerPrincipalArn": SCANNER, "ExternalId": EXTERNAL_ID}
SECRET = f"arn:aws:secretsmanager:eu-west-1:{MEMBER}:secret:ci/prod/deployer-AbCdEf"
USER = f"arn:aws:iam::{MEMBER}:user/svc/ci-deployer"
KEY = f"arn:aws:kms:eu-west-1:{MEMBER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VIA_SECRETS_MANAGER = {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}

# What `scan` calls as the role, by hand; test_the_policy_grants_exactly_the_reads_scan_makes
# finds the same set in the code. The fleet's SdkFleet (crates/fleet/src/sdk.rs) method, and
# the function's adapter it goes through:
SCAN_READS = {
    "secretsmanager:ListSecrets",           # list_secrets: self.sm.list_secrets()
    "secretsmanager:BatchGetSecretValue",   # current_values (values.rs read_ahead)
    "secretsmanager:GetSecretValue",        # value: SdkSecretsManager::get_secret_value
    "secretsmanager:ListSecretVersionIds",  # version_created: SdkSecretsManager::versions_created
    "iam:GetUser",                          # user: SdkIam::get_user
    "iam:ListAccessKeys",                   # user_keys: SdkIam::list_access_keys
    "iam:GetAccessKeyLastUsed",             # last_used: SdkIam::access_key_last_used
    "account:ListRegions",                  # sdk_estate.rs enabled_regions (--regions all)
}
# The files `scan` runs, and the other files that name the FleetAws trait (enable, rotate,
# unstick and what they share; the adapters; the estate and the binary, checked apart). A new
# file that names the trait fails test_every_user_of_the_fleets_calls_is_placed until placed.
SCAN_FILES = {"scan.rs", "values.rs", "observe.rs", "key_report.rs", "uncovered.rs"}
OTHER_FILES = {"aws.rs", "sdk.rs", "sdk_estate.rs", "estate.rs",
               "bind.rs", "claims.rs", "enable.rs", "rotate.rs", "unstick.rs",
               "split.rs", "split_plan.rs", "split_make.rs"}


def load(text=None):
    template, errors = decode_str(text if text is not None else TEMPLATE.read_text())
    assert not errors, errors
    return template


def role(t):
    return t["Resources"]["ScannerRole"]["Properties"]


def policy(t):
    (document,) = [p["PolicyDocument"] for p in role(t)["Policies"]]
    return document["Statement"]


def actions(statement):
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def granted(t):
    return {a for s in policy(t) for a in actions(s)}


def trusted(t, principal, context):
    return policy_trusts(role(t), principal, context, PARAMETERS)


# ---- the reads `scan` makes, found in the code ----


def read(path):
    return path.read_text()


def methods(source, start):
    """Each `async fn` from `start` on: its name to its text (up to the next one)."""
    parts = re.split(r"\basync fn (\w+)", source[source.index(start):])
    return dict(zip(parts[1::2], parts[2::2]))


def action(service, op):
    return f"{service}:" + "".join(part.title() for part in op.split("_"))


def fleet_methods():
    """The methods of the FleetAws trait (crates/fleet/src/aws.rs)."""
    return set(methods(read(FLEET / "aws.rs"), "pub trait FleetAws"))


def scan_methods():
    """The FleetAws methods the scan's files call (on `aws`, where the secret is, or `iam`, where
    its user is: the only names a FleetAws goes by there)."""
    called = set()
    for file in SCAN_FILES:
        source = read(FLEET / file)
        assert set(re.findall(r"(\w+): &dyn FleetAws", source)) <= {"aws", "iam"}, file
        called |= set(re.findall(r"\b(?:aws|iam)\s*\.\s*(\w+)\s*\(", source)) & fleet_methods()
    return called


ADAPTER = {"secrets": ("secrets_manager.rs", "impl SecretsManager for SdkSecretsManager", "secretsmanager"),
           "iam_keys": ("iam.rs", "impl Iam for SdkIam", "iam")}


def sdk_calls(method):
    """The actions SdkFleet::`method` calls: on its own clients (self.sm, self.iam), or through
    the function's adapters (self.secrets, self.iam_keys)."""
    body = methods(read(FLEET / "sdk.rs"), "impl FleetAws for SdkFleet")[method]
    clients = {"sm": "secretsmanager", "iam": "iam"}
    calls = {action(clients[c], op) for c, op in re.findall(r"self\s*\.\s*(sm|iam)\s*\.\s*(\w+)\(\)", body)}
    for field, fn in re.findall(r"self\s*\.\s*(secrets|iam_keys|sts)\s*\.\s*(\w+)\(", body):
        assert field in ADAPTER, f"SdkFleet::{method} calls self.{field}: place it here"
        file, impl, service = ADAPTER[field]
        adapter = methods(read(ADAPTERS / file), impl)[fn]
        calls |= {action(service, op) for op in re.findall(r"\.client\s*\.\s*(\w+)\(\)", adapter)}
    assert calls, f"no AWS call found in SdkFleet::{method}: the parsing no longer fits sdk.rs"
    return calls


def estate_calls_as_the_role():
    """sdk_estate.rs: the Organizations listing runs with the caller's credentials; the Regions
    of an account are listed as the role (config_in: the role session in any other account)."""
    estate = methods(read(FLEET / "sdk_estate.rs"), "impl Estate for SdkEstate")
    assert "Client::new(&self.base)" in estate["organization_accounts"]
    body = estate["enabled_regions"]
    assert "self.config_in(account" in body
    (service,) = set(re.findall(r"aws_sdk_(\w+)::Client::new", body))
    return {action(service, op) for op in re.findall(r"\bclient\s*\.\s*(\w+)\(\)", body)}


def scan_reads():
    """Every read `scan` makes as the role. users_on_path (iam:ListUsers) is left out: --user-path
    never runs with an estate (test_list_users_is_never_called_as_the_role)."""
    reads = set()
    for method in scan_methods() - {"users_on_path"}:
        reads |= sdk_calls(method)
    return reads | estate_calls_as_the_role()


def every_call_of_the_code():
    """Every AWS call the function (its adapters) and the fleet (sdk.rs, sdk_layout.rs,
    sdk_estate.rs) make."""
    services = {"secrets_manager.rs": "secretsmanager", "iam.rs": "iam", "events.rs": "events",
                "member_accounts.rs": "sts"}
    calls = set()
    for file, service in services.items():
        calls |= {action(service, op) for op in re.findall(r"\.client\s*\.(\w+)\(\)", read(ADAPTERS / file))}
    sdk = read(FLEET / "sdk.rs") + read(FLEET / "sdk_layout.rs")
    calls |= {action({"sm": "secretsmanager", "iam": "iam"}[c], op)
              for c, op in re.findall(r"self\s*\.\s*(sm|iam)\s*\.\s*(\w+)\(\)", sdk)}
    estate = read(FLEET / "sdk_estate.rs")
    calls |= {"organizations:ListAccounts", "sts:AssumeRole", "account:ListRegions"}
    assert ".list_accounts()" in estate and "AssumeRoleProvider" in estate and ".list_regions()" in estate
    return calls


WRITES = sorted(a for a in every_call_of_the_code()
                if not re.match(r"[a-z]+:(Get|List|Describe|BatchGet)", a))


# ---- the checks ----


def check_trust(t):
    (statement,) = role(t)["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": {"Ref": "ScannerPrincipalArn"}}, "the named identity alone"
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}
    assert trusted(t, SCANNER, {"sts:ExternalId": EXTERNAL_ID})
    assert not trusted(t, SCANNER, {"sts:ExternalId": "guess"})
    assert not trusted(t, SCANNER, {})
    assert not trusted(t, f"arn:aws:iam::{MANAGEMENT}:role/OrganizationAccountAccessRole", {"sts:ExternalId": EXTERNAL_ID})
    assert not trusted(t, f"arn:aws:iam::{MANAGEMENT}:root", {"sts:ExternalId": EXTERNAL_ID})
    assert role(t)["MaxSessionDuration"] == 3600, "the scan's session is the default hour"


def check_policy_is_the_scan_reads(t):
    assert granted(t) == SCAN_READS | {"kms:Decrypt"}, sorted(granted(t))
    assert all("*" not in a for a in granted(t)), "no wildcard action"
    # Resource "*" only where the action has no resource to name (and kms:Decrypt's condition).
    for s in policy(t):
        if s["Resource"] == "*":
            assert set(actions(s)) <= {"secretsmanager:ListSecrets", "secretsmanager:BatchGetSecretValue",
                                       "account:ListRegions"}, s.get("Sid")
    by_action = {a: s["Resource"] for s in policy(t) for a in actions(s)}
    this_account_secrets = {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:*:${AWS::AccountId}:secret:*"}
    this_account_users = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*"}
    assert by_action["secretsmanager:GetSecretValue"] == this_account_secrets
    assert by_action["secretsmanager:ListSecretVersionIds"] == this_account_secrets
    for a in ("iam:GetUser", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"):
        assert by_action[a] == this_account_users, a


def check_kms_only_through_secrets_manager(t):
    (kms,) = [s for s in policy(t) if "kms:Decrypt" in actions(s)]
    assert actions(kms) == ["kms:Decrypt"]
    assert kms["Condition"] == {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}}


def check_parameters(t):
    """The same external id and role-name shapes as member-role.yaml (one StackSet practice);
    the principal and the external id have no default. The external id is not NoEcho: AWS does
    not treat it as a secret, and a NoEcho parameter must be given again at every StackSet
    update."""
    params, member = t["Parameters"], load_member_role()["Parameters"]
    assert params["ExternalId"] == member["ExternalId"] | {"Description": params["ExternalId"]["Description"]}
    assert "NoEcho" not in params["ExternalId"]
    assert params["RoleName"]["AllowedPattern"] == member["RoleName"]["AllowedPattern"]
    assert params["RoleName"]["Default"] == "iam-key-fleet-scanner"
    assert "Default" not in params["ExternalId"] and "Default" not in params["ScannerPrincipalArn"]


def check_outputs(t):
    assert t["Outputs"]["ScannerRoleArn"]["Value"] == {"Fn::GetAtt": ["ScannerRole", "Arn"]}
    assert role(t)["RoleName"] == {"Ref": "RoleName"}


CHECKS = [check_trust, check_policy_is_the_scan_reads, check_kms_only_through_secrets_manager,
          check_parameters, check_outputs]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_scanner_role(check):
    check(load())


# ---- the policy against the code ----


def test_the_policy_grants_exactly_the_reads_scan_makes():
    """The hand list is the code's: every FleetAws method the scan's files call, through the SDK
    adapter to its AWS calls, and account:ListRegions; kms:Decrypt is Secrets Manager's call on
    the role's behalf, not the code's."""
    assert scan_reads() == SCAN_READS, sorted(scan_reads())
    assert granted(load()) - {"kms:Decrypt"} == SCAN_READS


def test_every_user_of_the_fleets_calls_is_placed():
    users = {p.name for p in FLEET.glob("*.rs") if "FleetAws" in p.read_text()}
    assert users == SCAN_FILES | OTHER_FILES, sorted(users ^ (SCAN_FILES | OTHER_FILES))
    for file in SCAN_FILES:
        assert not re.search(r"super::(bind|claims|enable|rotate|unstick)\b", read(FLEET / file)), file


def test_list_users_is_never_called_as_the_role():
    """--user-path is the one read left out: clap refuses it with --accounts, --organization or
    --regions, so a scan with it covers the credentials' own account and Region alone, which the
    estate enters with the credentials themselves, never the role."""
    assert "users_on_path" in scan_methods() and sdk_calls("users_on_path") == {"iam:ListUsers"}
    (conflicts,) = re.findall(r"conflicts_with_all = \[([^\]]*)\]\)\]\s*(?:pub\(crate\) )?user_path:",
                              read(FLEET / "cli.rs"))
    assert set(re.findall(r'"(\w+)"', conflicts)) == {"accounts", "organization", "regions"}
    entering = methods(read(FLEET / "sdk_estate.rs"), "async fn config_in")["config_in"]
    assert "if account != own {" in entering and "self.session(account)" in entering


def test_the_writes_found_are_the_known_ones():
    """The write list below is found, not typed: it holds what the function and fleet change."""
    assert {"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage",
            "secretsmanager:RotateSecret", "secretsmanager:TagResource", "secretsmanager:CreateSecret", "secretsmanager:UntagResource",
            "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:UpdateAccessKey", "iam:TagUser",
            "events:PutEvents", "sts:AssumeRole"} <= set(WRITES), WRITES


# ---- the policy evaluated ----


def secret(region="eu-west-1", account=MEMBER):
    return f"arn:aws:secretsmanager:{region}:{account}:secret:ci/prod/deployer-AbCdEf"


CASES = [
    ("listing the secrets", "secretsmanager:ListSecrets", "*", {}, True),
    ("reading 20 values at once", "secretsmanager:BatchGetSecretValue", "*", {}, True),
    ("each secret of the batch", "secretsmanager:GetSecretValue", SECRET, {}, True),
    ("a secret of another Region of the account", "secretsmanager:GetSecretValue", secret("us-east-1"), {}, True),
    ("a stray AWSPENDING's date", "secretsmanager:ListSecretVersionIds", SECRET, {}, True),
    ("a secret of another account", "secretsmanager:GetSecretValue", secret(account="777788889999"), {}, False),
    ("the user a secret names", "iam:GetUser", USER, {}, True),
    ("its keys", "iam:ListAccessKeys", USER, {}, True),
    ("a key's last use", "iam:GetAccessKeyLastUsed", USER, {}, True),
    ("a user at the root path", "iam:GetUser", f"arn:aws:iam::{MEMBER}:user/ci", {}, True),
    ("a user of another account", "iam:GetUser", USER.replace(MEMBER, "777788889999"), {}, False),
    ("the enabled Regions", "account:ListRegions", f"arn:aws:account::{MEMBER}:account", {}, True),
    ("a value under a customer managed key", "kms:Decrypt", KEY, VIA_SECRETS_MANAGER, True),
    ("decrypting directly", "kms:Decrypt", KEY, {}, False),
    ("decrypting through another service", "kms:Decrypt", KEY, {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}, False),
    ("encrypting through Secrets Manager", "kms:GenerateDataKey", KEY, VIA_SECRETS_MANAGER, False),
    ("users on a path (--user-path: one account, own credentials)", "iam:ListUsers", USER, {}, False),
    ("describing a secret (rotate, unstick: not scan)", "secretsmanager:DescribeSecret", SECRET, {}, False),
    ("the organization's accounts (the caller's call)", "organizations:ListAccounts", "*", {}, False),
]


@pytest.mark.parametrize("what, action_, resource, context, expected", CASES,
                         ids=[f"{c[1]}: {c[0]}" for c in CASES])
def test_the_role_reads_what_scan_reads_and_nothing_more(what, action_, resource, context, expected):
    assert allowed_by(policy(load()), action_, resource, context, PARAMETERS) is expected, what


RESOURCES = [SECRET, USER, KEY, "*", f"arn:aws:events:eu-west-1:{MEMBER}:event-bus/default",
             f"arn:aws:iam::{MEMBER}:role/iam-key-rotator-member"]


@pytest.mark.parametrize("write", WRITES)
def test_every_write_the_code_makes_is_denied(write):
    context = {**VIA_SECRETS_MANAGER, "sts:ExternalId": EXTERNAL_ID}
    for resource in RESOURCES:
        assert not allowed_by(policy(load()), write, resource, context, PARAMETERS), (write, resource)


def test_the_proof_fails_without_the_kms_condition():
    broken = mutate(KMS + ["Condition"], KeyError)
    assert allowed_by(policy(broken), "kms:Decrypt", KEY, {}, PARAMETERS) is True


@pytest.mark.parametrize("arn, accepted", [
    (SCANNER, True),
    (f"arn:aws:iam::{MANAGEMENT}:role/fleet-scan", True),
    (f"arn:aws:iam::{MANAGEMENT}:user/ops/alice", True),
    (f"arn:aws-us-gov:iam::{MANAGEMENT}:role/fleet-scan", True),
    (f"arn:aws:iam::{MANAGEMENT}:root", False),
    (f"arn:aws:sts::{MANAGEMENT}:assumed-role/AWSReservedSSO_Audit_0123abcd/alice", False),
    (f"arn:aws:iam::{MANAGEMENT}:role/*", False),
    ("*", False),
])
def test_the_principal_is_one_role_or_user(arn, accepted):
    pattern = load()["Parameters"]["ScannerPrincipalArn"]["AllowedPattern"]
    assert (re.fullmatch(pattern, arn) is not None) is accepted


def mutate(path, value):
    return mutate_template(path, value, load())


ROLE = ["Resources", "ScannerRole", "Properties"]
TRUST = ROLE + ["AssumeRolePolicyDocument", "Statement"]
STATEMENTS = ROLE + ["Policies", 0, "PolicyDocument", "Statement"]
LIST, SECRETS, KMS, USERS = (STATEMENTS + [i] for i in range(4))


@pytest.mark.parametrize("check, path, value", [
    (check_trust, TRUST + [0, "Condition"], KeyError),
    (check_trust, TRUST + [0, "Principal"], {"AWS": f"arn:aws:iam::{MANAGEMENT}:root"}),
    (check_trust, TRUST, [role(load())["AssumeRolePolicyDocument"]["Statement"][0],
                          {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
    (check_trust, ROLE + ["MaxSessionDuration"], 43200),
    (check_policy_is_the_scan_reads, USERS + ["Action"], ["iam:GetUser", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:ListUsers"]),
    (check_policy_is_the_scan_reads, SECRETS + ["Action"], ["secretsmanager:*"]),
    (check_policy_is_the_scan_reads, SECRETS + ["Action"], ["secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds", "secretsmanager:PutSecretValue"]),
    (check_policy_is_the_scan_reads, SECRETS + ["Resource"], "*"),
    (check_policy_is_the_scan_reads, USERS + ["Resource"], {"Fn::Sub": "arn:${AWS::Partition}:iam::*:user/*"}),
    (check_policy_is_the_scan_reads, LIST + ["Action"], ["secretsmanager:ListSecrets"]),
    (check_kms_only_through_secrets_manager, KMS + ["Condition"], KeyError),
    (check_kms_only_through_secrets_manager, KMS + ["Condition", "StringLike", "kms:ViaService"], "*"),
    (check_parameters, ["Parameters", "ExternalId", "Default"], "x"),
    (check_parameters, ["Parameters", "ExternalId", "NoEcho"], True),
    (check_parameters, ["Parameters", "RoleName", "Default"], "OrganizationAccountAccessRole"),
    (check_outputs, ["Outputs", "ScannerRoleArn", "Value"], {"Fn::GetAtt": ["ScannerRole", "RoleId"]}),
])
def test_each_check_fails_on_a_broken_template(check, path, value):
    with pytest.raises((AssertionError, KeyError, ValueError, TypeError)):
        check(mutate(path, value))


def test_cfn_lint_passes_and_fails_on_a_broken_copy(tmp_path):
    result = cfn_lint(TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "scanner-role.yaml"
    broken.write_text(TEMPLATE.read_text().replace("!GetAtt ScannerRole.Arn", "!GetAtt ScannerRoel.Arn"))
    assert cfn_lint(broken).returncode != 0
