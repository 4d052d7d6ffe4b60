"""The write services of meters and output values: who may, what they refuse, and the one
audit row each leaves."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from access.scope import resolve_scope
from common.exceptions import DomainError, NotPermitted
from energy.services.meters import (
    meter_create,
    meter_update,
    output_value_create,
    output_value_delete,
    output_value_update,
)
from tests.audited import one_audit_row

pytestmark = pytest.mark.django_db


def test_meter_create_and_update_leave_one_audit_row_each(
    world: dict[str, Any], admin_a1: Any
) -> None:
    enterprise = world["enterprises"]["a1"]
    with one_audit_row(actor=admin_a1, action="meter.create") as written:
        meter = meter_create(
            actor=admin_a1, enterprise=enterprise, code=" G-1 ", carrier="natural_gas", unit="m3"
        )
    assert meter.code == "G-1"
    assert written.entry.changes["unit"] == [None, "m3"]
    with one_audit_row(actor=admin_a1, action="meter.update", target=meter) as written:
        meter_update(actor=admin_a1, meter=meter, name="天然气总表", anomaly_factor=Decimal(3))
    assert written.entry.changes == {
        "name": ["", "天然气总表"],
        "anomaly_factor": [None, "3"],
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"carrier": "diesel"}, "carrier"),
        ({"unit": "kg"}, "unit"),
        ({"anomaly_factor": Decimal("0.5")}, "anomaly_factor"),
        ({"code": ""}, "code"),
    ],
)
def test_meter_update_refuses(
    world: dict[str, Any], admin_a1: Any, changes: dict[str, Any], field: str
) -> None:
    meter = meter_create(
        actor=admin_a1,
        enterprise=world["enterprises"]["a1"],
        code="E",
        carrier="electricity",
        unit="kWh",
    )
    with pytest.raises(DomainError) as refused:
        meter_update(actor=admin_a1, meter=meter, **changes)
    assert refused.value.field == field


def test_meters_of_another_enterprise_or_by_another_role_are_refused(
    world: dict[str, Any], admin_a1: Any
) -> None:
    for who, key in (("enterprise_admin", "a2"), ("trader", "a1"), ("regulator", "a1")):
        with pytest.raises(NotPermitted):
            meter_create(
                actor=resolve_scope(world["users"][who]),
                enterprise=world["enterprises"][key],
                code="E",
                carrier="electricity",
                unit="kWh",
            )
    with pytest.raises(DomainError) as refused:
        meter_create(
            actor=admin_a1,
            enterprise=world["enterprises"]["a1"],
            code="E",
            carrier="heat",
            unit="kWh",
        )
    assert refused.value.field == "unit"


def test_output_values_leave_one_audit_row_each(world: dict[str, Any], admin_a1: Any) -> None:
    enterprise = world["enterprises"]["a1"]
    with one_audit_row(actor=admin_a1, action="output_value.create"):
        output = output_value_create(
            actor=admin_a1, enterprise=enterprise, month=date(2026, 3, 1), value_yuan=Decimal(5)
        )
    with one_audit_row(actor=admin_a1, action="output_value.update", target=output) as written:
        output_value_update(actor=admin_a1, output=output, value_yuan=Decimal(7))
    assert written.entry.changes == {"value_yuan": ["5.00", "7"]}
    with pytest.raises(DomainError) as refused:
        output_value_create(
            actor=admin_a1, enterprise=enterprise, month=date(2026, 3, 1), value_yuan=Decimal(1)
        )
    assert refused.value.field == "month"
    with pytest.raises(DomainError) as refused:
        output_value_update(actor=admin_a1, output=output, month=date(2026, 4, 2))
    assert refused.value.field == "month"
    with one_audit_row(actor=admin_a1, action="output_value.delete"):
        output_value_delete(actor=admin_a1, output=output)
