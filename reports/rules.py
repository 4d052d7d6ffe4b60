"""Who may read the reports of a park: the one rule, asked by the dashboard's pages and the
reports API alike.

* a superuser reads every park's reports;
* a regulator the parks they oversee, a park operator the parks they run;
* enterprise staff (any role, an enterprise admin too) and a login without standing read
  none: the reports show every enterprise of a park side by side, which is the park's and
  its regulators' to see. They are refused (403), not shown an empty dashboard.

:func:`reportable_parks` is :func:`may_report_on` as a queryset; a test holds them equal
for every kind of caller.
"""

from django.db.models import QuerySet

from access.scope import Scope
from parks.models import Park


def may_report(scope: Scope) -> bool:
    """Whether ``scope`` reads any park's reports at all (the dashboard, the reports API)."""
    if scope.is_superuser:
        return True
    return scope.enterprise is None and bool(scope.park_ids)


def may_report_on(scope: Scope, *, park_id: int) -> bool:
    """Whether ``scope`` reads the reports of park ``park_id``."""
    if not may_report(scope):
        return False
    return scope.is_superuser or park_id in scope.park_ids


def reportable_parks(*, scope: Scope) -> QuerySet[Park]:
    """The parks whose reports ``scope`` reads, by code (:func:`may_report_on` as a
    queryset)."""
    if not may_report(scope):
        return Park.objects.none()
    if scope.is_superuser:
        return Park.objects.order_by("code")
    return Park.objects.filter(pk__in=scope.park_ids).order_by("code")
