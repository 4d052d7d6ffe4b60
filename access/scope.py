"""Who is asking, and what they may see: the one place tenancy is decided.

A :class:`Scope` is resolved once per request from the user:

* enterprise staff (a Membership) act for their enterprise, with its role;
* park operators run the shared warehouses (and later the pools) of their parks;
* regulators read the data of their parks and never write;
* superusers see everything.

Selectors take a Scope and return querysets that start from it; the base viewset in
``access.api`` hands every view its Scope, so a view cannot forget to scope.

Write services take the caller's Scope too (``actor: Scope``), never a bare user: a view
passes its request's (``request_scope``), an admin action the same, and a command, a task
or the demo seeding resolves its user once at its top (``resolve_scope``) and passes that
Scope down. What the system does on its own (the expiry sweeps, a scheduled or triggered
matching run) is done by :data:`SYSTEM`: no user, no enterprise, no standing.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ObjectDoesNotExist

from access.models import Membership, ParkRole
from access.roles import WRITE_ROLES, ParkRoleKind

if TYPE_CHECKING:
    from parks.models import Enterprise


@dataclass(frozen=True)
class Scope:
    user: Any
    enterprise: "Enterprise | None" = None
    role: str | None = None
    operated_park_ids: frozenset[int] = field(default_factory=frozenset)
    regulated_park_ids: frozenset[int] = field(default_factory=frozenset)
    is_superuser: bool = False

    @property
    def enterprise_id(self) -> int | None:
        return self.enterprise.pk if self.enterprise is not None else None

    @property
    def is_system(self) -> bool:
        """No user: the system acting on its own (:data:`SYSTEM`)."""
        return self.user is None

    @property
    def is_regulator(self) -> bool:
        return bool(self.regulated_park_ids)

    @property
    def is_park_operator(self) -> bool:
        return bool(self.operated_park_ids)

    @property
    def park_ids(self) -> frozenset[int]:
        """Parks whose data this user reads beyond their own enterprise's."""
        return self.operated_park_ids | self.regulated_park_ids

    def has_role(self, *roles: str) -> bool:
        return self.role is not None and self.role in roles

    @property
    def is_read_only(self) -> bool:
        """Regulators and viewers never write; nor does a user with no standing at all."""
        if self.is_superuser:
            return False
        if self.enterprise is not None:
            return self.role not in WRITE_ROLES
        return not self.operated_park_ids


SYSTEM = Scope(user=None)
"""The actor of what nobody asked for: a sweep, a scheduled run. Its audit rows name no
user; it may write nothing that checks who is asking (``is_read_only``)."""


def resolve_scope(user: Any) -> Scope:
    """The Scope of ``user``. Uses the membership that authentication already loaded."""
    if user is None or not user.is_authenticated:
        return Scope(user=user)
    if user.is_superuser:
        return Scope(user=user, is_superuser=True)
    if "membership" in user._state.fields_cache:  # loaded with the token (common.auth)
        try:
            membership = user.membership
        except ObjectDoesNotExist:
            membership = None
    else:
        membership = Membership.objects.select_related("enterprise__park").filter(user=user).first()
    if membership is not None and membership.enterprise.is_active:
        return Scope(user=user, enterprise=membership.enterprise, role=membership.role)
    operated: set[int] = set()
    regulated: set[int] = set()
    for park_id, role in ParkRole.objects.filter(user=user).values_list("park_id", "role"):
        (operated if role == ParkRoleKind.OPERATOR else regulated).add(park_id)
    return Scope(
        user=user, operated_park_ids=frozenset(operated), regulated_park_ids=frozenset(regulated)
    )


def request_scope(request: Any) -> Scope:
    """The request's Scope, resolved once and kept on the request."""
    scope = getattr(request, "_parkshare_scope", None)
    if scope is None or scope.user is not request.user:
        scope = resolve_scope(request.user)
        request._parkshare_scope = scope
    return scope
