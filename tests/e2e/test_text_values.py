"""Source secrets that hold a credentials-file or dotenv text (issue 23), rotated end to end through
RotateSecret: the function finds the user as the key's owner (GetAccessKeyLastUsed over the real
SDK), writes the new key in the same text with every other line kept, and a consumer that reads the
text as a deploy job would gets a working key."""

import configparser
import json

import pytest

from stack.harness import unique


def credentials(key, secret):
    return ("# written by the deploy job\n[tools]\nregion = eu-west-1\n\n"
            f"[ci]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\nregion = us-east-1\n")


def dotenv(key, secret):
    return f"LOG_LEVEL=info\nexport AWS_ACCESS_KEY_ID=\"{key}\"\nAWS_SECRET_ACCESS_KEY={secret}\n"


def read_pair(text, form):
    """The pair as a consumer's tool reads the text: botocore's parser, or a dotenv loader's rule."""
    if form is credentials:
        parser = configparser.RawConfigParser()
        parser.read_string(text)
        return parser["ci"]["aws_access_key_id"], parser["ci"]["aws_secret_access_key"]
    pairs = dict(line.removeprefix("export ").split("=", 1) for line in text.splitlines())
    return pairs["AWS_ACCESS_KEY_ID"].strip('"'), pairs["AWS_SECRET_ACCESS_KEY"]


def text_secret(world, form, key, bind):
    """A secret holding `key` as the text `form` writes, its user bound to it if `bind`."""
    name = unique("app/prod/deploy-text")
    text = form(key["AccessKeyId"], key["SecretAccessKey"])
    world.secret_material.add(text)
    world.sm.create_secret(Name=name, SecretString=text)
    if bind:
        world.bind(bind, name)
    return name, text


@pytest.mark.parametrize("form", [credentials, dotenv], ids=["credentials-file", "dotenv"])
def test_a_text_secret_is_rotated_in_its_own_format(functions, world, form):
    function = functions("keep")
    user, (key,) = world.user(keys=1)
    name, text = text_secret(world, form, key, bind=user)

    record = world.rotate(name, function)
    assert record["outcome"] == "succeeded", json.dumps(record["steps"], indent=1)

    new_text = world.sm.get_secret_value(SecretId=name)["SecretString"]
    new_id, new_secret = read_pair(new_text, form)
    world.secret_material |= {new_text, new_secret}
    assert new_id != key["AccessKeyId"]
    assert new_text == form(new_id, new_secret), "every other line kept"
    assert (world.authenticates(new_id, new_secret) or "").endswith(f"/{user}"), "a consumer reading the text gets a working key"
    assert set(world.keys(user)) == {key["AccessKeyId"], new_id}, "keep: the old key stays"
    previous = world.sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"]
    assert previous == text
    assert key["SecretAccessKey"] not in function.logs() and new_secret not in function.logs()


def test_a_text_holding_an_unbound_user_s_key_is_refused(functions, world):
    function = functions("keep")
    user, (key,) = world.user(keys=1)
    name, _ = text_secret(world, dotenv, key, bind=None)
    record = world.rotate(name, function)
    assert record["outcome"] == "failed"
    assert record["steps"][-1]["errorType"] == "Permanent.UserNotBound", record["steps"][-1]
    assert user in record["steps"][-1]["errorMessage"], "the key's owner is named"
    assert set(world.keys(user)) == {key["AccessKeyId"]}, "no key made"
