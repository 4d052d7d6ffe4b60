"""Who sees and writes what of the energy figures: the one place, for the API, the admin,
the selectors and the services.

* an enterprise's staff read its own meters, readings and output values; its admins
  (``ADMIN_ROLES``) write them;
* park operators and regulators read those of the enterprises in their parks, and the
  park-level figures of their parks; they never write them (regulators never write
  anything; an operator does not enter an enterprise's readings);
* an enterprise's staff never read park-level figures (those of the other enterprises);
* superusers read and write everything.
"""

from django.db.models import Q

from access.roles import ADMIN_ROLES
from access.scope import Scope


def enterprises_visible_q(scope: Scope, field: str = "enterprise") -> Q:
    """The enterprises whose energy rows ``scope`` reads, as a condition on ``field``."""
    if scope.is_superuser:
        return Q()
    if scope.enterprise is not None:
        return Q(**{f"{field}_id": scope.enterprise.pk})
    if scope.park_ids:
        return Q(**{f"{field}__park_id__in": scope.park_ids})
    return Q(pk__in=[])


def enterprises_writable_q(scope: Scope, field: str = "enterprise") -> Q:
    """The enterprises whose meters, readings and output values ``scope`` writes."""
    if scope.is_superuser or scope.is_system:
        return Q()
    if scope.enterprise is not None and scope.has_role(*ADMIN_ROLES):
        return Q(**{f"{field}_id": scope.enterprise.pk})
    return Q(pk__in=[])


def meters_writable_q(scope: Scope) -> Q:
    """The meters whose readings ``scope`` records (a condition on Meter)."""
    return enterprises_writable_q(scope)


def may_read_park(scope: Scope, park_id: int) -> bool:
    """Whether ``scope`` reads the park-level energy figures of ``park_id``: its operators
    and regulators, and superusers; never an enterprise's staff."""
    if scope.is_superuser:
        return True
    if scope.enterprise is not None:
        return False
    return park_id in scope.park_ids
