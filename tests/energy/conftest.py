from collections.abc import Callable
from typing import Any

import pytest

from access.scope import Scope, resolve_scope
from energy.models import Meter
from energy.services.meters import meter_create


@pytest.fixture
def admin_a1(world: dict[str, Any]) -> Scope:
    return resolve_scope(world["users"]["enterprise_admin"])


@pytest.fixture
def make_meter(world: dict[str, Any]) -> Callable[..., Meter]:
    """``make_meter(key="a1", code=..., carrier=..., unit=...)``: a meter of an enterprise of
    the world, created by that enterprise's... superuser (any enterprise)."""
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
