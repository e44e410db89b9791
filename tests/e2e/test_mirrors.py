"""Mirrors (issue 23, §19) end to end: RotateSecret through the stack, the function under `cargo
lambda watch` writing the new key over the real SDK to the seed's split layout (one secret per
field), to an SSM SecureString parameter (moto serves SSM), and to a dotenv and a JSON secret, each
only when the source's bound user names it and it claims the source; a consumer that reads a mirror
moves to the new key; the sweep repairs a mirror written by hand."""

import json
import uuid

from stack.estate import KMS_KEY, Estate
from stack.harness import REGION, unique

def test_the_split_layout_and_a_parameter_receive_the_new_key(functions, world):
    function = functions("delete")
    user, (key,) = world.user(keys=1)
    estate = Estate(world, user, key)
    # Each format a consumer reads: a dotenv text (another variable beside the key, and a stale
    # session token the write removes) and JSON in our first naming (another field kept).
    token = unique("stale-session-token")
    world.secret_material.add(token)
    dotenv = estate.mirror_secret(unique("app/prod/dotenv"), "dotenv", (
        f"AWS_REGION={REGION}\nAWS_ACCESS_KEY_ID={key['AccessKeyId']}\n"
        f"AWS_SECRET_ACCESS_KEY={key['SecretAccessKey']}\nAWS_SESSION_TOKEN={token}\n"))
    as_json = estate.mirror_secret(unique("app/prod/json"), "json", json.dumps(
        {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"], "Region": REGION}))
    estate.name(estate.id_field, estate.secret_field, estate.parameter_arn, dotenv, as_json)

    record = world.rotate(estate.source, function)
    assert record["outcome"] == "succeeded", json.dumps(record["steps"], indent=1)
    world.check_invariants(estate.source, user, key["AccessKeyId"], "delete")
    new = world.value(estate.source)
    # A consumer reading the two field secrets, as it did before, gets the new working key.
    key_id, secret = estate.field(estate.id_field), estate.field(estate.secret_field)
    assert (key_id, secret) == (new["AccessKeyId"], new["SecretAccessKey"])
    assert (world.authenticates(key_id, secret) or "").endswith(f"/{user}")
    # The parameter keeps its other lines, its type and the key the administrator named.
    text, parameter_id, parameter_secret = estate.credentials()
    assert (parameter_id, parameter_secret) == (key_id, secret)
    assert text.endswith(f"region = {REGION}\n")
    (described,) = estate.ssm.describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [estate.parameter]}])["Parameters"]
    assert (described["Type"], described["KeyId"]) == ("SecureString", KMS_KEY)
    # The dotenv text: the new pair, the other variable kept, the stale token's line gone.
    assert estate.field(dotenv) == (
        f"AWS_REGION={REGION}\nAWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret}\n")
    # The JSON: the new pair in our first naming, the other field kept.
    assert json.loads(estate.field(as_json)) == {"AccessKeyId": key_id, "SecretAccessKey": secret, "Region": REGION}
    written = [e for e in world.lifecycle_events() if e["detail-type"] == "Mirror Written"]
    assert {e["detail"]["mirrorArn"] for e in written} == {
        estate.id_field, estate.secret_field, estate.parameter_arn, dotenv, as_json}
    assert secret not in function.logs()


def test_an_unnamed_claim_is_untouched_and_an_unagreed_target_keeps_the_previous_key(functions, world):
    function = functions("delete")
    user, (key,) = world.user(keys=1)
    estate = Estate(world, user, key)
    # An attacker's own secret claims the source; the user names a secret that claims nothing,
    # and one in another Region.
    # Their values are no key: a placeholder each, which no log may show either.
    placeholder = json.dumps({"note": unique("placeholder")})
    theirs = estate.mirror_secret(unique("attacker/inbox"), "json", placeholder)
    unclaimed = estate.mirror_secret(unique("app/prod/unclaimed"), "json", placeholder, claim=False)
    elsewhere = estate.id_field.replace(f":{REGION}:", ":eu-west-1:")
    estate.name(estate.id_field, unclaimed, elsewhere)

    record = world.rotate(estate.source, function)
    assert record["outcome"] == "failed"
    last = record["steps"][-1]
    assert (last["step"], last["errorType"]) == ("finishSecret", "Transient.MirrorNotWritten"), last
    assert unclaimed in last["errorMessage"] and elsewhere in last["errorMessage"]
    new_id = world.key_of(estate.source)
    assert new_id != key["AccessKeyId"], "the promotion stands"
    assert estate.field(estate.id_field) == new_id, "the agreed mirror has the new key"
    assert estate.field(theirs) == placeholder and estate.field(unclaimed) == placeholder
    assert world.keys(user).get(key["AccessKeyId"]) == "Active", "the previous key is kept"
    not_written = [e for e in world.lifecycle_events() if e["detail-type"] == "Mirror Not Written"]
    assert {e["detail"]["mirrorArn"] for e in not_written} >= {unclaimed, elsewhere}


