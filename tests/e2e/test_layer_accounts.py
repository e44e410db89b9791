"""The layer's accounts (stack/accounts.py): several accounts in one moto, and sts:AssumeRole
decided by the role's trust policy, as AWS does it. Plain moto assumes any role ARN, for anyone,
with any external id: each refusal below would be a success there."""

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from stack.members import member_role_documents

MEMBER = "777777777777"
EXTERNAL_ID = "layer-test-id"


@pytest.fixture(scope="module")
def caller(stack):
    """An IAM user of the default account allowed sts:AssumeRole, its ARN and key; and a role in
    MEMBER that trusts it with EXTERNAL_ID (the member role's documents, rendered)."""
    iam = stack.client("iam")
    iam.create_user(UserName="assumer")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": "*"}]}
    iam.put_user_policy(UserName="assumer", PolicyName="assume", PolicyDocument=json.dumps(policy))
    arn = iam.get_user(UserName="assumer")["User"]["Arn"]
    key = iam.create_access_key(UserName="assumer")["AccessKey"]
    trust, _ = member_role_documents(MEMBER, arn, EXTERNAL_ID)
    member_iam = stack.client("iam", stack.account_admin(MEMBER))
    member_iam.create_role(RoleName="member", AssumeRolePolicyDocument=json.dumps(trust))
    member_iam.put_role_policy(RoleName="member", PolicyName="read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iam:ListUsers"], "Resource": "*"}]}))
    member_iam.create_user(UserName="only-in-the-member-account")
    return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def assume(stack, key, role_arn, external_id=EXTERNAL_ID):
    args = {"RoleArn": role_arn, "RoleSessionName": "test"}
    if external_id is not None:
        args["ExternalId"] = external_id
    return stack.client("sts", key).assume_role(**args)


def test_an_assumed_role_reaches_its_own_account(stack, caller):
    answer = assume(stack, caller, f"arn:aws:iam::{MEMBER}:role/member")
    credentials = answer["Credentials"]
    session = {"AccessKeyId": credentials["AccessKeyId"], "SecretAccessKey": credentials["SecretAccessKey"]}
    iam = boto3.client("iam", endpoint_url=stack.endpoint, region_name="us-east-1", aws_session_token=credentials["SessionToken"],
                       aws_access_key_id=session["AccessKeyId"], aws_secret_access_key=session["SecretAccessKey"])
    users = [u["UserName"] for u in iam.list_users()["Users"]]
    assert "only-in-the-member-account" in users and "assumer" not in users


@pytest.mark.parametrize("case, role, external_id", [
    ("a role that does not exist", "arn:aws:iam::{member}:role/missing", EXTERNAL_ID),
    ("another external id", "arn:aws:iam::{member}:role/member", "guess"),
    ("no external id", "arn:aws:iam::{member}:role/member", None),
    ("an account without the role", "arn:aws:iam::888888888888:role/member", EXTERNAL_ID),
])
def test_assume_role_is_refused_as_aws_refuses_it(stack, caller, case, role, external_id):
    role_arn = role.format(member=MEMBER)
    with pytest.raises(ClientError) as refused:
        assume(stack, caller, role_arn, external_id)
    error = refused.value.response["Error"]
    assert error["Code"] == "AccessDenied", case
    assert f"is not authorized to perform: sts:AssumeRole on resource: {role_arn}" in error["Message"], case


def test_a_caller_the_trust_policy_does_not_name_is_refused(stack, caller):
    # The admin may do anything by its own policy; the role's trust policy names someone else.
    with pytest.raises(ClientError) as refused:
        assume(stack, stack.admin, f"arn:aws:iam::{MEMBER}:role/member")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
