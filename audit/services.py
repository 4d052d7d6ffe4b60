"""Writing the audit trail: :func:`audit_record`, called by every write service inside its
own transaction, so the row commits or rolls back with the write it describes.

Who acted (user, enterprise, role) comes from the actor's Scope; how (``via``) and the
request id from :mod:`audit.context`. ``changes`` maps each changed field to
``[before, after]`` in JSON values (decimals as strings, dates in ISO 8601, related
objects as their keys), built with :func:`snapshot` and :func:`changes_between`.
"""

import datetime
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Subquery

from access.scope import Scope
from audit.context import current_request_id, current_via
from audit.models import AuditEntry
from common.appends import append_row

ROLE_SUPERUSER = "superuser"
ROLE_PARK_OPERATOR = "park_operator"
ROLE_REGULATOR = "regulator"


def json_value(value: Any) -> Any:
    """``value`` as the audit row stores it: a JSON value that loses nothing (a Decimal as
    its exact string, not a float)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [json_value(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The current values of ``fields`` of ``instance``; a foreign key is read as its key
    (``delivery_zone`` -> the zone's id), with no query."""
    values: dict[str, Any] = {}
    for name in fields:
        try:
            field = instance._meta.get_field(name)
        except FieldDoesNotExist:
            values[name] = getattr(instance, name)
            continue
        values[name] = getattr(instance, getattr(field, "attname", name))
    return values


def changes_between(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for each field whose value differs (a field missing on
    one side is None there), in JSON values. ``Decimal("10")`` and ``Decimal("10.000")``
    are the same value: no change."""
    changed: dict[str, list[Any]] = {}
    for name in (*before, *(k for k in after if k not in before)):
        old, new = before.get(name), after.get(name)
        if old != new:
            changed[name] = [json_value(old), json_value(new)]
    return changed


def _scope_of(actor: Scope) -> Scope:
    """``actor``, checked: the services pass the caller's Scope (``access.scope.SYSTEM``
    for the system), never a bare user, so that nothing resolves it a second time."""
    if not isinstance(actor, Scope):
        raise TypeError(f"audit_record takes the actor's Scope, not {type(actor).__name__}")
    return actor


def _enterprise_model() -> Any:
    """The tenant model, as the row's key names it (the audit app sits below ``parks``)."""
    return AuditEntry._meta.get_field("enterprise").related_model


def _role_of(scope: Scope) -> str:
    if scope.is_superuser:
        return ROLE_SUPERUSER
    if scope.role:
        return str(scope.role)
    if scope.is_park_operator:
        return ROLE_PARK_OPERATOR
    if scope.is_regulator:
        return ROLE_REGULATOR
    return ""


def audit_record(
    *,
    actor: Scope,
    action: str,
    target: models.Model,
    changes: Mapping[str, Any] | None = None,
    enterprise: models.Model | int | None = None,
    park: Any = None,
    note: str = "",
) -> AuditEntry:
    """Write the audit row of one write, in the caller's transaction (call it inside the
    service's ``transaction.atomic``: a write rolled back leaves no row).

    ``actor`` is the caller's Scope (``access.scope.SYSTEM``: the system). ``action`` is
    ``<entity>.<verb>`` (``listing.update``); ``target`` the object written. ``enterprise``
    (the object or its key) is the tenant whose trail holds the row: by default the actor's
    enterprise; a service acting on another enterprise's object passes the object's owner
    (its key will do: the INSERT then reads the park). ``park`` (whose operator and
    regulators see the row) defaults to that enterprise's park, or to the actor's park when
    they hold a role in only one. One INSERT, no other query: the Scope was resolved by the
    caller, once.
    """
    scope = _scope_of(actor)
    user = scope.user if scope.user is not None and scope.user.is_authenticated else None
    if enterprise is None or (isinstance(enterprise, int) and enterprise == scope.enterprise_id):
        enterprise = scope.enterprise  # the actor's own, loaded with its park
    enterprise_id = enterprise.pk if isinstance(enterprise, models.Model) else enterprise
    park_id: int | Subquery | None
    if park is not None:
        park_id = park if isinstance(park, int) else park.pk
    elif isinstance(enterprise, int):
        # Only the key is known: the INSERT reads the park itself, no query more.
        park_id = Subquery(
            _enterprise_model().objects.filter(pk=enterprise).order_by().values("park_id")[:1]
        )
    elif enterprise is not None:
        park_id = getattr(enterprise, "park_id", None)
    elif len(scope.park_ids) == 1:
        (park_id,) = scope.park_ids
    else:
        park_id = None
    entry = AuditEntry(
        user=user,
        username=user.get_username() if user is not None else "",
        enterprise_id=enterprise_id,
        park_id=park_id,
        role=_role_of(scope),
        via=current_via(),
        request_id=current_request_id(),
        action=action,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        changes=json_value(dict(changes or {})),
        note=note,
    )

    def written(row: models.Model) -> None:
        if isinstance(park_id, Subquery):
            vars(row).pop("park_id")  # deferred (Model.get_deferred_fields): read if asked for

    append_row(entry, then=written)
    return entry
