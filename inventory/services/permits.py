"""Writes of enterprises' permits to buy controlled chemicals, one transaction each.

Only the enterprise's admin (or a superuser) records, changes or deletes its permits. Each
write emits ``permit.created|updated|deleted`` with ``{"permit_id", "enterprise_id",
"kind", "material_ids"}`` (no material ids: the permit names none, so covers every material
its kind may cover), delivered after commit. Whether a permit lets a buyer buy is decided by
inventory.controls, not here. Each write leaves one audit row (``permit.<verb>``) in the
enterprise's trail, with the licence's terms before and after (materials as their ids).
Each write runs the model's own validators on the permit's fields (``common.validation``).
"""

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from access.roles import ADMIN_ROLES
from access.scope import Scope
from audit.services import audit_record, changes_between, snapshot
from common.events import event_emit
from common.exceptions import DomainError, NotPermitted
from common.services import refuse_unchangeable, save_unique
from common.validation import validate_row
from inventory.controls import PermitKind
from inventory.models import Material, Permit
from parks.models import Enterprise

# What permit_update changes; the enterprise is fixed.
PERMIT_FIELDS = ("kind", "number", "valid_from", "expires_on", "materials", "note")
PERMIT_NUMBER_MAX_LENGTH = 64
PERMIT_NOTE_MAX_LENGTH = 255
MAX_PERMIT_MATERIALS = 200
_MAX_ID = 2**63 - 1
# What a permit's audit rows show: its terms (``materials`` added as the sorted ids).
PERMIT_AUDIT_FIELDS = ("kind", "number", "valid_from", "expires_on", "note")


def _terms(permit: Permit, material_ids: Iterable[int]) -> dict[str, Any]:
    return {**snapshot(permit, PERMIT_AUDIT_FIELDS), "materials": sorted(material_ids)}


def _check_writer(*, actor: Scope, enterprise_id: int) -> None:
    if actor.is_superuser:
        return
    if actor.enterprise_id != enterprise_id:
        raise NotPermitted(_("Only the enterprise's own admin records its permits."))
    if not actor.has_role(*ADMIN_ROLES):
        raise NotPermitted(_("Only the enterprise's admin records its permits."))


def _material_ids(materials: Iterable[Material | int]) -> list[int]:
    """The ids of ``materials`` (instances or ids), each once, all in the catalogue."""
    ids: list[int] = []
    for item in materials:
        pk = item.pk if isinstance(item, Material) else item
        if not isinstance(pk, int) or isinstance(pk, bool) or not 1 <= pk <= _MAX_ID:
            raise DomainError(_("Unknown material id: %s.") % pk, field="materials")
        ids.append(pk)
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_PERMIT_MATERIALS:
        raise DomainError(
            _("At most %(max)d materials.") % {"max": MAX_PERMIT_MATERIALS}, field="materials"
        )
    found = set(Material.objects.filter(pk__in=ids).values_list("pk", flat=True))
    unknown = [str(pk) for pk in ids if pk not in found]
    if unknown:
        raise DomainError(
            _("Unknown material ids: %(ids)s.") % {"ids": ", ".join(unknown)}, field="materials"
        )
    return ids


def _check_permit(permit: Permit) -> None:
    if permit.kind not in PermitKind.values:
        raise DomainError(_("Unknown kind of permit."), field="kind")
    permit.number = (permit.number or "").strip()
    if not permit.number:
        raise DomainError(_("The permit's number is required."), field="number")
    if len(permit.number) > PERMIT_NUMBER_MAX_LENGTH:
        raise DomainError(
            _("At most %(max)d characters.") % {"max": PERMIT_NUMBER_MAX_LENGTH}, field="number"
        )
    if len(permit.note or "") > PERMIT_NOTE_MAX_LENGTH:
        raise DomainError(
            _("At most %(max)d characters.") % {"max": PERMIT_NOTE_MAX_LENGTH}, field="note"
        )
    if not isinstance(permit.valid_from, date) or not isinstance(permit.expires_on, date):
        raise DomainError(_("A date is expected."), field="expires_on")
    if permit.expires_on < permit.valid_from:
        raise DomainError(_("The permit expires before it becomes valid."), field="expires_on")


