"""Member accounts for the end-to-end tests and the demo (contract §17): the member role of
member-role.yaml, rendered with its parameters and made through the member account's own admin,
as the StackSet would make it there.

Two differences from AWS. In the stack the function signs as an IAM user, not as a Lambda
execution role, so the role trusts that user's ARN where a deployment names the function's role.
And moto checks a call's action against a statement's Resource as if every call were on "*" (it
does not know an IAM call's resource) and knows no aws:ResourceTag condition: the role gets the
template's actions on "*", as the function does (harness.Function.set_actions). The resources and
the tag condition are proven offline (tests/template/test_member_role.py); the trust policy is
made exactly as rendered, and the layer decides AssumeRole by it (stack/accounts.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

from stack.harness import ACCOUNT, ROOT, Function, Stack

ROLE_NAME = "iam-key-rotator-member"
EXTERNAL_ID = "org-rotation-e2e-7f3a"
MEMBER_A, MEMBER_B, MEMBER_C = "111111111111", "222222222222", "333333333333"


def member_env(external_id: str = EXTERNAL_ID) -> dict[str, str]:
    """The function's settings for member accounts (the template's MemberRole* parameters)."""
    return {"MEMBER_ROLE_NAME": ROLE_NAME, "MEMBER_ROLE_EXTERNAL_ID": external_id}


def principal_of(function: Function) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{function.user}"


def render(value: Any, params: dict[str, str]) -> Any:
    """A template value with Ref, Fn::Sub, Fn::Select and Fn::Split resolved from `params`."""
    if isinstance(value, list):
        return [render(v, params) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((kind, body),) = value.items()
        if kind == "Ref":
            return params[body]
        if kind == "Fn::Sub":
            text, variables = (body, {}) if isinstance(body, str) else body
            scope = {**params, **{k: render(v, params) for k, v in variables.items()}}
            return re.sub(r"\$\{([^}]+)\}", lambda m: scope[m[1]], text)
        if kind == "Fn::Select":
            index, items = body
            return render(items, params)[index]
        if kind == "Fn::Split":
            separator, text = body
            return render(text, params).split(separator)
    return {k: render(v, params) for k, v in value.items()}


def member_role_documents(account: str, principal: str, external_id: str,
                          user_path: str = "/") -> tuple[dict[str, Any], dict[str, Any]]:
    """member-role.yaml's trust policy and permission policy, as deployed in `account`."""
    from cfnlint.decode import decode_str

    template, errors = decode_str((ROOT / "member-role.yaml").read_text())
    assert not errors, errors
    params = {"AWS::Partition": "aws", "AWS::AccountId": account, "UserPath": user_path, "CentralRegion": "*",
              "CentralFunctionRoleArn": principal, "ExternalId": external_id}
    role = template["Resources"]["MemberRole"]["Properties"]
    (policy,) = role["Policies"]
    return render(role["AssumeRolePolicyDocument"], params), render(policy["PolicyDocument"], params)


def deploy_member_role(stack: Stack, account: str, principal: str, external_id: str = EXTERNAL_ID,
                       name: str = ROLE_NAME) -> None:
    """The member role in `account`, trusting `principal` with `external_id`."""
    trust, policy = member_role_documents(account, principal, external_id)
    actions = [a for statement in policy["Statement"] for a in statement["Action"]]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    iam = stack.client("iam", stack.account_admin(account))
    iam.create_role(RoleName=name, Path="/", AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=3600)
    iam.put_role_policy(RoleName=name, PolicyName="iam-key-rotator-member", PolicyDocument=json.dumps(policy))
