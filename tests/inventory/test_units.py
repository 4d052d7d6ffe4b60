from decimal import Decimal

import pytest

from inventory.units import UnitNotAccepted, to_kg


def test_mass_units() -> None:
    assert to_kg(Decimal("1.5"), "t") == Decimal("1500.000")
    assert to_kg(Decimal("250"), "g") == Decimal("0.250")
    assert to_kg(Decimal("0.0004"), "kg") == Decimal("0.000")  # below a gram rounds away


def test_volume_needs_density() -> None:
    assert to_kg(Decimal("2"), "m3", density_kg_per_l=Decimal("0.7918")) == Decimal("1583.600")
    assert to_kg(Decimal("10"), "L", density_kg_per_l=Decimal("1.84")) == Decimal("18.400")
    with pytest.raises(UnitNotAccepted) as info:
        to_kg(Decimal("10"), "L")
    assert info.value.accepted == ["g", "kg", "t"]


def test_unknown_unit_lists_accepted_ones() -> None:
    with pytest.raises(UnitNotAccepted) as info:
        to_kg(Decimal("1"), "lb", density_kg_per_l=Decimal("1"))
    assert "lb" in str(info.value)
    assert info.value.accepted == ["g", "kg", "t", "L", "m3"]