def test_the_sweep_repairs_a_mirror_written_by_hand(stack, functions, world):
    function = functions("keep")
    user, (key,) = world.user(keys=1)
    estate = Estate(world, user, key)
    estate.name(estate.id_field, estate.parameter_arn)
    assert world.rotate(estate.source, function)["outcome"] == "succeeded"
    world.sm.put_secret_value(SecretId=estate.id_field, SecretString="AKIAWRITTENBYHAND000")
    report = stack.sweep(function)
    assert report["mirrors_repaired"] == 1, report
    assert estate.field(estate.id_field) == world.key_of(estate.source)
    repaired = [e for e in world.lifecycle_events() if e["detail-type"] == "Mirror Repaired"]
    assert [e["detail"]["mirrorArn"] for e in repaired] == [estate.id_field]


def test_a_crash_at_any_request_of_finish_secret_then_a_sweep_and_the_retry_converge(stack, functions, world):
    """The crash matrix over the mirror writes against the stack: the function dies at every
    request of finishSecret (the promotion, the mirror pass, the previous key's deletion), before
    it is sent and after its effect. The next sweep brings every mirror to AWSCURRENT, Secrets
    Manager's retry completes the rotation, and no mirror ever held a key the user lacks."""
    function = functions("delete", timeout=5)

    def prepared():
        user, (key,) = world.user(keys=1)
        estate = Estate(world, user, key)
        estate.name(estate.id_field, estate.parameter_arn)
        token = str(uuid.uuid4())
        stack.call("POST", "/_layer/start", {"secret": estate.source, "token": token, "function_arn": function.arn})
        for step in ["createSecret", "setSecret", "testSecret"]:
            assert function.invoke({"Step": step, "SecretId": estate.source, "ClientRequestToken": token}) is None
        return user, key, estate, token

    def finish(estate, token):
        return function.invoke({"Step": "finishSecret", "SecretId": estate.source, "ClientRequestToken": token})

    user, key, estate, token = prepared()
    before = len(stack.call("GET", "/_layer/calls"))
    assert finish(estate, token) is None
    actions = [c["action"] for c in stack.call("GET", "/_layer/calls")[before:]]
    # The promotion's requests are the whole matrix's (test_crash_matrix.py); here, the mirror
    # pass's and the previous key's: each before it is sent, and a change after its effect too.
    # (The fake runs every cell of every step: crates/rotator/tests/mirror_crash.rs.)
    first = actions.index("UpdateSecretVersionStage") + 1
    changes = {"PutSecretValue", "PutParameter", "DeleteAccessKey", "PutEvents", "GetCallerIdentity"}
    matrix = [(call, False) for call in range(first, len(actions))]
    matrix += [(call, True) for call in range(first, len(actions)) if actions[call] in changes]
    cells = 0
    for call, after_effect in matrix:
        cell = f"finishSecret request {call} ({actions[call]}) {'after its effect' if after_effect else 'before it is sent'}"
        user, key, estate, token = prepared()
        stack.configure(crash={"after_calls": call, "after_effect": after_effect})
        try:
            finish(estate, token)
        finally:
            stack.configure(crash=None)
        keys = world.keys(user)
        _, parameter_id, _ = estate.credentials()
        for held in (estate.field(estate.id_field), parameter_id):
            assert held in keys, f"{cell}: a mirror holds a key the user lacks"
        stack.sweep(function)
        retry = stack.retry(estate.source)
        assert retry["outcome"] == "succeeded", f"{cell}: {retry['steps']}"
        world.check_invariants(estate.source, user, key["AccessKeyId"], "delete")
        current = world.key_of(estate.source)
        assert estate.field(estate.id_field) == current and estate.credentials()[1] == current, cell
        cells += 1
    assert cells >= 20, actions
    print(f"\nmirror writes against the local stack: {cells} cells run, {cells} passed ({len(actions)} requests in finishSecret)")
