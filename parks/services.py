"""Every write to the enterprise directory, each in one transaction.

Who may call what is decided before the service runs (the viewset's scope and role, the
admin's permissions); a service enforces what holds whoever calls it: which fields may
change at all, the model's validators on what it writes (the USCC's check character, the
coordinates' ranges: ``common.validation``) and the uniqueness of the USCC, also against a
concurrent insert. Each write leaves one audit row (``enterprise.<verb>``) in the
enterprise's own trail, with its details before and after (licence number, activation,
park...).
"""

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from access.scope import Scope
from audit.services import audit_record, changes_between, snapshot
from common.services import refuse_unchangeable, save_unique
from common.validation import validate_row
from parks.models import Enterprise, Park

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
