"""Domain errors. Each names the request field it is about, so the API can say which."""

from typing import Any


class DomainError(Exception):
    """A rule of the domain refused an operation. Mapped to HTTP 400/409 by the API."""

    code = "domain_error"
    status_code = 400
    default_field = "non_field_errors"

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field or self.default_field
        self.extra = extra


class NotPermitted(DomainError):
    code = "permission_denied"
    status_code = 403


class Conflict(DomainError):
    code = "conflict"
    status_code = 409
