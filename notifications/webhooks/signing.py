"""Signatures per the Standard Webhooks specification
(github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md).

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the key is the base64
part of a ``whsec_`` secret. During a rotation every live secret signs, and the
``webhook-signature`` header carries one ``v1,<base64>`` per secret, space-separated, so
the receiver accepts the message with either its old or its new secret.
"""

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, no secret)
SECRET_BYTES = 32
USER_AGENT = "ParkShare-Webhooks/1.0"


def secret_new() -> str:
    """A new signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret: the base64-decoded part after ``whsec_`` (the prefix is
    optional, as in the reference libraries). ValueError if it is not base64 or empty."""
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("a webhook secret must be base64 after whsec_") from exc
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def sign(*, secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,<base64 HMAC-SHA256>`` per secret."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    content = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(_signature(secret_key(s), content) for s in secrets)


def _signature(key: bytes, content: bytes) -> str:
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(*, secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one attempt: the same ``webhook-id`` on every attempt of a delivery
    (receivers dedupe on it), the attempt's own timestamp and signature."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secrets=secrets, msg_id=msg_id, timestamp=timestamp, body=body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
