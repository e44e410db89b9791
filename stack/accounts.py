"""Several accounts in one moto server (contract §17), and what our layer changes there.

Moto keeps a backend per account and picks it by the request's access key: an IAM user's key
selects the user's account, the key of an assumed role the role's account. So an admin per
account (POST /_layer/admin {"account"}) reaches that account, and the function, signing with its
own key, reaches a member account through sts:AssumeRole, as in AWS.

10. sts:AssumeRole is decided as AWS decides it. Moto assumes any role ARN, even one that does
    not exist, for any caller, with any external id. The layer answers AccessDenied, with AWS's
    message, unless the role exists and one Allow statement of its trust policy names the caller
    (its ARN, its role's ARN for an assumed-role session, or its account) with sts:AssumeRole, and
    every condition of that statement holds. The conditions understood are StringEquals and
    StringLike on sts:ExternalId and aws:PrincipalArn; any other fails closed. A test may shorten
    the session a role gives (POST /_layer/config {"session_seconds": N}: the answer's Expiration
    is N seconds away) to see a client renew it; moto itself never expires a session.

11. account:ListRegions, which moto does not serve: the Regions AWS enables by default
    (ENABLED_BY_DEFAULT) and the opt-in ones (DISABLED), with RegionOptStatusContains as a filter.
    A test may say which Regions an account has enabled (POST /_layer/config {"enabled_regions":
    {account: [Region, ...]}}): those are ENABLED there, every other DISABLED.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
from typing import Any

import moto.account.urls
from moto.account.responses import AccountResponse
from moto.iam.models import iam_backends
from moto.sts.exceptions import STSClientError
from moto.sts.models import sts_backends
from moto.sts.responses import TokenResponse

ORIGINAL: dict[str, Any] = {}

DEFAULT_REGIONS = ["ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1",
                   "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2",
                   "eu-west-3", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2"]
OPT_IN_REGIONS = ["af-south-1", "ap-east-1", "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ca-west-1",
                  "eu-central-2", "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1"]
# Test support: account -> the Regions it has enabled (the others DISABLED).
ENABLED_REGIONS: dict[str, list[str]] = {}
# Test support: how long an AssumeRole session says it lasts (None: what moto says, an hour), so
# that a test sees a client renew its session before it expires.
SESSION: dict[str, float | None] = {"seconds": None}


def configure(settings: dict[str, Any]) -> None:
    ENABLED_REGIONS.update(settings.get("enabled_regions", {}))
    if "session_seconds" in settings:
        SESSION["seconds"] = settings["session_seconds"]


def list_regions(self: AccountResponse) -> str:
    account = self._get_param("AccountId") or self.current_account
    wanted = self._get_param("RegionOptStatusContains") or []
    enabled = ENABLED_REGIONS.get(account)
    regions = []
    for name in DEFAULT_REGIONS + OPT_IN_REGIONS:
        if enabled is not None:
            status = "ENABLED" if name in enabled else "DISABLED"
        else:
            status = "ENABLED_BY_DEFAULT" if name in DEFAULT_REGIONS else "DISABLED"
        if not wanted or status in wanted:
            regions.append({"RegionName": name, "RegionOptStatus": status})
    return json.dumps({"Regions": regions})


def iam_backend(account: str) -> Any:
    return iam_backends[account]["global"]


def caller_arn(access_key_id: str) -> str | None:
    """Who signed with this key: an IAM user's ARN, or the role ARN of an assumed-role session."""
    for account, partitions in list(iam_backends.items()):
        user = partitions["global"].get_user_from_access_key_id(access_key_id)
        if user is not None:
            return user.arn
        assumed = sts_backends[account]["aws"].get_assumed_role_from_access_key(access_key_id)
        if assumed is not None:
            return assumed.role_arn
    return None


def names(principal: Any, caller: str) -> bool:
    """Whether a trust policy's Principal names the caller: its ARN, or its account (by id or
    root ARN, which AWS reads as "whoever that account's policies allow")."""
    aws = principal.get("AWS", []) if isinstance(principal, dict) else principal
    values = aws if isinstance(aws, list) else [aws]
    account = caller.split(":")[4]
    return any(v in (caller, account, f"arn:aws:iam::{account}:root") for v in values)


def condition_holds(conditions: dict[str, Any], context: dict[str, str | None]) -> bool:
    for operator, pairs in conditions.items():
        for key, expected in pairs.items():
            expected = expected if isinstance(expected, list) else [expected]
            found = next((v for k, v in context.items() if k.lower() == key.lower()), None)
            if found is None:
                return False
            if operator == "StringEquals" and found not in expected:
                return False
            if operator == "StringLike" and not any(fnmatch.fnmatchcase(found, e) for e in expected):
                return False
            if operator not in ("StringEquals", "StringLike"):
                return False
    return True


def trusts(role: Any, caller: str, external_id: str | None) -> bool:
    document = role.assume_role_policy_document
    policy = json.loads(document) if isinstance(document, str) else document
    statements = policy.get("Statement", [])
    context = {"sts:ExternalId": external_id, "aws:PrincipalArn": caller}
    for s in statements if isinstance(statements, list) else [statements]:
        actions = s.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if s.get("Effect") != "Allow" or "sts:AssumeRole" not in actions:
            continue
        if names(s.get("Principal", {}), caller) and condition_holds(s.get("Condition", {}), context):
            return True
    return False


def assume_role(self: TokenResponse) -> Any:
    role_arn = self._get_param("RoleArn") or ""
    caller = caller_arn(self.get_access_key()) or "anonymous"
    parts = role_arn.split(":")
    role = None
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
        try:
            role = iam_backend(parts[4]).get_role_by_arn(role_arn)
        except Exception:  # noqa: BLE001 - moto raises its NotFound for a missing role
            role = None
    if role is None or not trusts(role, caller, self._get_param("ExternalId")):
        # AWS gives one answer for a missing role, a refusing trust policy and a wrong external
        # id, so that the caller learns nothing of the other account.
        raise STSClientError(
            "AccessDenied",
            f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        )
    answer = ORIGINAL["assume_role"](self)
    credentials = getattr(answer, "result", {}).get("Credentials")
    if SESSION["seconds"] and credentials is not None:
        # moto's session object dates its own end; the answer is rendered from it.
        now = datetime.datetime.now(credentials.expiration.tzinfo)
        credentials.expiration = now + datetime.timedelta(seconds=SESSION["seconds"])
    return answer


def install() -> None:
    if ORIGINAL:
        return
    ORIGINAL["assume_role"] = TokenResponse.assume_role
    TokenResponse.assume_role = assume_role
    AccountResponse.list_regions = list_regions
    moto.account.urls.url_paths["{0}/listRegions$"] = AccountResponse.dispatch
