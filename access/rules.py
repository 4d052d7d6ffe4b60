"""The questions of who may: each answered here once, for the API, the admin and the
services alike.

* :func:`has_standing`: may this scope see anything scoped at all;
* :func:`may_write`: may it write where ``roles`` write (and park operators, if they do);
* :func:`may_change`: may it change this row of an enterprise;
* :func:`party_side` and :func:`parties_filter`: is it the seller or the buyer of a deal,
  and which deals it sees (one row's answer and the queryset's, from the same rule);
* :func:`people_of`: who acts for an enterprise in a role;
* :func:`people_concerned`: who must hear of an event (the notifications' audience).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from access.models import Membership, ParkRole
from access.scope import Scope

SELLER, BUYER = "seller", "buyer"


def has_standing(scope: Scope) -> bool:
    """A membership of an active enterprise, a park role, or a superuser: may see the rows
    of its scope. A login with none of them sees nothing."""
    return scope.is_superuser or scope.enterprise is not None or bool(scope.park_ids)


def may_write(scope: Scope, *, roles: frozenset[str], park_operator: bool = False) -> bool:
    """Whether ``scope`` may write at all (no object in view) where the enterprise roles
    ``roles`` write, and park operators too when ``park_operator``. Superusers always;
    regulators and viewers never."""
    if scope.is_superuser:
        return True
    if scope.is_read_only:
        return False
    if scope.enterprise is not None:
        return scope.role in roles
    return park_operator and scope.is_park_operator


def may_change(scope: Scope, *, owner_id: int | None) -> bool:
    """Whether ``scope`` may change a row its enterprise owns: a superuser every row, an
    enterprise's staff the rows of their enterprise (roles are :func:`may_write`'s)."""
    if scope.is_superuser:
        return True
    return scope.enterprise_id is not None and owner_id == scope.enterprise_id


def party_side(scope: Scope, *, seller_id: int, buyer_id: int) -> str | None:
    """``SELLER`` or ``BUYER`` when the scope's enterprise is that side of a deal (a match
    or an order), else None (a superuser is neither: a deal binds an enterprise)."""
    enterprise_id = scope.enterprise_id
    if enterprise_id is None:
        return None
    if enterprise_id == seller_id:
        return SELLER
    if enterprise_id == buyer_id:
        return BUYER
    return None


def _enterprise_ids_in(park_ids: frozenset[int]) -> list[int]:
    # The enterprise model through the membership's foreign key: access imports no parks.
    enterprise_model: Any = Membership._meta.get_field("enterprise").related_model
    return list(enterprise_model.objects.filter(park_id__in=park_ids).values_list("pk", flat=True))


def parties_filter(
    scope: Scope, *, seller_field: str = "seller_id", buyer_field: str = "buyer_id"
) -> Q:
    """The deals ``scope`` sees, as a condition on their seller and buyer columns: an
    enterprise those it sells or buys in, and those of the joint stockpiles it leads
    (``Enterprise.acts_for``, read with the enterprise); a park operator or regulator
    those whose seller or buyer is in their parks (read-only); a superuser all; anyone
    else none.

    A park's enterprises are read first, as a list of ids: measured on 150k matches,
    ``seller_id IN (subquery) OR buyer_id IN (subquery)`` is planned as a scan of every
    row with a hashed filter (12 ms to count a regulator's open matches), the literal ids
    as two index scans OR-ed as bitmaps (2.5 ms); a UNION of the two sides is slower still.
    """
    if scope.is_superuser:
        return Q()
    if scope.enterprise is not None:
        enterprise_id = scope.enterprise.pk
        acts_for = getattr(scope.enterprise, "acts_for", None)
        if acts_for:  # a pool's lead: the pool's deals too
            ids = [enterprise_id, *acts_for]
            return Q(**{f"{seller_field}__in": ids}) | Q(**{f"{buyer_field}__in": ids})
        return Q(**{seller_field: enterprise_id}) | Q(**{buyer_field: enterprise_id})
    if scope.park_ids:
        in_parks = _enterprise_ids_in(scope.park_ids)
        return Q(**{f"{seller_field}__in": in_parks}) | Q(**{f"{buyer_field}__in": in_parks})
    return Q(pk__in=[])


def people_of(*, enterprise_id: int, roles: frozenset[str]) -> QuerySet[Membership]:
    """The memberships of an enterprise's staff in ``roles``, with their users."""
    return Membership.objects.filter(enterprise_id=enterprise_id, role__in=roles).select_related(
        "user"
    )


@dataclass(frozen=True)
class Audience:
    """Who must hear of one event: each enterprise with the roles of its staff who hear,
    and the park staff in ``park_roles`` of ``park_ids``."""

    enterprises: tuple[tuple[int, frozenset[str]], ...] = ()
    park_ids: tuple[int, ...] = ()
    park_roles: frozenset[str] = frozenset()


def people_concerned(
    *,
    enterprises: Iterable[tuple[int, frozenset[str]]],
    park_ids: Iterable[int] = (),
    park_roles: frozenset[str] = frozenset(),
) -> list[tuple[int, int | None]]:
    """Who must hear of an event: :func:`people_concerned_many` of one audience."""
    audience = Audience(tuple(enterprises), tuple(park_ids), park_roles)
    return people_concerned_many([audience])[0]


def people_concerned_many(audiences: Sequence[Audience]) -> list[list[tuple[int, int | None]]]:
    """For each audience, who must hear of its event: the active staff of each enterprise
    in its roles, and the active holders of its park roles in its parks; ``(user id,
    enterprise id)`` pairs (None for park staff), each user once (an enterprise's staff
    before park staff), in user id order within each. Two queries at most, whatever the
    number of audiences (a batch of events is read at once)."""
    enterprise_ids = {e for a in audiences for e, _roles in a.enterprises}
    roles = {r for a in audiences for _e, rs in a.enterprises for r in rs}
    staff: dict[int, list[tuple[int, str]]] = defaultdict(list)  # enterprise -> (user, role)
    if enterprise_ids and roles:
        rows = (
            Membership.objects.filter(
                enterprise_id__in=enterprise_ids, role__in=roles, user__is_active=True
            )
            .order_by("user_id")
            .values_list("enterprise_id", "user_id", "role")
        )
        for enterprise_id, user_id, role in rows:
            staff[enterprise_id].append((user_id, role))
    park_ids = {p for a in audiences for p in a.park_ids if a.park_roles}
    park_roles = {r for a in audiences for r in a.park_roles}
    park_staff: dict[int, list[tuple[int, str]]] = defaultdict(list)  # park -> (user, role)
    if park_ids and park_roles:
        held = (
            ParkRole.objects.filter(park_id__in=park_ids, role__in=park_roles, user__is_active=True)
            .order_by("user_id")
            .values_list("park_id", "user_id", "role")
        )
        for park_id, user_id, role in held:
            park_staff[park_id].append((user_id, role))
    out: list[list[tuple[int, int | None]]] = []
    for audience in audiences:
        members: dict[int, int] = {}
        for enterprise_id, wanted in audience.enterprises:
            for user_id, role in staff.get(enterprise_id, ()):
                if role in wanted:
                    members.setdefault(user_id, enterprise_id)
        found: dict[int, int | None] = dict(sorted(members.items()))
        park_users = sorted(
            {
                user_id
                for park_id in audience.park_ids
                for user_id, role in park_staff.get(park_id, ())
                if role in audience.park_roles
            }
        )
        for user_id in park_users:
            found.setdefault(user_id, None)
        out.append(list(found.items()))
    return out
