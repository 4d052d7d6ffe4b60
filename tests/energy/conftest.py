from collections.abc import Callable
from typing import Any

import pytest

from access.scope import Scope, resolve_scope
from energy.factors import factors_seed
from energy.models import Meter
from energy.services.meters import meter_create


@pytest.fixture(autouse=True)
def factors(db: Any) -> None:
    """The seeded conversion factors (a flush by a transactional test removes the data
    migration's rows)."""
    factors_seed()


@pytest.fixture
def admin_a1(world: dict[str, Any]) -> Scope:
    return resolve_scope(world["users"]["enterprise_admin"])


@pytest.fixture
def make_meter(world: dict[str, Any]) -> Callable[..., Meter]:
    """``make_meter("a1", carrier=..., unit=...)``: a meter of an enterprise of the world."""
    root = resolve_scope(world["users"]["superuser"])
    counter = iter(range(1, 10_000))

    def _make(
        key: str = "a1", *, carrier: str = "electricity", unit: str = "kWh", **kwargs: Any
    ) -> Meter:
        return meter_create(
            actor=root,
            enterprise=world["enterprises"][key],
            code=kwargs.pop("code", f"M-{next(counter)}"),
            carrier=carrier,
            unit=unit,
            **kwargs,
        )

    return _make


def hourly(
    meter: Meter, day: str, values: list[str] | str, hours: int = 24
) -> list[dict[str, Any]]:
    """Rows of ``meter`` for the hours of ``day`` (ending 01:00 .. 24:00 local time)."""
    from datetime import date, datetime, timedelta
    from zoneinfo import ZoneInfo

    start = datetime.combine(
        date.fromisoformat(day), datetime.min.time(), ZoneInfo("Asia/Shanghai")
    )
    vals = values if isinstance(values, list) else [values] * hours
    return [
        {"meter": meter.pk, "at": (start + timedelta(hours=h + 1)).isoformat(), "value": v}
        for h, v in enumerate(vals)
    ]
