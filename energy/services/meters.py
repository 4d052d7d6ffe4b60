"""Writes of an enterprise's meters and monthly output values, one transaction and one audit
row each. Only the enterprise's admin (``ADMIN_ROLES``) or a superuser writes them
(``energy.rules``). A meter's carrier and unit are fixed once it has readings' rollups to
keep true: they are set at creation only, and the unit must be the carrier's.
"""

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from access.roles import ADMIN_ROLES
from access.scope import Scope
from audit.services import audit_record, changes_between, snapshot
from common.exceptions import DomainError, NotPermitted
from common.services import refuse_unchangeable, save_unique
from common.validation import validate_row
from energy.models import CARRIER_UNIT, Carrier, Meter, OutputValue
from parks.models import Enterprise

METER_FIELDS = ("code", "name", "carrier", "unit", "is_active", "anomaly_factor")
METER_CHANGEABLE = ("code", "name", "is_active", "anomaly_factor")
OUTPUT_FIELDS = ("month", "value_yuan")
MAX_OUTPUT_YUAN = Decimal("9999999999999999.99")


def _check_writer(*, actor: Scope, enterprise_id: int, what: str) -> None:
    if actor.is_superuser:
        return
    if actor.enterprise_id != enterprise_id or not actor.has_role(*ADMIN_ROLES):
        raise NotPermitted(_("Only the enterprise's admin records its %(what)s.") % {"what": what})


def check_carrier_unit(carrier: str, unit: str) -> None:
    """The unit must be the carrier's own (kWh for electricity, m3 for natural gas...)."""
    if carrier not in Carrier.values:
        raise DomainError(_("Unknown carrier."), field="carrier")
    expected = CARRIER_UNIT[carrier]
    if unit != expected:
        raise DomainError(
            _("A %(carrier)s meter counts in %(unit)s.")
            % {"carrier": Carrier(carrier).label, "unit": expected},
            field="unit",
        )


def _check_factor(value: Any) -> None:
    if value is None:
        return
    try:
        ok = Decimal(value) > 1
    except (InvalidOperation, TypeError):
        ok = False
    if not ok:
        raise DomainError(_("A factor above 1 is expected."), field="anomaly_factor")


def _check_code(meter: Meter) -> None:
    meter.code = (meter.code or "").strip()
    if not meter.code:
        raise DomainError(_("The meter's code is required."), field="code")


def _save_meter(meter: Meter) -> None:
    save_unique(
        meter,
        clash=Meter.objects.filter(enterprise_id=meter.enterprise_id, code=meter.code).exclude(
            pk=meter.pk
        ),
        field="code",
        message=_("The enterprise already has a meter with this code."),
    )


@transaction.atomic
def meter_create(
    *,
    actor: Scope,
    enterprise: Enterprise,
    code: str,
    carrier: str,
    unit: str,
    name: str = "",
    is_active: bool = True,
    anomaly_factor: Decimal | None = None,
) -> Meter:
    """A meter of ``enterprise`` (its admin's write, or a superuser's). The unit must be
    the carrier's; a code taken in the enterprise is refused on ``code``. Locks nothing."""
    _check_writer(actor=actor, enterprise_id=enterprise.pk, what=_("meters"))
    check_carrier_unit(carrier, unit)
    _check_factor(anomaly_factor)
    meter = Meter(
        enterprise=enterprise,
        code=code,
        name=name or "",
        carrier=carrier,
        unit=unit,
        is_active=is_active,
        anomaly_factor=anomaly_factor,
    )
    _check_code(meter)
    validate_row(meter, list(METER_FIELDS))
    _save_meter(meter)
    audit_record(
        actor=actor,
        action="meter.create",
        target=meter,
        changes=changes_between({}, snapshot(meter, METER_FIELDS)),
        enterprise=enterprise,
    )
    return meter


