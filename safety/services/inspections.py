"""Inspections and their hidden hazards: recorded by the park's operators or regulators
(``safety.rules.may_inspect``, the one exception to "regulators never write"), rectified by
the inspected enterprise's admins, confirmed or reopened by the inspectors.

Each service runs in one transaction with its one audit row, in the inspected
enterprise's trail (its park's operators and regulators read it there). A hazard's
rectification, confirmation and reopening lock the hazard's row first, so two of them
are decided one after the other.
"""

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access.scope import Scope
from audit.services import audit_record, changes_between, snapshot
from common.exceptions import Conflict, DomainError, NotPermitted
from common.validation import validate_row
from parks.models import Enterprise, Park
from safety.models import HazardGrade, HiddenHazard, Inspection
from safety.rules import may_inspect, may_rectify

INSPECTION_FIELDS = ("park", "enterprise", "inspected_on", "inspector", "notes")
HAZARD_FIELDS = ("inspection", "description", "grade", "found_on", "deadline")
RECTIFICATION_FIELDS = ("rectified_on", "rectification_note", "confirmed_at", "confirmed_by")


def _not_in_future(value: date, *, field: str) -> None:
    if value > timezone.localdate():
        raise DomainError(_("Cannot be in the future."), field=field)


@transaction.atomic
def inspection_create(
    *, actor: Scope, park: Park, enterprise: Enterprise, inspected_on: date, notes: str = ""
) -> Inspection:
    """Record an inspection of ``enterprise`` (of ``park``) by the caller, a park operator
    or regulator of the park. One audit row, ``inspection.create``."""
    if not may_inspect(actor, park.pk):
        raise NotPermitted(_("Only the park's operators and regulators record inspections."))
    if enterprise.park_id != park.pk:
        raise DomainError(_("This enterprise is not in this park."), field="enterprise")
    _not_in_future(inspected_on, field="inspected_on")
    inspection = Inspection(
        park=park,
        enterprise=enterprise,
        inspected_on=inspected_on,
        inspector=actor.user,
        notes=notes,
    )
    validate_row(inspection)
    inspection.save()
    audit_record(
        actor=actor,
        action="inspection.create",
        target=inspection,
        changes=changes_between({}, snapshot(inspection, INSPECTION_FIELDS)),
        enterprise=enterprise,
        park=park,
    )
    return inspection


@transaction.atomic
def hazard_record(
    *, actor: Scope, inspection: Inspection, description: str, grade: str, deadline: date
) -> HiddenHazard:
    """Record a hidden hazard found by ``inspection``, to be rectified by ``deadline`` (not
    before the inspection's day). One audit row, ``hidden_hazard.create``."""
    if not may_inspect(actor, inspection.park_id):
        raise NotPermitted(_("Only the park's operators and regulators record hidden hazards."))
    if grade not in HazardGrade.values:
        raise DomainError(_("Unknown grade."), field="grade")
    if deadline < inspection.inspected_on:
        raise DomainError(
            _("The deadline is before the inspection (%(day)s).")
            % {"day": inspection.inspected_on.isoformat()},
            field="deadline",
        )
    hazard = HiddenHazard(
        inspection=inspection,
        park_id=inspection.park_id,
        enterprise_id=inspection.enterprise_id,
        description=description,
        grade=grade,
        found_on=inspection.inspected_on,
        deadline=deadline,
    )
    validate_row(hazard)
    hazard.save()
    audit_record(
        actor=actor,
        action="hidden_hazard.create",
        target=hazard,
        changes=changes_between({}, snapshot(hazard, HAZARD_FIELDS)),
        enterprise=inspection.enterprise_id,
        park=inspection.park_id,
    )
    return hazard


def _lock(hazard: HiddenHazard) -> HiddenHazard:
    return HiddenHazard.objects.select_for_update(of=("self",)).get(pk=hazard.pk)


def _save_rectification(hazard: HiddenHazard, before: dict[str, object]) -> dict[str, list[Any]]:
    """Save the rectification's fields; returns the audit row's changes."""
    validate_row(hazard, RECTIFICATION_FIELDS)
    hazard.save(update_fields=list(RECTIFICATION_FIELDS))
    return changes_between(before, snapshot(hazard, RECTIFICATION_FIELDS))


@transaction.atomic
def hazard_rectify(
    *, actor: Scope, hazard: HiddenHazard, rectified_on: date, note: str = ""
) -> HiddenHazard:
    """The inspected enterprise reports the hazard rectified on ``rectified_on`` (not before
    it was found, not in the future). Locks the hazard. One audit row,
    ``hidden_hazard.rectify``. ``hazard`` is refreshed in place."""
    locked = _lock(hazard)
    if not may_rectify(actor, enterprise_id=locked.enterprise_id):
        raise NotPermitted(_("Only the inspected enterprise's admins report a rectification."))
    if locked.rectified_on is not None:
        raise Conflict(_("This hazard is already reported rectified."))
    if rectified_on < locked.found_on:
        raise DomainError(
            _("Before the hazard was found (%(day)s).") % {"day": locked.found_on.isoformat()},
            field="rectified_on",
        )
    _not_in_future(rectified_on, field="rectified_on")
    before = snapshot(locked, RECTIFICATION_FIELDS)
    locked.rectified_on = rectified_on
    locked.rectification_note = note
    audit_record(
        actor=actor,
        action="hidden_hazard.rectify",
        target=locked,
        changes=_save_rectification(locked, before),
        enterprise=locked.enterprise_id,
        park=locked.park_id,
    )
    hazard.refresh_from_db()
    return hazard


@transaction.atomic
def hazard_confirm(*, actor: Scope, hazard: HiddenHazard) -> HiddenHazard:
    """The park's operators or regulators confirm a reported rectification. Locks the
    hazard. One audit row, ``hidden_hazard.confirm``."""
    locked = _lock(hazard)
    if not may_inspect(actor, locked.park_id):
        raise NotPermitted(_("Only the park's operators and regulators confirm."))
    if locked.rectified_on is None:
        raise Conflict(_("This hazard is not reported rectified."))
    if locked.confirmed_at is not None:
        raise Conflict(_("This rectification is already confirmed."))
    before = snapshot(locked, RECTIFICATION_FIELDS)
    locked.confirmed_at = timezone.now()
    locked.confirmed_by = actor.user
    audit_record(
        actor=actor,
        action="hidden_hazard.confirm",
        target=locked,
        changes=_save_rectification(locked, before),
        enterprise=locked.enterprise_id,
        park=locked.park_id,
    )
    hazard.refresh_from_db()
    return hazard


@transaction.atomic
def hazard_reopen(*, actor: Scope, hazard: HiddenHazard, note: str = "") -> HiddenHazard:
    """The park's operators or regulators find a reported (or confirmed) rectification
    wanting: the hazard is open again (overdue if its deadline has passed), ``note`` says
    why. Locks the hazard. One audit row, ``hidden_hazard.reopen``."""
    locked = _lock(hazard)
    if not may_inspect(actor, locked.park_id):
        raise NotPermitted(_("Only the park's operators and regulators reopen a hazard."))
    if locked.rectified_on is None:
        raise Conflict(_("This hazard is still open."))
    before = snapshot(locked, RECTIFICATION_FIELDS)
    locked.rectified_on = None
    locked.rectification_note = ""
    locked.confirmed_at = None
    locked.confirmed_by = None
    audit_record(
        actor=actor,
        action="hidden_hazard.reopen",
        target=locked,
        changes=_save_rectification(locked, before),
        enterprise=locked.enterprise_id,
        park=locked.park_id,
        note=note,
    )
    hazard.refresh_from_db()
    return hazard
