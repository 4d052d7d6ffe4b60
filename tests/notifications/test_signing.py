"""Our signatures, checked by the Standard Webhooks reference verifier (code nobody here
wrote): each secret verifies, both during a rotation, and a tampered body, a wrong secret
or an old timestamp are refused."""

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from notifications.webhooks.signing import headers, secret_key, secret_new, sign

BODY = b'{"type":"order.confirmed","data":{"order_id":7,"quantity_kg":"1500.000"}}'


def _headers(*secrets: str, body: bytes = BODY, timestamp: int | None = None) -> dict[str, str]:
    return headers(
        secrets=list(secrets),
        msg_id="msg_7_3",
        timestamp=int(time.time()) if timestamp is None else timestamp,
        body=body,
    )


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    a, b = secret_new(), secret_new()
    assert a.startswith("whsec_")
    assert len(base64.b64decode(a.removeprefix("whsec_"), validate=True)) == 32
    assert a != b


def test_the_spec_example_signature() -> None:
    # The example of the reference libraries' tests.
    assert (
        sign(
            secrets=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp=1614265330,
            body=b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_the_headers_verify_with_the_secret() -> None:
    secret = secret_new()
    sent = _headers(secret)
    assert Webhook(secret).verify(BODY, sent) == {
        "type": "order.confirmed",
        "data": {"order_id": 7, "quantity_kg": "1500.000"},
    }
    assert sent["webhook-id"] == "msg_7_3"
    assert sent["content-type"] == "application/json"
    assert sent["user-agent"] == "ParkShare-Webhooks/1.0"


def test_during_a_rotation_both_secrets_verify() -> None:
    old, new = secret_new(), secret_new()
    sent = _headers(new, old)
    signatures = sent["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(s.startswith("v1,") for s in signatures)
    Webhook(old).verify(BODY, sent)
    Webhook(new).verify(BODY, sent)


def test_a_tampered_body_is_refused() -> None:
    secret = secret_new()
    sent = _headers(secret)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"1500", b"9500"), sent)


def test_a_wrong_secret_is_refused() -> None:
    sent = _headers(secret_new())
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_new()).verify(BODY, sent)


def test_an_old_timestamp_is_refused() -> None:
    secret = secret_new()
    sent = _headers(secret, timestamp=int(time.time()) - 600)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, sent)


def test_a_body_not_utf8_is_signed_as_sent() -> None:
    secret = secret_new()
    body = b"\xff\xfe not utf-8"
    Webhook(secret).verify(body, _headers(secret, body=body), json_parse=False)


@pytest.mark.parametrize("bad", ["whsec_", "whsec_not base64!", ""])
def test_a_malformed_secret_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="webhook secret"):
        secret_key(bad)


def test_signing_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        sign(secrets=[], msg_id="msg_1_1", timestamp=1, body=b"{}")
