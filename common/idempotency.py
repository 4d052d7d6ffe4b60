"""``Idempotency-Key`` on the API's POSTs: a create or transition retried with the same key
runs once, and the retry gets the first response again.

A POST may carry ``Idempotency-Key: <1-255 visible ASCII characters>``. The key belongs to
the authenticated user and is remembered with a fingerprint of the request (method, path
with its query string, and the SHA-256 of the raw body bytes: no JSON canonicalisation, so a
retry must resend the same bytes, as HTTP clients do). For the same user and key:

* first request: the key is claimed ``in_flight`` in a transaction of its own, committed
  before the view runs, so a concurrent duplicate sees it; the view runs; its response
  (status, rendered body, Content-Type and Location) is stored and the row is ``done``;
* same fingerprint, ``done``: the stored response is replayed byte for byte with
  ``Idempotent-Replayed: true``; the view does not run;
* same fingerprint, still ``in_flight``: 409 ``idempotency_key_in_flight``;
* another fingerprint: 422 ``idempotency_key_reused``;
* a response of 500 or more, or a request that raised, is not stored: the claim is deleted,
  so the client may retry. 4xx responses are stored and replayed (the same input gets the
  same refusal);
* a key is kept ``IDEMPOTENCY_KEY_TTL_HOURS`` (24) and is free again afterwards; a claim
  left ``in_flight`` longer than ``IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS`` (300; its process
  died) is taken over by the next request with the same fingerprint.

:class:`IdempotentPostMixin` hooks this into DRF's request cycle once, for every POST of
every viewset built on ``access.api.ScopedViewSetMixin``: ``initial()`` (after
authentication, permissions and throttles) claims the key or short-circuits;
``finalize_response()`` stores the rendered response; ``handle_exception()`` releases the
claim when the view raised. Requests without the header, and other methods, cost nothing.
"""

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, HttpResponseBase
from django.template.response import SimpleTemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions
from rest_framework.request import Request

from common.exceptions import DomainError
from common.models import IdempotencyKey, IdempotencyState

if TYPE_CHECKING:
    from rest_framework.views import APIView

    _ViewBase = APIView
else:
    _ViewBase = object

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
#: Response headers stored with the body and sent again on a replay.
STORED_HEADERS = ("Content-Type", "Location")
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_CLAIM_ATTEMPTS = 3


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status_code = 422
    default_field = HEADER


class IdempotencyKeyInFlight(DomainError):
    code = "idempotency_key_in_flight"
    status_code = 409
    default_field = HEADER


@dataclass(frozen=True)
class Claim:
    """This request holds the key: the row's id and the ``created_at`` it was claimed with
    (compared on completion, so a request that lost its claim to a takeover cannot
    overwrite the new holder's row)."""

    pk: int
    claimed_at: datetime


def key_ttl() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def in_flight_timeout() -> timedelta:
    return timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS)


def request_fingerprint(*, method: str, full_path: str, body: bytes) -> str:
    """SHA-256 (hex) of the method, the path with its query string and the raw body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), full_path.encode(), hashlib.sha256(body).digest()):
        digest.update(len(part).to_bytes(4, "big"))
        digest.update(part)
    return digest.hexdigest()


def idempotency_key_claim(*, user: Any, key: str, fingerprint: str) -> Claim | IdempotencyKey:
    """Claim ``key`` of ``user`` for a request, or return the completed row to replay.

    The claim is an INSERT in a transaction of its own (a savepoint when the caller is in
    one), committed before the view runs; the unique (user, key) index decides between
    concurrent requests, and the loser reads the winner's row. An expired row, or a claim
    left in flight past the timeout with the same fingerprint, is taken over by a
    conditional UPDATE. Raises IdempotencyKeyReused (another fingerprint) or
    IdempotencyKeyInFlight (the first request has not finished).
    """
    for _attempt in range(_CLAIM_ATTEMPTS):
        now = timezone.now()
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    user=user, key=key, fingerprint=fingerprint, created_at=now
                )
            return Claim(pk=row.pk, claimed_at=now)
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is None:  # released between our INSERT and this read: claim again
            continue
        row = existing
        expired = row.created_at <= now - key_ttl()
        if not expired and row.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                _("This key was used with another request (method, path or body).")
            )
        stuck = row.state == IdempotencyState.IN_FLIGHT and (
            row.created_at <= now - in_flight_timeout()
        )
        if expired or stuck:
            taken = IdempotencyKey.objects.filter(pk=row.pk, created_at=row.created_at).update(
                fingerprint=fingerprint,
                state=IdempotencyState.IN_FLIGHT,
                created_at=now,
                completed_at=None,
                response_status=None,
                response_body=b"",
                response_headers={},
            )
            if taken:
                return Claim(pk=row.pk, claimed_at=now)
            continue  # another request took it over first: read it again
        if row.state == IdempotencyState.IN_FLIGHT:
            raise IdempotencyKeyInFlight(
                _("A request with this key is still being processed; retry later.")
            )
        return row
    raise IdempotencyKeyInFlight(_("A request with this key is still being processed."))


def idempotency_key_complete(*, claim: Claim, response: HttpResponseBase) -> bool:
    """Store the rendered ``response`` on the claimed row and mark it done (one UPDATE).
    False if the claim was taken over meanwhile (the request outlived the timeout)."""
    headers = {name: response[name] for name in STORED_HEADERS if response.has_header(name)}
    stored = IdempotencyKey.objects.filter(
        pk=claim.pk, state=IdempotencyState.IN_FLIGHT, created_at=claim.claimed_at
    ).update(
        state=IdempotencyState.DONE,
        response_status=response.status_code,
        response_body=response.content,  # type: ignore[attr-defined]
        response_headers=headers,
        completed_at=timezone.now(),
    )
    return bool(stored)


def idempotency_key_release(*, claim: Claim) -> None:
    """Delete the claim of a request that failed, so that a retry runs again."""
    IdempotencyKey.objects.filter(
        pk=claim.pk, state=IdempotencyState.IN_FLIGHT, created_at=claim.claimed_at
    ).delete()


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete the keys older than the TTL (one indexed DELETE); returns how many."""
    cutoff = (now or timezone.now()) - key_ttl()
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def replay_response(row: IdempotencyKey) -> HttpResponse:
    """The stored response again, byte for byte, marked as a replay."""
    assert row.response_status is not None
    response = HttpResponse(bytes(row.response_body), status=row.response_status)
    del response["Content-Type"]  # only what the first response had
    for name, value in row.response_headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


