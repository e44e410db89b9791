"""What our layer changes in moto 5.2.5, and why. Each patch fixes one place where plain moto
differs from AWS in a way the rotation contract depends on (SPEC §3, §14); tests/e2e/test_layer.py
has a test for each.

1. RotateSecret behaves as Secrets Manager does: an empty AWSPENDING placeholder whose id is the
   token; the four steps invoked one after another over HTTP on the function (running under
   `cargo lambda watch`); stop at the first failing step and leave AWSPENDING; no promotion by the
   service itself (only AWSPENDING is removed after success); "a previous rotation isn't complete"
   while AWSPENDING sits on a version that is not AWSCURRENT (moto's check is inverted);
   RotateImmediately=false runs testSecret alone; optionally whole-rotation retries.
   Plain moto promotes by itself without a Lambda, needs Docker with one, and ignores failures.
2. ListSecretVersionIds gives each version's real CreatedDate (moto gives the time of the call),
   to the millisecond as AWS does (moto keeps whole seconds), and a value put into an existing
   version (the rotation's placeholder) leaves its CreatedDate as it was (moto resets it).
3. PutSecretValue onto a version that already holds a different value is refused with
   ResourceExistsException (moto overwrites it silently).
4. A request signed with an Inactive key is rejected with InvalidClientTokenId, as AWS does.
5. An optional emulated propagation delay: a key created while it is set fails authentication
   (InvalidClientTokenId) until it is that many seconds old.
6. Authentication and authorization errors in AWS's wire format. Moto answers every service with
   `<ErrorResponse><Errors><Error>`, which the AWS SDK for Rust cannot read (no error code): IAM and
   STS (query protocol) get `<ErrorResponse><Error>`, Secrets Manager (JSON protocol) a JSON body
   with `__type`, as AWS sends them. testSecret depends on it: it retries InvalidClientTokenId.
7. DescribeSecret and ListSecrets give NextRotationDate while rotation is on, as Secrets Manager
   does (moto leaves it out): the last rotation (or the creation) plus the schedule's interval,
   for rate() schedules and AutomaticallyAfterDays. The fleet command judges overdue rotations by it.
8. AWSCURRENT is where its label is. Moto answers GetSecretValue without a stage or version (how
   consumers read a secret) from the version that was current when a value was last written: after
   UpdateSecretVersionStage moved AWSCURRENT (finishSecret does), it still gave the old key, and a
   later PutSecretValue then left two versions labelled AWSCURRENT.

9. A key's last use is recorded as IAM records it: by requests that authenticated (AccessDenied
   counts, a rejected key or signature does not), with the service and Region of the request's
   credential scope. Moto marks the key before it checks the signature. IAM keeps the first use in
   each span of about 15 minutes and reports it with a delay of up to hours; the layer records
   every use at once, so it shows a key as busy at least as long as AWS would.

10. sts:AssumeRole is decided by the role's trust policy and external id, and several accounts
   live in one server; 11. account:ListRegions is served: see stack/accounts.py.

RotateSecret runs the rotation synchronously, inside the request, so a caller knows the outcome
when the call returns; the outcome of every rotation is kept and served at GET /_layer/rotations.
"""

from __future__ import annotations

import datetime
import html
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.core.utils import utcnow
from moto.iam.access_control import CreateAccessKeyFailure, IAMUserAccessKey
from moto.iam.models import AccessKeyLastUsed
from moto.secretsmanager.exceptions import (
    InvalidRequestException,
    ResourceExistsException,
    SecretNotFoundException,
)
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend

STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"]