def _save(permit: Permit) -> None:
    save_unique(
        permit,
        clash=Permit.objects.filter(
            enterprise_id=permit.enterprise_id, kind=permit.kind, number=permit.number
        ).exclude(pk=permit.pk),
        field="number",
        message=_("The enterprise already holds a permit of this kind with this number."),
    )


def _emit(topic: str, permit: Permit, material_ids: list[int]) -> None:
    event_emit(
        topic=topic,
        payload={
            "permit_id": permit.pk,
            "enterprise_id": permit.enterprise_id,
            "kind": permit.kind,
            "material_ids": sorted(material_ids),
        },
    )


@transaction.atomic
def permit_create(
    *,
    actor: Scope,
    enterprise: Enterprise,
    kind: str,
    number: str,
    valid_from: date,
    expires_on: date,
    materials: Iterable[Material | int] = (),
    note: str = "",
) -> Permit:
    """Record a permit of ``enterprise`` (its admin's, or a superuser's write). Checks the
    kind, the number, the dates and that the materials are in the catalogue; a number of
    the same kind recorded meanwhile is refused on ``number``. Locks nothing (a new row);
    emits ``permit.created`` after commit."""
    _check_writer(actor=actor, enterprise_id=enterprise.pk)
    material_ids = _material_ids(materials)
    permit = Permit(
        enterprise=enterprise,
        kind=kind,
        number=number,
        valid_from=valid_from,
        expires_on=expires_on,
        note=note or "",
        created_by=actor.user if getattr(actor.user, "is_authenticated", False) else None,
    )
    _check_permit(permit)
    validate_row(permit)
    _save(permit)
    permit.materials.set(material_ids)
    _emit("permit.created", permit, material_ids)
    audit_record(
        actor=actor,
        action="permit.create",
        target=permit,
        changes=changes_between({}, _terms(permit, material_ids)),
        enterprise=enterprise,
    )
    return permit


@transaction.atomic
def permit_update(*, actor: Scope, permit: Permit, **changes: Any) -> Permit:
    """Change a permit (``PERMIT_FIELDS``; ``materials`` replaces the list). Locks the
    permit's row; emits ``permit.updated`` after commit."""
    _check_writer(actor=actor, enterprise_id=permit.enterprise_id)
    refuse_unchangeable(changes, PERMIT_FIELDS)
    current = (
        Permit.objects.select_for_update(of=("self",))
        .select_related("enterprise")
        .get(pk=permit.pk)
    )
    before = _terms(current, current.materials.values_list("pk", flat=True))
    materials = changes.pop("materials", None)
    material_ids = _material_ids(materials) if materials is not None else None
    for name, value in changes.items():
        setattr(current, name, value)
    _check_permit(current)
    validate_row(current, changes)
    _save(current)
    if material_ids is not None:
        current.materials.set(material_ids)
    else:
        material_ids = list(current.materials.values_list("pk", flat=True))
    _emit("permit.updated", current, material_ids)
    audit_record(
        actor=actor,
        action="permit.update",
        target=current,
        changes=changes_between(before, _terms(current, material_ids)),
        enterprise=current.enterprise,
    )
    return current


@transaction.atomic
def permit_delete(*, actor: Scope, permit: Permit) -> None:
    """Delete a permit (withdrawn or recorded by mistake; an expired one may stay as a
    record). Emits ``permit.deleted`` after commit. One audit row, ``permit.delete``, with
    the terms it had (none if it was already gone)."""
    _check_writer(actor=actor, enterprise_id=permit.enterprise_id)
    current = (
        Permit.objects.select_for_update(of=("self",))
        .select_related("enterprise")
        .filter(pk=permit.pk)
        .first()
    )
    if current is None:
        return
    material_ids = list(current.materials.values_list("pk", flat=True))
    before = _terms(current, material_ids)
    permit_id = current.pk
    current.delete()
    current.pk = permit_id
    _emit("permit.deleted", current, material_ids)
    audit_record(
        actor=actor,
        action="permit.delete",
        target=current,
        changes=changes_between(before, {}),
        enterprise=current.enterprise,
    )
