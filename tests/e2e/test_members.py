"""Cross-account rotation end to end (contract §17): the function and the secrets in the central
account, the users in two member accounts, each reached through its member role (member-role.yaml,
rendered and made by that account's admin) with the external id; RotateSecret over HTTP, the
function under `cargo lambda watch`, moto with our layer (stack/accounts.py decides AssumeRole as
AWS does). Each way into a member account that fails is refused, naming the account and the
role, with nothing changed."""

import pytest

from stack.harness import World
from stack.members import (EXTERNAL_ID, MEMBER_A, MEMBER_B, MEMBER_C, ROLE_NAME, deploy_member_role,
                           member_env, principal_of)

MEMBER_DISTRUSTING, MEMBER_OTHER_ID, MEMBER_NO_PERMISSION = "444444444444", "555555555555", "666666666666"


@pytest.fixture(scope="module")
def members(stack, functions):
    """The member roles: deployed in A and B (and for the permission case), missing in C, trusting
    someone else in one account, expecting another external id in another."""
    function = functions("retire", env=member_env())
    for account in (MEMBER_A, MEMBER_B, MEMBER_NO_PERMISSION):
        deploy_member_role(stack, account, principal_of(function))
    deploy_member_role(stack, MEMBER_DISTRUSTING, "arn:aws:iam::999999999999:role/someone-else")
    deploy_member_role(stack, MEMBER_OTHER_ID, principal_of(function), external_id="another-id")
    return function


def member_world(world, account):
    member = World(world.stack, account)
    member.secret_material = world.secret_material  # one leak scan for all
    return member


def member_secret(world, account, keys=1, bind=True):
    """A user with `keys` keys in `account`, and a central secret naming it with AccountId."""
    member = member_world(world, account)
    user, created = member.user(keys=keys)
    value = {"UserName": user, "AccountId": account, **(created[0] if created else {})}
    secret = member.secret(value, bind=bind)
    return member, user, secret, created[0]["AccessKeyId"] if created else None


def assume_role_calls(stack):
    return sum(1 for call in stack.call("GET", "/_layer/calls") if call["action"] == "AssumeRole")


def test_users_in_two_member_accounts_are_rotated_through_rotate_secret(members, world):
    function = members
    before = assume_role_calls(world.stack)
    rotated = []
    for account in (MEMBER_A, MEMBER_B):
        member, user, secret, first_key = member_secret(world, account)
        rotated.append((member, user, secret, first_key))
    for _ in range(2):
        for i, (member, user, secret, old_key) in enumerate(rotated):
            record = world.rotate(secret, function)
            assert record["outcome"] == "succeeded", record
            member.check_invariants(secret, user, old_key, "retire")
            rotated[i] = (member, user, secret, world.key_of(secret))
    for member, user, secret, _ in rotated:
        # The user is the member account's: the central account has none of that name.
        assert member.iam.get_user(UserName=user)["User"]["Arn"].startswith(f"arn:aws:iam::{member_account(member)}:")
        assert user not in [u["UserName"] for u in world.iam.list_users()["Users"]]
        assert world.value(secret)["AccountId"] == member_account(member), "the value keeps its AccountId"
    # One session per account, kept by the warm function across its four rotations.
    assert assume_role_calls(world.stack) - before <= 2


def member_account(member):
    return member.iam.get_user()["User"]["Arn"].split(":")[4]


REFUSALS = [
    ("no member role in the account", MEMBER_C, "MemberRoleRefused"),
    ("a trust policy that does not trust the function", MEMBER_DISTRUSTING, "MemberRoleRefused"),
    ("another external id", MEMBER_OTHER_ID, "MemberRoleRefused"),
    ("no sts:AssumeRole for the function", MEMBER_NO_PERMISSION, "MemberRoleRefused"),
    ("no member role configured", MEMBER_A, "CrossAccountNotConfigured"),
]


@pytest.mark.parametrize("case, account, problem", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_each_refusal_names_the_account_and_the_role_and_changes_nothing(members, functions, world,
                                                                        case, account, problem):
    function = members if problem != "CrossAccountNotConfigured" else functions("retire")
    member, user, secret, key = member_secret(world, account)
    keys_before, current_before = member.keys(user), world.value(secret)
    if case.startswith("no sts:AssumeRole"):
        function.set_actions([a for a in function.actions if a != "sts:AssumeRole"])
    try:
        record = world.rotate(secret, function)
    finally:
        function.set_actions(function.actions)
    assert record["outcome"] == "failed", record
    failed = record["steps"][-1]
    assert failed["step"] == "createSecret" and failed["errorType"] == f"Permanent.{problem}", failed
    assert account in failed["errorMessage"], failed
    if problem == "MemberRoleRefused":
        assert f"arn:aws:iam::{account}:role/{ROLE_NAME}" in failed["errorMessage"], failed
        assert EXTERNAL_ID not in failed["errorMessage"], "the external id is not shown"
    assert member.keys(user) == keys_before, "no key made, changed or removed"
    assert world.value(secret) == current_before and world.key_of(secret) == key


def test_a_member_user_its_administrator_did_not_bind_is_refused(members, world):
    member, user, secret, key = member_secret(world, MEMBER_A, bind=False)
    # Bound in the central account instead: a namesake there counts for nothing.
    world.iam.create_user(UserName=user, Path="/svc/")
    world.bind(user, secret)
    record = world.rotate(secret, members)
    assert record["steps"][-1]["errorType"] == "Permanent.UserNotBound", record
    assert MEMBER_A in record["steps"][-1]["errorMessage"]
    assert list(member.keys(user)) == [key]
    assert world.keys(user) == {}


def test_the_sweep_retires_a_member_accounts_previous_key(members, world):
    function = members
    member, user, secret, first_key = member_secret(world, MEMBER_B)
    assert world.rotate(secret, function)["outcome"] == "succeeded"
    member.check_invariants(secret, user, first_key, "retire")
    world.stack.age(25)
    report = world.stack.sweep(function)
    assert report["deactivated"] >= 1 and report["failed"] == 0, report
    assert member.keys(user)[first_key] == "Inactive"
    assert member.keys(user)[world.key_of(secret)] == "Active"