@dataclass
class LayerState:
    """The layer's own settings and records, changed through POST /_layer/config."""

    # Where `cargo lambda watch` serves each function: {function name: base URL}; "*" for any.
    lambda_endpoints: dict[str, str] = field(default_factory=dict)
    propagation_delay: float = 0.0
    delay_since: float = 0.0
    rotation_retries: int = 0
    rotations: list[dict[str, Any]] = field(default_factory=list)
    # Every AWS request served: {"key", "service", "action", "at"}, to count a function's calls.
    calls: list[dict[str, str]] = field(default_factory=list)
    # Faults to inject, first match first: {"action", "kind": throttle|5xx|slow|reset|lost, "count",
    # "seconds"}. "lost": the call takes effect, then its answer is lost (a 500 instead).
    faults: list[dict[str, Any]] = field(default_factory=list)
    # A process crash to emulate: {"after_calls": N, "after_effect": bool}; see crash_decision.
    crash: dict[str, Any] | None = None
    # The RotationTokens sent, so tests can prove none reaches a log. Served to tests only.
    rotation_tokens: list[str] = field(default_factory=list)
    # IAM's reporting lag for a key's last use, in hours (see 9).
    report_lag_hours: float = 0.0
    # Seconds every AWS request takes on the wire, as a round trip to AWS from outside it: a sleep
    # in the request's own thread, so other requests are served meanwhile (server.make_app). The
    # layer's own /_layer endpoints are not delayed.
    latency_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, settings: dict[str, Any]) -> None:
        if "lambda_endpoint" in settings:
            self.lambda_endpoints["*"] = settings["lambda_endpoint"].rstrip("/")
        for name, url in settings.get("lambda_endpoints", {}).items():
            self.lambda_endpoints[name] = url.rstrip("/")
        if "propagation_delay" in settings:
            self.propagation_delay = float(settings["propagation_delay"])
            self.delay_since = time.time()
        if "rotation_retries" in settings:
            self.rotation_retries = int(settings["rotation_retries"])
        if "faults" in settings:
            self.faults = [dict(f) for f in settings["faults"]]
        if "crash" in settings:
            self.crash = dict(settings["crash"], dead=False) if settings["crash"] else None
        if "report_lag_hours" in settings:
            self.report_lag_hours = float(settings["report_lag_hours"])
        if "latency_seconds" in settings:
            self.latency_seconds = max(0.0, float(settings["latency_seconds"]))

    def reset(self) -> None:
        endpoints = self.lambda_endpoints
        self.__init__()  # type: ignore[misc]
        self.lambda_endpoints = endpoints


STATE = LayerState()


# ---- 1. RotateSecret as Secrets Manager does it ----


def invoke(function_arn: str, event: dict[str, Any]) -> dict[str, Any] | None:
    """Invokes the rotation function through the Lambda Invoke API that `cargo lambda watch`
    serves. Returns None on success, else the function's error (errorType, errorMessage)."""
    return call_function(function_arn, event)[1]