@transaction.atomic
def meter_update(*, actor: Scope, meter: Meter, **changes: Any) -> Meter:
    """Change a meter's code, name, active flag or jump factor (``METER_CHANGEABLE``); its
    carrier and unit never change (its rollups are of that carrier). Locks the meter's
    row."""
    _check_writer(actor=actor, enterprise_id=meter.enterprise_id, what=_("meters"))
    refuse_unchangeable(changes, METER_CHANGEABLE)
    current = (
        Meter.objects.select_for_update(of=("self",)).select_related("enterprise").get(pk=meter.pk)
    )
    before = snapshot(current, METER_FIELDS)
    if "anomaly_factor" in changes:
        _check_factor(changes["anomaly_factor"])
    for name, value in changes.items():
        setattr(current, name, value)
    _check_code(current)
    validate_row(current, list(changes))
    _save_meter(current)
    audit_record(
        actor=actor,
        action="meter.update",
        target=current,
        changes=changes_between(before, snapshot(current, METER_FIELDS)),
        enterprise=current.enterprise,
    )
    return current


# --- Output values ------------------------------------------------------------------------


def _check_output(output: OutputValue) -> None:
    if not isinstance(output.month, date) or output.month.day != 1:
        raise DomainError(_("A month's first day is expected."), field="month")
    value = output.value_yuan
    if not isinstance(value, Decimal) or not value.is_finite():
        raise DomainError(_("A number is expected."), field="value_yuan")
    if value < 0 or value > MAX_OUTPUT_YUAN:
        raise DomainError(_("Between 0 and 9999999999999999.99 yuan."), field="value_yuan")


def _save_output(output: OutputValue) -> None:
    save_unique(
        output,
        clash=OutputValue.objects.filter(
            enterprise_id=output.enterprise_id, month=output.month
        ).exclude(pk=output.pk),
        field="month",
        message=_("The enterprise's output value of this month is recorded already."),
    )


@transaction.atomic
def output_value_create(
    *, actor: Scope, enterprise: Enterprise, month: date, value_yuan: Decimal
) -> OutputValue:
    """The output value of ``enterprise`` in ``month`` (its first day), in yuan. A month
    recorded already is refused on ``month``. Locks nothing."""
    _check_writer(actor=actor, enterprise_id=enterprise.pk, what=_("output values"))
    output = OutputValue(enterprise=enterprise, month=month, value_yuan=value_yuan)
    _check_output(output)
    validate_row(output, list(OUTPUT_FIELDS))
    _save_output(output)
    audit_record(
        actor=actor,
        action="output_value.create",
        target=output,
        changes=changes_between({}, snapshot(output, OUTPUT_FIELDS)),
        enterprise=enterprise,
    )
    return output


@transaction.atomic
def output_value_update(*, actor: Scope, output: OutputValue, **changes: Any) -> OutputValue:
    """Change an output value's month or amount. Locks its row."""
    _check_writer(actor=actor, enterprise_id=output.enterprise_id, what=_("output values"))
    refuse_unchangeable(changes, OUTPUT_FIELDS)
    current = (
        OutputValue.objects.select_for_update(of=("self",))
        .select_related("enterprise")
        .get(pk=output.pk)
    )
    before = snapshot(current, OUTPUT_FIELDS)
    for name, value in changes.items():
        setattr(current, name, value)
    _check_output(current)
    validate_row(current, list(changes))
    _save_output(current)
    audit_record(
        actor=actor,
        action="output_value.update",
        target=current,
        changes=changes_between(before, snapshot(current, OUTPUT_FIELDS)),
        enterprise=current.enterprise,
    )
    return current


@transaction.atomic
def output_value_delete(*, actor: Scope, output: OutputValue) -> None:
    """Delete an output value (recorded by mistake). One audit row with what it was."""
    _check_writer(actor=actor, enterprise_id=output.enterprise_id, what=_("output values"))
    current = (
        OutputValue.objects.select_for_update(of=("self",))
        .select_related("enterprise")
        .filter(pk=output.pk)
        .first()
    )
    if current is None:
        return
    before = snapshot(current, OUTPUT_FIELDS)
    pk = current.pk
    current.delete()
    current.pk = pk
    audit_record(
        actor=actor,
        action="output_value.delete",
        target=current,
        changes=changes_between(before, {}),
        enterprise=current.enterprise,
    )
