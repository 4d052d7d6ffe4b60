"""Template tags of ParkShare's admin: the "waiting for you" panel of the admin home.

An enterprise's staff see what waits for their own step (proposals to decide, orders at
their step, reservations about to run out); park operators, regulators and superusers,
who take no step of a deal, see counts of what is open in their parks and the engine's
latest runs. Each list is one bounded query (and a count), whatever the data.
"""

from datetime import timedelta
from typing import Any

from django import template
from django.urls import reverse

from access.scope import request_scope
from common.admin import kg_text
from matching.models import MatchStatus
from matching.selectors import match_list, matches_waiting_for, run_list
from orders.models import OPEN_STATUSES
from orders.selectors import order_list, orders_waiting_for, reservations_expiring

register = template.Library()


@register.filter
def kg(quantity: Any) -> str:
    """A quantity in kg with its unit, as the admin's lists show it."""
    return kg_text(quantity)


#: How many rows each list of the panel shows (the count says how many there are).
SHOWN = 8
#: Reservations running out within this are "about to expire".
EXPIRING_WITHIN = timedelta(hours=24)


def _rows(queryset: Any) -> dict[str, Any]:
    return {"items": list(queryset[:SHOWN]), "count": queryset.count()}


@register.inclusion_tag("admin/includes/waiting.html", takes_context=True)
def waiting_for_you(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {"panel": None}
    scope = request_scope(request)
    order_url = "admin:orders_order_change"
    match_url = "admin:matching_match_change"
    if scope.enterprise is not None:
        matches = _rows(matches_waiting_for(scope=scope))
        orders = _rows(orders_waiting_for(scope=scope))
        reservations = _rows(reservations_expiring(scope=scope, within=EXPIRING_WITHIN))
        for match in matches["items"]:
            match.admin_url = reverse(match_url, args=[match.pk])
        for order in orders["items"]:
            order.admin_url = reverse(order_url, args=[order.pk])
        return {
            "panel": "enterprise",
            "matches": matches,
            "orders": orders,
            "reservations": reservations,
            "nothing": not (matches["count"] or orders["count"] or reservations["count"]),
        }
    if scope.is_superuser or scope.park_ids:
        undecided = match_list(scope=scope).filter(
            status__in=(MatchStatus.PROPOSED, MatchStatus.ACCEPTED)
        )
        changelist = "admin:{}_{}_changelist".format
        return {
            "panel": "park",
            "matches_url": reverse(changelist("matching", "match")),
            "orders_url": reverse(changelist("orders", "order")),
            "reservations_url": reverse(changelist("inventory", "reservation")),
            "undecided_matches": undecided.count(),
            "agreed_matches": match_list(scope=scope).filter(status=MatchStatus.AGREED).count(),
            "open_orders": order_list(scope=scope).filter(status__in=OPEN_STATUSES).count(),
            "reservations": _rows(reservations_expiring(scope=scope, within=EXPIRING_WITHIN)),
            "runs": list(run_list(scope=scope).order_by("-id")[:5]),
        }
    return {"panel": None}
