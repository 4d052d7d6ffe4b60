"""Who is writing, through what, and in which request: the context an audit row reads.

Set by :class:`audit.middleware.RequestIdMiddleware` for each HTTP request (the request id
and the request itself, whose user and token DRF's authentication fills in later), and by
:func:`audit_context` around a management command or a task. Held in context variables, so
threads and asyncio tasks each see their own.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

VIA_SESSION = "session"
VIA_COMMAND = "command"
VIA_TASK = "task"
VIA_TOKEN_PREFIX = "token:"  # noqa: S105 (a label, not a secret)


@dataclass
class AuditContext:
    request_id: str = ""
    via: str = ""  # empty: derived from the request (token or session), else "command"
    request: Any = None  # the Django HttpRequest, when there is one


_current: ContextVar[AuditContext | None] = ContextVar("parkshare_audit", default=None)


def current() -> AuditContext | None:
    return _current.get()


@contextmanager
def audit_context(*, request_id: str = "", via: str = "", request: Any = None) -> Iterator[None]:
    """Run the block with this request id and channel (``via``): ``"command"`` in a
    management command, ``"task"`` in a Celery task; the HTTP middleware passes the
    request."""
    token = _current.set(AuditContext(request_id=request_id, via=via, request=request))
    try:
        yield
    finally:
        _current.reset(token)


# Celery tasks: the context is entered when a task starts and left when it ends (signals,
# connected in AuditConfig.ready). A task run eagerly inside a request keeps the request's
# id; a worker's task takes its task id as its request id.
_task_tokens: dict[str, Token[AuditContext | None]] = {}


def task_started(task_id: str | None = None, **kwargs: Any) -> None:
    outer = _current.get()
    request_id = (outer.request_id if outer is not None else "") or (task_id or "")
    token = _current.set(AuditContext(request_id=request_id, via=VIA_TASK))
    _task_tokens[task_id or ""] = token


def task_ended(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        try:
            _current.reset(token)
        except ValueError:  # set in another context: nothing of ours to restore there
            _current.set(None)


def current_request_id() -> str:
    context = _current.get()
    return context.request_id if context is not None else ""


def current_via() -> str:
    """How the current write came in: ``token:<key prefix>`` (a knox token, the first
    characters of the token that identify it without being usable), ``session``, or the
    channel set by :func:`audit_context`; ``command`` outside any request."""
    context = _current.get()
    if context is None:
        return VIA_COMMAND
    if context.via:
        return context.via
    request = context.request
    if request is None:
        return VIA_COMMAND
    # DRF's authentication sets ``auth`` (the knox token) on the Django request too.
    token_key = getattr(getattr(request, "auth", None), "token_key", None)
    if token_key:
        return f"{VIA_TOKEN_PREFIX}{token_key}"
    return VIA_SESSION
