"""Every write to the enterprise directory, each in one transaction.

Who may call what is decided before the service runs (the viewset's scope and role, the
admin's permissions); a service enforces what holds whoever calls it: which fields may
change at all, the model's validators on what it writes (the USCC's check character, the
coordinates' ranges: ``common.validation``) and the uniqueness of the USCC, also against a
concurrent insert. Each write leaves one audit row (``enterprise.<verb>``) in the
enterprise's own trail, with its details before and after (licence number, activation,
park...).

Who acts for which is written here too (the models are ``access``'s, which sits below the
audit trail): granting, changing and revoking a membership (``membership.<verb>``, in the
enterprise's trail) or a park role (``park_role.<verb>``, in the park's), so "who made
this user an admin of this enterprise, and when?" has an answer.
"""

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from access.models import Membership, ParkRole
from access.scope import Scope
from audit.services import audit_record, changes_between, snapshot
from common.exceptions import DomainError
from common.services import refuse_unchangeable, save_unique
from common.validation import validate_row
from parks.models import Enterprise, EnterpriseKind, Park

# What may change about an enterprise once registered. Who may change which of them (an
# enterprise admin not its USCC, park or activation) is the caller's to decide.
ENTERPRISE_FIELDS = (
    "uscc",
    "park",
    "name_zh",
    "name_en",
    "latitude",
    "longitude",
    "industry",
    "hazchem_licence_no",
    "is_active",
)


PARK_FIELDS = (
    "code",
    "name_zh",
    "name_en",
    "division_code",
    "latitude",
    "longitude",
    "area_mu",
)


def _save_park(park: Park, *, update_fields: list[str] | None = None) -> None:
    save_unique(
        park,
        clash=Park.objects.filter(code=park.code).exclude(pk=park.pk),
        field="code",
        message=_("A park with this code already exists."),
        update_fields=update_fields,
    )


@transaction.atomic
def park_create(*, actor: Scope, **values: Any) -> Park:
    """Register a park (``PARK_FIELDS``; any other field is refused naming it). A code
    taken meanwhile is refused on ``code``. One audit row, ``park.create``, in the park's
    trail."""
    refuse_unchangeable(values, PARK_FIELDS)
    park = Park(**values)
    validate_row(park)
    _save_park(park)
    audit_record(
        actor=actor,
        action="park.create",
        target=park,
        changes=changes_between({}, snapshot(park, PARK_FIELDS)),
        park=park.pk,
    )
    return park


@transaction.atomic
def park_update(*, actor: Scope, park: Park, **changes: Any) -> Park:
    """Change a park's details (``PARK_FIELDS``). Locks the park's row and writes only the
    changed columns. One audit row, ``park.update``, with the details changed."""
    refuse_unchangeable(changes, PARK_FIELDS)
    park = Park.objects.select_for_update().get(pk=park.pk)
    if not changes:
        return park
    before = snapshot(park, changes)
    for name, value in changes.items():
        setattr(park, name, value)
    validate_row(park, changes)
    _save_park(park, update_fields=list(changes))
    audit_record(
        actor=actor,
        action="park.update",
        target=park,
        changes=changes_between(before, snapshot(park, changes)),
        park=park.pk,
    )
    return park


def _save_enterprise(enterprise: Enterprise, *, update_fields: list[str] | None = None) -> None:
    save_unique(
        enterprise,
        clash=Enterprise.objects.filter(uscc=enterprise.uscc).exclude(pk=enterprise.pk),
        field="uscc",
        message=_("An enterprise with this USCC is already registered."),
        update_fields=update_fields,
    )


@transaction.atomic
def enterprise_create(
    *,
    actor: Scope,
    park: Park,
    uscc: str,
    name_zh: str,
    latitude: Decimal,
    longitude: Decimal,
    name_en: str = "",
    industry: str = "",
    hazchem_licence_no: str = "",
    is_active: bool = True,
) -> Enterprise:
    """Register an enterprise in a park. Locks nothing (a new row); a USCC registered
    meanwhile is refused on ``uscc``. One audit row, ``enterprise.create``, with every
    detail."""
    if not uscc:
        raise DomainError(_("A company is registered with its USCC."), field="uscc")
    enterprise = Enterprise(
        park=park,
        uscc=uscc,
        name_zh=name_zh,
        name_en=name_en,
        latitude=latitude,
        longitude=longitude,
        industry=industry,
        hazchem_licence_no=hazchem_licence_no,
        is_active=is_active,
    )
    validate_row(enterprise)
    _save_enterprise(enterprise)
    audit_record(
        actor=actor,
        action="enterprise.create",
        target=enterprise,
        changes=changes_between({}, snapshot(enterprise, ENTERPRISE_FIELDS)),
        enterprise=enterprise,
    )
    return enterprise


@transaction.atomic
def enterprise_update(*, actor: Scope, enterprise: Enterprise, **changes: Any) -> Enterprise:
    """Change an enterprise's details (``ENTERPRISE_FIELDS``); any other field is refused,
    naming it. Locks the enterprise's row and writes only the changed columns. One audit
    row, ``enterprise.update``, with the details changed (none when nothing was asked)."""
    refuse_unchangeable(changes, ENTERPRISE_FIELDS)
    enterprise = (
        Enterprise.objects.select_for_update(of=("self",))
        .select_related("park")
        .get(pk=enterprise.pk)
    )
    if not changes:
        return enterprise
    if "uscc" in changes and not changes["uscc"] and enterprise.kind == EnterpriseKind.COMPANY:
        raise DomainError(_("A company is registered with its USCC."), field="uscc")
    before = snapshot(enterprise, changes)
    for name, value in changes.items():
        setattr(enterprise, name, value)
    validate_row(enterprise, changes)
    _save_enterprise(enterprise, update_fields=list(changes))
    audit_record(
        actor=actor,
        action="enterprise.update",
        target=enterprise,
        changes=changes_between(before, snapshot(enterprise, changes)),
        enterprise=enterprise,
    )
    return enterprise