def call_function(function_arn: str, event: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    """Invokes the function; returns its answer (parsed JSON) and its error, one of them None."""
    name = function_arn.split(":function:")[-1].split(":")[0]
    base = STATE.lambda_endpoints.get(name) or STATE.lambda_endpoints.get("*")
    if not base:
        return None, {"errorType": "Layer.NoFunction", "errorMessage": f"no endpoint for function {name}"}
    # `cargo lambda watch` serves the binary under its own name.
    request = urllib.request.Request(
        f"{base}/2015-03-31/functions/iam-key-rotator/invocations",
        data=json.dumps(event).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=900) as response:
            body = response.read().decode(errors="replace")
            try:
                return json.loads(body) if body else None, None
            except ValueError:
                return body, None
    except urllib.error.HTTPError as error:
        body = error.read().decode(errors="replace")
        try:
            return None, json.loads(body)
        except ValueError:
            return None, {"errorType": f"Layer.HTTP{error.code}", "errorMessage": body[:500]}
    except OSError as error:
        return None, {"errorType": "Layer.Unreachable", "errorMessage": str(error)}


def run_steps(secret: FakeSecret, token: str, steps: list[str], record: dict[str, Any]) -> bool:
    rotation_token = str(uuid.uuid4())
    STATE.rotation_tokens.append(rotation_token)
    for step in steps:
        event = {
            "Step": step,
            "SecretId": secret.arn,
            "ClientRequestToken": token,
            # As Secrets Manager sends it; secret material, never logged.
            "RotationToken": rotation_token,
        }
        error = invoke(secret.rotation_lambda_arn, event)
        record["steps"].append({"step": step, "ok": error is None, **(error or {})})
        if error is not None:
            return False
    return True


def rotate_secret(
    self: SecretsManagerBackend,
    secret_id: str,
    client_request_token: str | None = None,
    rotation_lambda_arn: str | None = None,
    rotation_rules: dict[str, Any] | None = None,
    rotate_immediately: bool = True,
) -> str:
    if not self._is_valid_identifier(secret_id):
        raise SecretNotFoundException()
    secret = self.secrets[secret_id]
    if secret.is_deleted():
        raise InvalidRequestException("You can't perform this operation on a secret that's marked for deletion.")
    if pending_token(secret) is not None:
        raise InvalidRequestException(
            "A previous rotation isn't complete. That rotation will be reattempted."
        )
    if rotation_lambda_arn:
        secret.rotation_lambda_arn = rotation_lambda_arn
    if not getattr(secret, "rotation_lambda_arn", None):
        raise InvalidRequestException("No Lambda rotation function ARN is associated with this secret.")
    if rotation_rules:
        secret.layer_rotation_rules = rotation_rules
        secret.auto_rotate_after_days = rotation_rules.get("AutomaticallyAfterDays", 0)
    secret.rotation_requested = True
    secret.rotation_enabled = True

    token = start_rotation(secret, client_request_token)
    run_rotation(secret, token, rotate_immediately)
    return secret.to_short_dict(version_id=token)


def start_rotation(secret: FakeSecret, client_request_token: str | None) -> str:
    """What Secrets Manager does before createSecret: a version with no value, labelled
    AWSPENDING, whose id is the token. Its CreatedDate is when the rotation started."""
    token = client_request_token or str(uuid.uuid4())
    if token in secret.versions and "AWSPENDING" not in secret.versions[token]["version_stages"]:
        raise InvalidRequestException(f"Version {token} already exists and is not pending.")
    secret.remove_version_stages_from_old_versions(["AWSPENDING"])
    version = secret.versions.setdefault(
        token, {"version_id": token, "createdate": time.time(), "version_stages": []}
    )
    version["version_stages"] = sorted(set(version["version_stages"]) | {"AWSPENDING"})
    return token


def run_rotation(secret: FakeSecret, token: str, rotate_immediately: bool = True) -> dict[str, Any]:
    """The steps, stopping at the first failure; the whole rotation again, with the same token, as
    many times as `rotation_retries` says. Returns the record of the rotation."""
    steps = STEPS if rotate_immediately else ["testSecret"]
    record: dict[str, Any] = {
        "secret": secret.name, "token": token, "rotate_immediately": rotate_immediately,
        "attempts": 0, "steps": [], "outcome": None, "started": time.time(), "ended": None,
    }
    with STATE.lock:
        STATE.rotations.append(record)
    ok = False
    for _ in range(1 + STATE.rotation_retries):
        record["attempts"] += 1
        if run_steps(secret, token, steps, record):
            ok = True
            break
    record["outcome"] = "succeeded" if ok else "failed"
    record["ended"] = time.time()

    if not rotate_immediately:
        # The temporary test version goes, whatever the outcome.
        version = secret.versions.get(token)
        if version is not None and "AWSCURRENT" not in version["version_stages"]:
            del secret.versions[token]
    elif ok:
        # The service removes AWSPENDING after a successful finishSecret; the function must not.
        stages = secret.versions[token]["version_stages"]
        if "AWSCURRENT" in stages and "AWSPENDING" in stages:
            stages.remove("AWSPENDING")
        secret.last_rotation_date = int(time.time())
    return record


def pending_token(secret: FakeSecret, even_if_current: bool = False) -> str | None:
    """The token of a rotation left incomplete: AWSPENDING on a version that is not AWSCURRENT.
    With `even_if_current`, also one whose finishSecret moved AWSCURRENT but then failed: the
    service removes AWSPENDING only after a successful finishSecret."""
    for version_id, version in secret.versions.items():
        stages = version["version_stages"]
        if "AWSPENDING" in stages and (even_if_current or "AWSCURRENT" not in stages):
            return version_id
    return None


def describe_with_full_rules(self: FakeSecret, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """DescribeSecret shows the rotation rules as given (ScheduleExpression, Duration), and the
    next rotation's date (patch 7)."""
    result = ORIGINAL["to_dict"](self, *args, **kwargs)
    rules = getattr(self, "layer_rotation_rules", None)
    if rules and "RotationRules" in result:
        result["RotationRules"] = rules
    interval = rotation_interval_seconds(result.get("RotationRules") or {})
    if result.get("RotationEnabled") and interval:
        base = self.last_rotation_date or self.created_date
        if base is not None:
            result["NextRotationDate"] = int(base) + interval
    return result


def rotation_interval_seconds(rules: dict[str, Any]) -> int | None:
    """rate(N days), rate(N hours) or AutomaticallyAfterDays; None for cron() (not emulated)."""
    match = re.fullmatch(r"rate\((\d+) (day|days|hour|hours)\)", (rules.get("ScheduleExpression") or "").strip())
    if match:
        return int(match.group(1)) * (86400 if match.group(2).startswith("day") else 3600)
    days = rules.get("AutomaticallyAfterDays") or 0
    return int(days) * 86400 or None


def age(secrets: dict[str, FakeSecret], iams: list[Any], body: dict[str, Any]) -> dict[str, Any]:
    """Test support (POST /_layer/age): moves dates into the past, as time would. One of
    {"hours"} (every date of every key of every account in `iams`, and of every secret),
    {"secret", "last_rotated_days_ago"},
    {"secret", "version", "created_seconds_ago"}, {"user", "key", "created_days_ago"},
    {"user", "key", "last_used_hours_ago", "service"?, "region"?}."""
    now = time.time()
    if "hours" in body:
        return age_everything(secrets, iams, float(body["hours"]))
    iam = iams[0]  # the default account's
    if "key" in body:
        (key,) = [k for k in iam.list_access_keys(body["user"]) if k.access_key_id == body["key"]]
        if "last_used_hours_ago" in body:
            at = utcnow() - datetime.timedelta(hours=body["last_used_hours_ago"])
            key.last_used = AccessKeyLastUsed(timestamp=at, service=body.get("service", "sts"),
                                              region=body.get("region", "us-east-1"))
            return {"last_used": at.isoformat()}
        key.create_date = key.create_date - datetime.timedelta(days=body["created_days_ago"])
        return {"created": key.create_date.isoformat()}
    secret = secrets[body["secret"]]
    if "version" in body:
        secret.versions[body["version"]]["createdate"] = int(now - body["created_seconds_ago"])
        return {"created": secret.versions[body["version"]]["createdate"]}
    secret.last_rotation_date = int(now - body["last_rotated_days_ago"] * 86400)
    return {"last_rotated": secret.last_rotation_date}


def age_everything(secrets: dict[str, FakeSecret], iams: list[Any], hours: float) -> dict[str, Any]:
    """Every date the rotation and its retirement read, `hours` earlier: keys' creation and last
    use, secrets' creation, last change and last rotation, versions' creation. As if that much
    time had passed, for the whole stack at once."""
    shift = datetime.timedelta(hours=hours)
    seconds = shift.total_seconds()
    keys = [key for iam in iams for user in iam.users.values() for key in user.access_keys]
    for key in keys:
        key.create_date -= shift
        if key.last_used is not None:
            key.last_used._timestamp -= shift
        for use in unreported(key):
            use._timestamp -= shift
    for secret in secrets.values():
        for attribute in ("created_date", "last_changed_date", "last_rotation_date"):
            if getattr(secret, attribute, None):
                setattr(secret, attribute, getattr(secret, attribute) - seconds)
        for version in secret.versions.values():
            if version.get("createdate") is not None:
                version["createdate"] -= seconds
        # The sweep's bookkeeping tag ends in a time: it ages with the rest.
        for tag in secret.tags or []:
            tag["Value"] = age_tag_value(tag.get("Value", ""), shift)
    return {"keys": len(keys), "secrets": len(secrets)}


def age_tag_value(value: str, shift: datetime.timedelta) -> str:
    """A tag value ending in an RFC 3339 UTC time, that time moved `shift` back; others unchanged."""
    head, _, last = value.rpartition(" ")
    try:
        at = datetime.datetime.strptime(last.split(".")[0].rstrip("Z"), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return value
    moved = (at - shift).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{head} {moved}" if head else moved


def populate(sm: SecretsManagerBackend, iam: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Test support (POST /_layer/populate {"n", "function_arn", "prefix"?}): n IAM users on /svc/,
    each with two keys, bound to a secret rotated once by `function_arn`: AWSPREVIOUS holds the
    older key, AWSCURRENT the newer. Made in-process: the thousands of requests it takes over HTTP
    would cost minutes on two cores. Returns the secrets' names."""
    n, function_arn, prefix = int(body["n"]), body["function_arn"], body.get("prefix", "scale")
    names = []
    for i in range(n):
        user, name = f"{prefix}-{i:05d}", f"{prefix}/{i:05d}"
        iam.create_user(region_name="us-east-1", user_name=user, path="/svc/")
        old, new = iam.create_access_key(user), iam.create_access_key(user)
        old.create_date -= datetime.timedelta(hours=1)  # a rotation makes the new key later

        def value(key: Any) -> str:
            return json.dumps({"UserName": user, "AccessKeyId": key.access_key_id,
                               "SecretAccessKey": key.secret_access_key})

        sm.create_secret(name=name, secret_string=value(old), secret_binary=None, description=None,
                         tags=None, kms_key_id=None, client_request_token=None, replica_regions=[],
                         force_overwrite=False)
        sm.put_secret_value(secret_id=name, secret_string=value(new), secret_binary=None,
                            client_request_token=str(uuid.uuid4()), version_stages=["AWSCURRENT"])
        secret = sm.secrets[name]
        secret.rotation_lambda_arn = function_arn
        secret.rotation_requested = secret.rotation_enabled = True
        secret.last_rotation_date = int(time.time())
        iam.tag_user(user, [{"Key": "iam-key-rotator:secret", "Value": secret.arn}])
        names.append(name)
    return {"secrets": names}


def scheduled_event(function_arn: str, at: float | None = None) -> dict[str, Any]:
    """POST /_layer/schedule: what an EventBridge schedule rule sends its target (the standard
    "Scheduled Event"), delivered to the function as Lambda would. Returns the event and the
    function's error, if any."""
    when = datetime.datetime.fromtimestamp(at or time.time(), datetime.timezone.utc)
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": function_arn.split(":")[4],
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": function_arn.split(":")[3],
        "resources": [f"arn:aws:events:{function_arn.split(':')[3]}:{function_arn.split(':')[4]}:rule/iam-key-rotator-sweep"],
        "detail": {},
    }
    answer, error = call_function(function_arn, event)
    return {"event": event, "answer": answer, "error": error}


# ---- 2. ListSecretVersionIds with real creation dates ----


def list_secret_version_ids(self: SecretsManagerBackend, secret_id: str) -> str:
    listing = json.loads(ORIGINAL["list_secret_version_ids"](self, secret_id))
    versions = self.secrets[secret_id].versions
    for entry in listing["Versions"]:
        created = versions[entry["VersionId"]].get("createdate")
        if created is not None:
            entry["CreatedDate"] = created
    return json.dumps(listing)


# ---- 3. No overwrite of a version's value ----


def put_secret_value(self: SecretsManagerBackend, secret_id: str, secret_string: str | None = None,
                     secret_binary: str | None = None, client_request_token: str | None = None,
                     version_stages: list[str] | None = None, **kwargs: Any) -> str:
    created = round(time.time(), 3)
    if client_request_token and self._is_valid_identifier(secret_id):
        existing = self.secrets[secret_id].versions.get(client_request_token)
        held = existing and (existing.get("secret_string") or existing.get("secret_binary"))
        if held and held != (secret_string or secret_binary):
            raise ResourceExistsException(
                "You can't modify an existing version, you can only create a new version."
            )
        if existing:
            created = existing.get("createdate", created)
    answer = ORIGINAL["put_secret_value"](
        self, secret_id=secret_id, secret_string=secret_string, secret_binary=secret_binary,
        client_request_token=client_request_token, version_stages=version_stages, **kwargs,
    )
    version_id = json.loads(answer).get("VersionId")
    versions = self.secrets[secret_id].versions if self._is_valid_identifier(secret_id) else {}
    if version_id in versions:
        versions[version_id]["createdate"] = created
    return answer


# ---- 8. AWSCURRENT is where its label is ----


def update_secret_version_stage(self: SecretsManagerBackend, secret_id: str, version_stage: str,
                                remove_from_version_id: str, move_to_version_id: str) -> tuple[str, str]:
    answer = ORIGINAL["update_secret_version_stage"](
        self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
    if version_stage == "AWSCURRENT" and move_to_version_id:
        # Moto's "default version" is what it answers without a stage and what its next put demotes.
        self.secrets[secret_id].set_default_version_id(move_to_version_id)
    return answer


def get_secret_value(self: SecretsManagerBackend, secret_id: str, version_id: str | None,
                     version_stage: str | None) -> dict[str, Any]:
    if not version_id and not version_stage:
        version_stage = "AWSCURRENT"
    return ORIGINAL["get_secret_value"](self, secret_id, version_id, version_stage)


# ---- 9. Key last use, after authentication ----

# The codes of a request AWS rejects before it knows who sent it: no use of the key.
AUTHENTICATION_FAILURES = {"InvalidClientTokenId", "SignatureDoesNotMatch", "IncompleteSignature",
                           "UnrecognizedClientException", "InvalidSignatureException", "AuthFailure"}


def authenticated(status: int, body: bytes) -> bool:
    """Whether a request moto answered got past authentication."""
    if status not in (401, 403):
        return True
    match = MOTO_AUTH_ERROR.search(body.decode(errors="replace"))
    return not (match and match["code"] in AUTHENTICATION_FAILURES)


def record_key_use(iam: Any, key_id: str, service: str, region: str) -> None:
    key = iam.access_keys.get(key_id)  # the account's keys by id: the objects users hold
    if key is None:
        return
    use = AccessKeyLastUsed(timestamp=utcnow(), service=service, region=region)
    if STATE.report_lag_hours <= 0:
        key.last_used = use
    else:
        unreported(key).append(use)


def unreported(key: Any) -> list[Any]:
    """The uses of `key` IAM has not reported yet, oldest first."""
    if not hasattr(key, "layer_unreported"):
        key.layer_unreported = []
    return key.layer_unreported


def report_uses(key: Any, everything: bool = False) -> None:
    """IAM reports the uses of `key` older than the lag (all of them with `everything`)."""
    due = utcnow() - datetime.timedelta(hours=STATE.report_lag_hours)
    pending = unreported(key)
    reported = [u for u in pending if everything or u.timestamp <= due]
    if reported:
        key.last_used = reported[-1]
        pending[:] = [u for u in pending if u not in reported]


def get_access_key_last_used(self: Any, access_key_id: str) -> dict[str, Any]:
    for key in self.get_all_access_keys_for_all_users():
        if key.access_key_id == access_key_id:
            report_uses(key)
    return ORIGINAL["get_access_key_last_used"](self, access_key_id)


def report(iams: list[Any], body: dict[str, Any]) -> dict[str, Any]:
    """Test support (POST /_layer/report): IAM reports every use so far at once, of every key or
    of {"key"}: a lag of 0 for them."""
    keys = [key for iam in iams for user in iam.users.values() for key in user.access_keys
            if body.get("key") in (None, key.access_key_id)]
    for key in keys:
        report_uses(key, everything=True)
    return {"keys": len(keys)}


# ---- 4 and 5. Authentication: Inactive keys, and the propagation delay ----


def authenticate_key(self: IAMUserAccessKey, account_id: str, partition: str, access_key_id: str,
                     headers: dict[str, str]) -> None:
    ORIGINAL["IAMUserAccessKey.__init__"](self, account_id, partition, access_key_id, headers)
    for user in self.backend.list_users("/", None, None):
        for key in user.access_keys:
            if key.access_key_id != access_key_id:
                continue
            if key.status != "Active":
                raise CreateAccessKeyFailure(reason="InvalidId")
            created = key.create_date.replace(tzinfo=datetime.timezone.utc).timestamp()
            delay = STATE.propagation_delay
            if delay > 0 and created >= STATE.delay_since and time.time() - created < delay:
                raise CreateAccessKeyFailure(reason="InvalidId")


# ---- 6. Authentication errors as AWS sends them ----

MOTO_AUTH_ERROR = re.compile(
    r"<ErrorResponse><Errors><Error><Code>(?P<code>[^<]+)</Code><Message>(?P<message>[^<]*)</Message>"
    r"(?:<Type>[^<]*</Type>)?</Error></Errors></ErrorResponse>"
)
# What a JSON-protocol service calls the same failures.
JSON_CODES = {
    "InvalidClientTokenId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
    "AccessDenied": "AccessDeniedException",
}


def aws_error_body(status: int, body: bytes, json_protocol: bool) -> tuple[int, str, bytes] | None:
    """Rewrites moto's authentication/authorization error into AWS's format; None if `body` is not
    one. Returns (status, content type, body)."""
    if status not in (401, 403):
        return None
    match = MOTO_AUTH_ERROR.search(body.decode(errors="replace"))
    if not match:
        return None
    code, message = match["code"], html.unescape(match["message"])
    if json_protocol:
        payload = {"__type": JSON_CODES.get(code, code), "message": message}
        return 400, "application/x-amz-json-1.1", json.dumps(payload).encode()
    xml = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{html.escape(code)}</Code><Message>{html.escape(message)}</Message>"
        f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return status, "text/xml", xml.encode()


# ---- Injected faults (not a divergence: a test tool) ----

FAULT_CODES = {
    # kind: (status, JSON-protocol code, query-protocol code)
    "throttle": (400, "ThrottlingException", "Throttling"),
    "5xx": (500, "InternalServiceError", "ServiceFailure"),
}


def take_fault(action: str) -> dict[str, Any] | None:
    """The next injected fault for `action`, if any, counting it down."""
    with STATE.lock:
        for fault in STATE.faults:
            if fault["action"] == action and fault.get("count", 1) > 0:
                fault["count"] = fault.get("count", 1) - 1
                return dict(fault)
    return None


def crash_decision() -> str | None:
    """For each AWS request while a crash is armed: None (serve it), "before" (the process died
    before sending it: answer 500, no effect) or "after" (it died once the call took effect: serve
    it, then answer 500, the real answer lost). After the crash point every request fails "before",
    as nothing from a dead process reaches AWS."""
    with STATE.lock:
        crash = STATE.crash
        if crash is None:
            return None
        if crash["dead"]:
            return "before"
        if crash["after_calls"] > 0:
            crash["after_calls"] -= 1
            return None
        crash["dead"] = True
        return "after" if crash.get("after_effect") else "before"


def fault_response(kind: str, json_protocol: bool) -> tuple[int, str, bytes]:
    status, json_code, query_code = FAULT_CODES[kind]
    if json_protocol:
        return status, "application/x-amz-json-1.1", json.dumps({"__type": json_code, "message": "injected"}).encode()
    xml = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{query_code}</Code><Message>injected</Message>"
           f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
    return status, "text/xml", xml.encode()


ORIGINAL: dict[str, Any] = {}


def install() -> None:
    """Applies the patches, once."""
    if ORIGINAL:
        return
    ORIGINAL["to_dict"] = FakeSecret.to_dict
    ORIGINAL["list_secret_version_ids"] = SecretsManagerBackend.list_secret_version_ids
    ORIGINAL["put_secret_value"] = SecretsManagerBackend.put_secret_value
    ORIGINAL["IAMUserAccessKey.__init__"] = IAMUserAccessKey.__init__
    ORIGINAL["update_secret_version_stage"] = SecretsManagerBackend.update_secret_version_stage
    ORIGINAL["get_secret_value"] = SecretsManagerBackend.get_secret_value
    import moto.iam.models as iam_models
    ORIGINAL["get_access_key_last_used"] = iam_models.IAMBackend.get_access_key_last_used
    iam_models.IAMBackend.get_access_key_last_used = get_access_key_last_used
    SecretsManagerBackend.rotate_secret = rotate_secret
    FakeSecret.to_dict = describe_with_full_rules
    SecretsManagerBackend.list_secret_version_ids = list_secret_version_ids
    SecretsManagerBackend.put_secret_value = put_secret_value
    IAMUserAccessKey.__init__ = authenticate_key
    # 9: moto.core.responses imports it at each request, before the signature is checked.
    import moto.iam.models
    moto.iam.models.mark_account_as_visited = lambda *args, **kwargs: None
    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage
    SecretsManagerBackend.get_secret_value = get_secret_value
