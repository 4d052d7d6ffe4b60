"""Writes of the conversion factors (superusers, in the admin), one transaction and one
audit row each, and the rollups they cover repriced in the same transaction.

The rows of one carrier and convention tile time: a new row starting on a day inside an
existing row's stretch ends that row the day before and runs until where it ran (or until
the next row starts). So no day is covered twice, and no day after the first row is left
without a factor. A carrier whose factor does not depend on the convention (every one but
electricity) has rows under ``equivalent`` only (``energy.factors``).
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from access.scope import Scope
from audit.services import audit_record, changes_between, snapshot
from common.exceptions import DomainError, NotPermitted
from common.services import refuse_unchangeable
from common.validation import validate_row
from energy.data.coefficients import CONVENTION_SPECIFIC, EQUIVALENT
from energy.models import Carrier, Convention, ConversionFactor
from energy.rollups import rollups_reprice

FACTOR_FIELDS = ("carrier", "convention", "kgce_per_unit", "valid_from", "valid_until", "source")
FACTOR_CHANGEABLE = ("kgce_per_unit", "source")
MAX_FACTOR = Decimal(100)


def _check_superuser(actor: Scope) -> None:
    if not actor.is_superuser:
        raise NotPermitted(_("Conversion factors are kept by superusers."))


def _check_value(value: Any) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or not 0 < value <= MAX_FACTOR:
        raise DomainError(_("A factor above 0 and at most 100 is expected."), field="kgce_per_unit")


@transaction.atomic
def conversion_factor_create(
    *,
    actor: Scope,
    carrier: str,
    convention: str,
    kgce_per_unit: Decimal,
    valid_from: date,
    source: str = "",
) -> ConversionFactor:
    """A factor of ``carrier`` under ``convention`` from ``valid_from``: the row in force
    that day ends the day before; the new one runs until that row ran (or until the next
    row starts). Locks the carrier's rows of that convention; reprices the rollups of the
    new row's stretch."""
    _check_superuser(actor)
    if carrier not in Carrier.values:
        raise DomainError(_("Unknown carrier."), field="carrier")
    if convention not in Convention.values:
        raise DomainError(_("Unknown convention."), field="convention")
    if carrier not in CONVENTION_SPECIFIC and convention != EQUIVALENT:
        raise DomainError(
            _("This carrier has one factor for both conventions: enter it as equivalent."),
            field="convention",
        )
    _check_value(kgce_per_unit)
    rows = list(
        ConversionFactor.objects.select_for_update()
        .filter(carrier=carrier, convention=convention)
        .order_by("valid_from")
    )
    if any(r.valid_from == valid_from for r in rows):
        raise DomainError(_("A factor starts on this day already."), field="valid_from")
    before_it = [r for r in rows if r.valid_from < valid_from]
    after_it = [r for r in rows if r.valid_from > valid_from]
    valid_until: date | None = None
    if before_it and (before_it[-1].valid_until is None or before_it[-1].valid_until >= valid_from):
        covering = before_it[-1]
        valid_until = covering.valid_until
        covering.valid_until = valid_from - timedelta(days=1)
        covering.save(update_fields=["valid_until", "updated_at"])
    elif after_it:
        valid_until = after_it[0].valid_from - timedelta(days=1)
    factor = ConversionFactor(
        carrier=carrier,
        convention=convention,
        kgce_per_unit=kgce_per_unit,
        valid_from=valid_from,
        valid_until=valid_until,
        source=source or "",
    )
    validate_row(factor)
    factor.save()
    rollups_reprice(carrier=carrier, start=valid_from, end=valid_until)
    audit_record(
        actor=actor,
        action="conversion_factor.create",
        target=factor,
        changes=changes_between({}, snapshot(factor, FACTOR_FIELDS)),
    )
    return factor


@transaction.atomic
def conversion_factor_update(
    *, actor: Scope, factor: ConversionFactor, **changes: Any
) -> ConversionFactor:
    """Change a factor's value or source note (its stretch is changed by adding a row).
    Locks the row; reprices the rollups of its stretch."""
    _check_superuser(actor)
    refuse_unchangeable(changes, FACTOR_CHANGEABLE)
    current = ConversionFactor.objects.select_for_update().get(pk=factor.pk)
    before = snapshot(current, FACTOR_FIELDS)
    if "kgce_per_unit" in changes:
        _check_value(changes["kgce_per_unit"])
    for name, value in changes.items():
        setattr(current, name, value)
    validate_row(current, list(changes))
    current.save()
    if "kgce_per_unit" in changes:
        rollups_reprice(carrier=current.carrier, start=current.valid_from, end=current.valid_until)
    audit_record(
        actor=actor,
        action="conversion_factor.update",
        target=current,
        changes=changes_between(before, snapshot(current, FACTOR_FIELDS)),
    )
    return current