# --- Who acts for which ---------------------------------------------------------------------

MEMBERSHIP_FIELDS = ("user", "enterprise", "role")
PARK_ROLE_FIELDS = ("user", "park", "role")


def _save_membership(membership: Membership, *, update_fields: list[str] | None = None) -> None:
    save_unique(
        membership,
        clash=Membership.objects.filter(user_id=membership.user_id).exclude(pk=membership.pk),
        field="user",
        message=_("This login already acts for an enterprise."),
        update_fields=update_fields,
    )


def _save_park_role(park_role: ParkRole, *, update_fields: list[str] | None = None) -> None:
    save_unique(
        park_role,
        clash=ParkRole.objects.filter(
            user_id=park_role.user_id, park_id=park_role.park_id, role=park_role.role
        ).exclude(pk=park_role.pk),
        field="role",
        message=_("This login already holds this role in this park."),
        update_fields=update_fields,
    )


@transaction.atomic
def membership_grant(*, actor: Scope, user: User, enterprise: Enterprise, role: str) -> Membership:
    """Make ``user`` act for ``enterprise`` in ``role``. A login acts for one enterprise:
    one that already does is refused on ``user``, also against a concurrent grant. One
    audit row, ``membership.grant``, in the enterprise's trail."""
    membership = Membership(user=user, enterprise=enterprise, role=role)
    validate_row(membership)
    _save_membership(membership)
    audit_record(
        actor=actor,
        action="membership.grant",
        target=membership,
        changes=changes_between({}, snapshot(membership, MEMBERSHIP_FIELDS)),
        enterprise=membership.enterprise_id,
    )
    return membership


@transaction.atomic
def membership_update(*, actor: Scope, membership: Membership, **changes: Any) -> Membership:
    """Change a membership's role (or, for the platform, its user or enterprise); any other
    field is refused naming it. Locks the row. One audit row, ``membership.update``, in
    the trail of the enterprise the membership now belongs to (with the enterprise before
    and after when it moved)."""
    refuse_unchangeable(changes, MEMBERSHIP_FIELDS)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if not changes:
        return membership
    before = snapshot(membership, changes)
    for name, value in changes.items():
        setattr(membership, name, value)
    validate_row(membership, changes)
    _save_membership(membership, update_fields=list(changes))
    audit_record(
        actor=actor,
        action="membership.update",
        target=membership,
        changes=changes_between(before, snapshot(membership, changes)),
        enterprise=membership.enterprise_id,
    )
    return membership


@transaction.atomic
def membership_revoke(*, actor: Scope, membership: Membership) -> None:
    """End a membership: the login no longer acts for the enterprise. One audit row,
    ``membership.revoke``, with what the membership was."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    audit_record(
        actor=actor,
        action="membership.revoke",
        target=membership,
        changes=changes_between(snapshot(membership, MEMBERSHIP_FIELDS), {}),
        enterprise=membership.enterprise_id,
    )
    membership.delete()


@transaction.atomic
def park_role_grant(*, actor: Scope, user: User, park: Park, role: str) -> ParkRole:
    """Give ``user`` a role (operator, regulator) in ``park``; the same role twice is
    refused on ``role``. One audit row, ``park_role.grant``, in the park's trail."""
    park_role = ParkRole(user=user, park=park, role=role)
    validate_row(park_role)
    _save_park_role(park_role)
    audit_record(
        actor=actor,
        action="park_role.grant",
        target=park_role,
        changes=changes_between({}, snapshot(park_role, PARK_ROLE_FIELDS)),
        park=park_role.park_id,
    )
    return park_role


@transaction.atomic
def park_role_update(*, actor: Scope, park_role: ParkRole, **changes: Any) -> ParkRole:
    """Change a park role's user, park or role. Locks the row. One audit row,
    ``park_role.update``, in the trail of the park the role now belongs to."""
    refuse_unchangeable(changes, PARK_ROLE_FIELDS)
    park_role = ParkRole.objects.select_for_update().get(pk=park_role.pk)
    if not changes:
        return park_role
    before = snapshot(park_role, changes)
    for name, value in changes.items():
        setattr(park_role, name, value)
    validate_row(park_role, changes)
    _save_park_role(park_role, update_fields=list(changes))
    audit_record(
        actor=actor,
        action="park_role.update",
        target=park_role,
        changes=changes_between(before, snapshot(park_role, changes)),
        park=park_role.park_id,
    )
    return park_role


@transaction.atomic
def park_role_revoke(*, actor: Scope, park_role: ParkRole) -> None:
    """Take a park role away. One audit row, ``park_role.revoke``, with what it was."""
    park_role = ParkRole.objects.select_for_update().get(pk=park_role.pk)
    audit_record(
        actor=actor,
        action="park_role.revoke",
        target=park_role,
        changes=changes_between(snapshot(park_role, PARK_ROLE_FIELDS), {}),
        park=park_role.park_id,
    )
    park_role.delete()