class _Replay(Exception):
    """Raised by ``initial()`` to answer with a stored response instead of the view's."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(REPLAYED_HEADER)
        self.response = response


class IdempotentPostMixin(_ViewBase):
    """Honours ``Idempotency-Key`` on the authenticated POSTs of a DRF view."""

    _idempotency_claim: Claim | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        key = request.headers.get(HEADER) if request.method == "POST" else None
        if key is not None:
            # Read (and cache) the raw body before authentication: the session's CSRF check
            # may consume the stream of a form body, after which the bytes are gone.
            body = request.body
        super().initial(request, *args, **kwargs)
        if key is None or not request.user.is_authenticated:
            return
        if not _KEY.fullmatch(key):
            raise exceptions.ValidationError(
                {HEADER: [_("Must be 1 to 255 visible ASCII characters.")]}
            )
        fingerprint = request_fingerprint(
            method=request.method or "", full_path=request.get_full_path(), body=body
        )
        outcome = idempotency_key_claim(user=request.user, key=key, fingerprint=fingerprint)
        if isinstance(outcome, IdempotencyKey):
            raise _Replay(replay_response(outcome))
        self._idempotency_claim = outcome

    # DRF types these with its Response; at run time any HttpResponse goes (a replay is one).
    def handle_exception(self, exc: Exception) -> HttpResponseBase:  # type: ignore[override]
        if isinstance(exc, _Replay):
            return exc.response
        try:
            return super().handle_exception(exc)
        except BaseException:
            # Not turned into a response: the request fails with a 500 and is not stored.
            self._release_claim()
            raise

    def finalize_response(  # type: ignore[override]
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[arg-type]
        claim = self._idempotency_claim
        if claim is None:
            return response
        if response.status_code >= 500 or response.streaming:
            self._release_claim()
            return response
        try:
            if isinstance(response, SimpleTemplateResponse):
                response.render()  # what the client receives, byte for byte
        except BaseException:
            self._release_claim()
            raise
        self._idempotency_claim = None
        try:
            if not idempotency_key_complete(claim=claim, response=response):
                logger.warning("idempotency key %s was taken over before it completed", claim.pk)
        except Exception:
            # The work is done and committed; answer it. The claim stays in flight until
            # the timeout, when a retry may take it over.
            logger.exception("could not store the response of idempotency key %s", claim.pk)
        return response

    def _release_claim(self) -> None:
        claim, self._idempotency_claim = self._idempotency_claim, None
        if claim is None:
            return
        try:
            idempotency_key_release(claim=claim)
        except Exception:  # never hide the request's own error; the claim times out
            logger.exception("could not release idempotency key %s", claim.pk)


class IdempotentAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema; POST operations of idempotent views document the
    optional ``Idempotency-Key`` request header and the ``Idempotent-Replayed`` answer."""

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self.method == "POST" and isinstance(self.view, IdempotentPostMixin):
            parameters += IDEMPOTENCY_PARAMETERS
        return parameters


IDEMPOTENCY_PARAMETERS = [
    OpenApiParameter(
        name=HEADER,
        type={"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
        location=OpenApiParameter.HEADER,
        required=False,
        description=(
            "Makes a retry of this POST safe: a request with a key already used by the same "
            "user within 24 h (by default), with the same method, path and body, is not run "
            "again but answered with the first response (marked `Idempotent-Replayed: true`). "
            "The same key with another request answers 422 (`idempotency_key_reused`); while "
            "the first request is still running, 409 (`idempotency_key_in_flight`). "
            "Responses of 500 or more are not kept."
        ),
    ),
    OpenApiParameter(
        name=REPLAYED_HEADER,
        type=str,
        enum=["true"],
        location=OpenApiParameter.HEADER,
        response=True,
        description="Present when the response is the stored answer to an earlier request "
        "with the same `Idempotency-Key`.",
    ),
]
