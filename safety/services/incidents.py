"""Incidents: reported by the enterprise's admins or the park's operators, graded per
Decree 493 (``safety.grading.incident_grade``) on every write of their figures. One
transaction and one audit row each, in the enterprise's trail."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from access.scope import Scope
from audit.services import audit_record, changes_between, snapshot
from common.exceptions import DomainError, NotPermitted
from common.services import refuse_unchangeable
from common.validation import validate_row
from parks.models import Enterprise
from safety.grading import incident_grade
from safety.models import Incident
from safety.rules import may_report_incident

INCIDENT_FIELDS = (
    "enterprise",
    "occurred_at",
    "description",
    "deaths",
    "serious_injuries",
    "direct_loss_yuan",
    "grade",
)
CHANGEABLE = ("occurred_at", "description", "deaths", "serious_injuries", "direct_loss_yuan")


def _check_figures(incident: Incident) -> None:
    if incident.occurred_at > timezone.now():
        raise DomainError(_("Cannot be in the future."), field="occurred_at")
    for name in ("deaths", "serious_injuries", "direct_loss_yuan"):
        if getattr(incident, name) < 0:
            raise DomainError(_("Cannot be negative."), field=name)
    incident.grade = incident_grade(
        incident.deaths, incident.serious_injuries, incident.direct_loss_yuan
    )
    validate_row(incident)  # bounds, lengths, decimal places: before any write


@transaction.atomic
def incident_report(
    *,
    actor: Scope,
    enterprise: Enterprise,
    occurred_at: datetime,
    description: str,
    deaths: int = 0,
    serious_injuries: int = 0,
    direct_loss_yuan: Decimal = Decimal(0),
) -> Incident:
    """Report an incident of ``enterprise``, graded from its figures. One audit row,
    ``incident.report``."""
    if not may_report_incident(actor, enterprise_id=enterprise.pk, park_id=enterprise.park_id):
        raise NotPermitted(
            _("An incident is reported by its enterprise's admins or the park's operators.")
        )
    incident = Incident(
        park_id=enterprise.park_id,
        enterprise=enterprise,
        occurred_at=occurred_at,
        description=description,
        deaths=deaths,
        serious_injuries=serious_injuries,
        direct_loss_yuan=direct_loss_yuan,
        reported_by=actor.user,
        grade="",
    )
    _check_figures(incident)
    incident.save()
    audit_record(
        actor=actor,
        action="incident.report",
        target=incident,
        changes=changes_between({}, snapshot(incident, INCIDENT_FIELDS)),
        enterprise=incident.enterprise_id,
        park=incident.park_id,
    )
    return incident


@transaction.atomic
def incident_update(*, actor: Scope, incident: Incident, **changes: Any) -> Incident:
    """Correct an incident's time, description or figures (deaths within 30 days count:
    the grade is computed again). Locks the row. One audit row, ``incident.update``."""
    refuse_unchangeable(changes, CHANGEABLE)
    locked = Incident.objects.select_for_update(of=("self",)).get(pk=incident.pk)
    if not may_report_incident(actor, enterprise_id=locked.enterprise_id, park_id=locked.park_id):
        raise NotPermitted(
            _("An incident is corrected by its enterprise's admins or the park's operators.")
        )
    before = snapshot(locked, INCIDENT_FIELDS)
    for name, value in changes.items():
        setattr(locked, name, value)
    _check_figures(locked)
    locked.save()
    audit_record(
        actor=actor,
        action="incident.update",
        target=locked,
        changes=changes_between(before, snapshot(locked, INCIDENT_FIELDS)),
        enterprise=locked.enterprise_id,
        park=locked.park_id,
    )
    incident.refresh_from_db()
    return incident
