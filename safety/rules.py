"""Who may do what in production safety: each question answered once, here, for the
services, the selectors, the API and the admin alike.

The one exception to "regulators never write" (``access.scope.Scope.is_read_only``) is
here: :func:`may_inspect`. Recording an inspection and the hidden hazards it finds, and
confirming or reopening a hazard's rectification, is the regulators' own work (the
emergency-management bureau inspects the park's enterprises), so the regulators of a park
may do it there, as its operators may. They write nothing else.
"""

from django.db.models import Q

from access.roles import ADMIN_ROLES
from access.scope import Scope


def may_inspect(scope: Scope, park_id: int) -> bool:
    """Record an inspection of an enterprise of park ``park_id`` and its hidden hazards,
    confirm or reopen their rectification: the park's operators and regulators (the
    explicit exception for regulators), and superusers."""
    if scope.is_superuser:
        return True
    return park_id in scope.operated_park_ids or park_id in scope.regulated_park_ids


def may_inspect_somewhere(scope: Scope) -> bool:
    """:func:`may_inspect` for some park: whether the inspectors' actions are open to the
    caller at all (which park, the view's scoped fields and querysets decide)."""
    return scope.is_superuser or bool(scope.operated_park_ids or scope.regulated_park_ids)


def inspectable_parks(scope: Scope) -> Q:
    """:func:`may_inspect` as a condition on a ``park_id`` column."""
    if scope.is_superuser:
        return Q()
    return Q(park_id__in=scope.operated_park_ids | scope.regulated_park_ids)


def may_report_incident(scope: Scope, *, enterprise_id: int, park_id: int) -> bool:
    """Report or correct an incident of an enterprise: its admins, the operators of its park,
    superusers."""
    if scope.is_superuser:
        return True
    if scope.enterprise is not None:
        return scope.enterprise_id == enterprise_id and scope.has_role(*ADMIN_ROLES)
    return park_id in scope.operated_park_ids


def incidents_reportable(
    scope: Scope, *, enterprise_field: str = "enterprise_id", park_field: str = "park_id"
) -> Q:
    """:func:`may_report_incident` as a condition on an enterprise and a park column."""
    if scope.is_superuser:
        return Q()
    if scope.enterprise is not None:
        if not scope.has_role(*ADMIN_ROLES):
            return Q(pk__in=[])
        return Q(**{enterprise_field: scope.enterprise_id})
    return Q(**{f"{park_field}__in": scope.operated_park_ids})


def may_rectify(scope: Scope, *, enterprise_id: int) -> bool:
    """Report a hidden hazard rectified: the inspected enterprise's admins, superusers."""
    if scope.is_superuser:
        return True
    return scope.enterprise_id == enterprise_id and scope.has_role(*ADMIN_ROLES)


def may_set_unit_profile(scope: Scope, *, park_id: int) -> bool:
    """Set a unit's safety profile (people within 500 m): the park's operators, superusers."""
    return scope.is_superuser or park_id in scope.operated_park_ids


def visible(
    scope: Scope, *, enterprise_field: str = "enterprise_id", park_field: str = "park_id"
) -> Q:
    """Who sees a safety row, the one rule of every selector: an enterprise's users the rows
    of their own enterprise, park operators and regulators those of their parks, superusers
    all, anyone else nothing."""
    if scope.is_superuser:
        return Q()
    if scope.enterprise is not None:
        return Q(**{enterprise_field: scope.enterprise_id})
    if scope.park_ids:
        return Q(**{f"{park_field}__in": scope.park_ids})
    return Q(pk__in=[])


def may_read_park(scope: Scope, park_id: int) -> bool:
    """Whether the park-level figures of ``park_id`` are the caller's to read (an
    enterprise's users read their own park's, of their own rows only)."""
    if scope.is_superuser:
        return True
    if scope.enterprise is not None:
        return scope.enterprise.park_id == park_id
    return park_id in scope.park_ids
