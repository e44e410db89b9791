"""Which certificate authorities the function trusts (src/aws/https.rs), over real TLS.

The stack is put behind an HTTPS proxy whose certificate comes from a CA made for the test. The
function trusts the compiled-in Amazon Trust Services roots only, so it must refuse that proxy:
no request may get through, nothing may change. Given SSL_CERT_FILE naming the test CA, the same
function completes a whole rotation through the proxy.
"""

import pytest

from stack.harness import Function
from stack.tls_proxy import TlsProxy


@pytest.fixture(scope="module")
def proxy(stack):
    started = TlsProxy(stack.endpoint)
    yield started
    started.stop()


def pair(key):
    return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def test_an_endpoint_outside_the_trusted_roots_is_refused_and_nothing_changes(stack, proxy, world):
    function = Function(stack, "rotator-tls-default", {"AWS_ENDPOINT_URL": proxy.endpoint, "PREVIOUS_KEY_ACTION": "delete"})
    try:
        user, (key,) = world.user(keys=1)
        secret = world.secret({"UserName": user, **pair(key)})
        keys, stages = world.keys(user), world.stages(secret)
        failed_before, requests_before = proxy.handshakes_failed, proxy.requests
        record = world.rotate(secret, function)
        assert record["outcome"] == "failed"
        error = record["steps"][-1]
        assert error["errorType"].startswith("Transient."), error
        assert "secretsmanager" in error["errorMessage"] and "SSL_CERT_FILE" in error["errorMessage"], error
        assert proxy.handshakes_failed > failed_before, "the function did try the proxy"
        assert proxy.requests == requests_before, "no request went through the untrusted connection"
        after = world.stages(secret)
        after.pop(record["token"])  # the pending version RotateSecret itself made (SPEC §3)
        assert world.keys(user) == keys and after == stages
        print(f"\nrefused: {error['errorType']}: {error['errorMessage']}")
    finally:
        function.stop()


def test_ssl_cert_file_adds_a_trusted_ca_and_a_rotation_completes_over_tls(stack, proxy, world):
    function = Function(stack, "rotator-tls-ca", {"AWS_ENDPOINT_URL": proxy.endpoint, "PREVIOUS_KEY_ACTION": "delete",
                                                  "SSL_CERT_FILE": str(proxy.ca_path)})
    try:
        user, (key,) = world.user(keys=1)
        secret = world.secret({"UserName": user, **pair(key)})
        requests_before = proxy.requests
        record = world.rotate(secret, function)
        assert record["outcome"] == "succeeded", record["steps"]
        world.check_invariants(secret, user, key["AccessKeyId"], "delete")
        assert proxy.requests - requests_before >= 19, "every call of the rotation went through TLS"
        assert "AmazonTrustServicesAndSystem" in function.logs()
    finally:
        function.stop()
