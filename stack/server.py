"""Starts the local AWS stack: moto in server mode, signatures checked, with our layer.

    python -m stack.server [--port 0] [--lambda-endpoint URL] [--propagation-delay S] [--retries N]
                           [--latency S]

It prints `endpoint http://127.0.0.1:<port>` once it listens, and stops on SIGINT/SIGTERM or when
its standard input closes (so a test or demo that started it cannot leave it behind).

Beside the AWS APIs it serves the layer's own endpoints:
  POST /_layer/admin     {"user": "admin", "account"?}  -> an IAM user allowed everything, and its
                         key, in that account (moto's default one if none): what signs with the
                         key reaches that account (stack/accounts.py). From then on every AWS
                         request must be signed by a known, active key.
  POST /_layer/config    {"lambda_endpoint": URL for any function, "lambda_endpoints": {name: URL},
                          "propagation_delay": seconds, "rotation_retries": N,
                          "faults": [{"action": "ListAccessKeys", "kind": "throttle"|"5xx"|"slow"|"reset",
                                      "count": N, "seconds": S}]}   (injected faults, a test tool)
                          "crash": {"after_calls": N, "after_effect": bool} or null
                          (the process dies at the next request after N: see layer.crash_decision),
                          "enabled_regions": {account: [Region, ...]} (account:ListRegions),
                          "latency_seconds": S (every AWS request takes S longer, as a round trip
                          to AWS from outside it; the /_layer endpoints are not delayed)
  GET  /_layer/calls     every AWS request served: {"key", "service", "action", "at"}
  GET  /_layer/rotations the outcome of every RotateSecret (steps, errorType, errorMessage)
  POST /_layer/start     {"secret", "token", "function_arn"}: only the placeholder of a rotation, as
                         Secrets Manager makes it before createSecret (to drive the steps by hand)
  POST /_layer/retry     {"secret"}: Secrets Manager's own retry of an incomplete rotation: the
                         whole rotation again, with the same token
  GET  /_layer/rotation-tokens   the RotationTokens sent (secret material: for leak checks only)
  POST /_layer/age       test support: dates moved into the past (by {"hours"}: every account's keys and the default account's us-east-1 secrets; or a
                         key's CreateDate or last use, a secret's last rotation, a version's
                         CreatedDate); see layer.age
  POST /_layer/schedule  {"function_arn", "time"?}: an EventBridge "Scheduled Event" delivered to
                         the function, as a schedule rule would; -> {"event", "answer", "error"}
  POST /_layer/report    {"key"?}: IAM reports every use so far of every key (or of one) at once
  POST /_layer/populate  test support: {"n", "function_arn", "account"?, "region"?, "prefix"?}: n bound users
                         and secrets rotated once by that function, made in-process in that
                         account and Region (moto's default ones if not given); see layer.populate
  POST /_layer/reset     moto's state and the layer's records, back to empty; signatures off
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse

os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")

from moto import settings  # noqa: E402
from moto.backends import get_backend  # noqa: E402
from moto.core.authorization import ActionAuthenticatorMixin  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.iam.models import get_account_id_from  # noqa: E402
from moto.moto_api._internal.models import moto_api_backend  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server  # noqa: E402
from werkzeug.wrappers import Request, Response  # noqa: E402

from stack import accounts, layer  # noqa: E402

ADMIN_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def signatures(on: bool) -> None:
    """Moto checks signatures once INITIAL_NO_AUTH_ACTION_COUNT requests have been served."""
    ActionAuthenticatorMixin.request_count = 0
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0 if on else float("inf")


def make_admin(user: str, account: str = DEFAULT_ACCOUNT_ID) -> dict[str, str]:
    iam = get_backend("iam")[account]["global"]
    iam.create_user(region_name="us-east-1", user_name=user, path="/")
    iam.put_user_policy(user, "everything", ADMIN_POLICY)
    key = iam.create_access_key(user)
    signatures(True)
    return {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key}


def control(request: Request) -> Response:
    body = request.get_json(silent=True) or {}
    path = request.path.removeprefix("/_layer/")
    if path == "admin" and request.method == "POST":
        admin = make_admin(body.get("user", "admin"), body.get("account", DEFAULT_ACCOUNT_ID))
        return Response(json.dumps(admin), mimetype="application/json")
    if path == "config" and request.method == "POST":
        layer.STATE.configure(body)
        accounts.configure(body)
        return Response("{}", mimetype="application/json")
    if path == "rotations" and request.method == "GET":
        return Response(json.dumps(layer.STATE.rotations), mimetype="application/json")
    if path == "calls" and request.method == "GET":
        return Response(json.dumps(layer.STATE.calls), mimetype="application/json")
    if path == "rotation-tokens" and request.method == "GET":
        return Response(json.dumps(layer.STATE.rotation_tokens), mimetype="application/json")
    if path in ("start", "retry") and request.method == "POST":
        secrets = get_backend("secretsmanager")[DEFAULT_ACCOUNT_ID][body.get("region", "us-east-1")].secrets
        if body.get("secret") not in secrets:
            return Response(json.dumps({"error": f"no secret {body.get('secret')!r}"}), status=404)
        secret = secrets[body["secret"]]
        if path == "start":
            secret.rotation_lambda_arn = body["function_arn"]
            secret.rotation_requested = secret.rotation_enabled = True
            token = layer.start_rotation(secret, body.get("token"))
            return Response(json.dumps({"token": token}), mimetype="application/json")
        token = layer.pending_token(secret, even_if_current=True)
        if token is None:
            return Response(json.dumps({"error": "no incomplete rotation to retry"}), status=409)
        return Response(json.dumps(layer.run_rotation(secret, token)), mimetype="application/json")
    if path == "age" and request.method == "POST":
        secrets = get_backend("secretsmanager")[DEFAULT_ACCOUNT_ID]["us-east-1"].secrets
        # The default account's IAM first (a key named alone is there), then every other's.
        others = [a for a in list(get_backend("iam").keys()) if a != DEFAULT_ACCOUNT_ID]
        iams = [get_backend("iam")[a]["global"] for a in [DEFAULT_ACCOUNT_ID, *others]]
        return Response(json.dumps(layer.age(secrets, iams, body)), mimetype="application/json")
    if path == "report" and request.method == "POST":
        iams = [get_backend("iam")[a]["global"] for a in list(get_backend("iam").keys())]
        return Response(json.dumps(layer.report(iams, body)), mimetype="application/json")
    if path == "populate" and request.method == "POST":
        account = body.get("account", DEFAULT_ACCOUNT_ID)
        secrets = get_backend("secretsmanager")[account][body.get("region", "us-east-1")]
        iam = get_backend("iam")[account]["global"]
        return Response(json.dumps(layer.populate(secrets, iam, body)), mimetype="application/json")
    if path == "schedule" and request.method == "POST":
        return Response(json.dumps(layer.scheduled_event(body["function_arn"], body.get("time"))),
                        mimetype="application/json")
    if path == "reset" and request.method == "POST":
        moto_api_backend.reset()
        layer.STATE.reset()
        signatures(False)
        return Response("{}", mimetype="application/json")
    return Response(json.dumps({"error": f"no layer endpoint {request.method} {request.path}"}), status=404)


def credential_scope(environ) -> tuple[str, str, str]:
    """(access key id, Region, service) of a signed request; empty strings when it is not signed."""
    scope = re.search(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return scope.groups() if scope else ("", "", "")


def identify(environ) -> tuple[str, str, str, str, bool]:
    """(access key id, Region, service, action, json protocol) of an AWS request. Reads the body
    of a query-protocol request (and puts it back for moto)."""
    key, region, service = credential_scope(environ)
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return key, region, service, target.split(".")[-1], True
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    action = urllib.parse.parse_qs(raw.decode(errors="replace")).get("Action", [""])[0]
    return key, region, service, action, False


def respond(start_response, status: int, content_type: str, body: bytes):
    reason = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 500: "Internal Server Error"}[status]
    start_response(f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def make_app():
    moto_app = DomainDispatcherApplication(create_backend_app)

    def app(environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/_layer/"):
            return control(Request(environ))(environ, start_response)
        latency = layer.STATE.latency_seconds
        if not latency:
            return serve(environ, start_response)
        # The round trip: half on the way to AWS, half on the way back (nothing reaches the client
        # before the body is returned). The server gives each connection its own thread and a sleep
        # releases the GIL, so requests in flight wait out their latency together, not in turn.
        time.sleep(latency / 2)
        answer = serve(environ, start_response)
        time.sleep(latency / 2)
        return answer

    def serve(environ, start_response):
        key, region, service, action, json_protocol = identify(environ)
        with layer.STATE.lock:
            layer.STATE.calls.append({"key": key, "service": service, "action": action, "at": time.time()})
        crash = layer.crash_decision()
        if crash == "before":
            return respond(start_response, *layer.fault_response("5xx", json_protocol))
        fault = layer.take_fault(action)
        lost = bool(fault) and fault["kind"] == "lost"
        if fault and fault["kind"] == "slow":
            time.sleep(float(fault.get("seconds", 1)))
        elif fault and fault["kind"] == "reset":
            # Close the connection without an answer: the client sees a reset or an early EOF.
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            return []
        elif fault and not lost:
            return respond(start_response, *layer.fault_response(fault["kind"], json_protocol))

        captured: dict[str, object] = {}

        def capture(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)
            return lambda data: None

        body = b"".join(moto_app(environ, capture))
        status_code = int(str(captured["status"]).split()[0])
        if key and layer.authenticated(status_code, body):
            account = get_account_id_from(key)
            layer.record_key_use(get_backend("iam")[account]["global"], key, service, region)
        if crash == "after" or lost:
            # The call took effect; its answer is lost on the way back.
            return respond(start_response, *layer.fault_response("5xx", json_protocol))
        rewritten = layer.aws_error_body(status_code, body, json_protocol)
        if rewritten is None:
            start_response(captured["status"], captured["headers"])
            return [body]
        return respond(start_response, *rewritten)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--lambda-endpoint", help="where `cargo lambda watch` serves the Invoke API")
    parser.add_argument("--propagation-delay", type=float, default=0.0)
    parser.add_argument("--retries", type=int, default=0, help="whole-rotation retries after a failure")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every AWS request")
    args = parser.parse_args()

    layer.install()
    accounts.install()
    settings_given = {"propagation_delay": args.propagation_delay, "rotation_retries": args.retries,
                      "latency_seconds": args.latency}
    if args.lambda_endpoint:
        settings_given["lambda_endpoint"] = args.lambda_endpoint
    layer.STATE.configure(settings_given)

    server = make_server("127.0.0.1", args.port, make_app(), threaded=True, request_handler=MotoRequestHandler)
    print(f"endpoint http://127.0.0.1:{server.server_port}", flush=True)

    def stop(*_: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=lambda: (sys.stdin.read(), stop()), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
