"""API authentication: hashed, revocable per-user tokens sent as ``Authorization: Bearer``.

django-rest-knox stores only a SHA-512 digest of each token, keeps several tokens per user
(one per partner system), expires them, and revokes one by deleting its row. ParkShare
overrides only the lookup, so that one query loads the token, the user and the user's
enterprise membership (the tenancy scope), and an expired token is refused without the
per-request sweep of the user's other tokens that knox does by default.
"""

import binascii
from hmac import compare_digest
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from rest_framework import exceptions


class BearerTokenAuthentication(TokenAuthentication):
    """Knox token authentication; the header prefix is ``Bearer`` (settings.REST_KNOX)."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        msg = _("Invalid token.")
        try:
            text = token.decode("utf-8")
            digest = hash_token(text)
        except (UnicodeDecodeError, TypeError, binascii.Error) as exc:
            raise exceptions.AuthenticationFailed(msg) from exc
        candidates = (
            get_token_model()
            .objects.filter(token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH])
            .select_related("user__membership__enterprise__park")
        )
        now = timezone.now()
        for auth_token in candidates:
            if compare_digest(digest, auth_token.digest):
                if auth_token.expiry is not None and auth_token.expiry < now:
                    raise exceptions.AuthenticationFailed(_("Token has expired."))
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(msg)


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """OpenAPI security scheme of ``common.auth.BearerTokenAuthentication``.

    drf-spectacular's knox extension matches knox's class only, not subclasses.
    """

    target_class = "common.auth.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> Any:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=knox_settings.AUTH_HEADER_PREFIX
        )
