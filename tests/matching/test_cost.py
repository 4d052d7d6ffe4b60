"""Distance, transport rates, cost per tonne and the solver's integer scaling."""

from dataclasses import replace
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inventory.hazards import HAZARD_CLASS_CODES, HazardProfile
from matching.cost import (
    NOT_DANGEROUS,
    TRANSPORT_RATE_YUAN_PER_T_KM,
    CostBreakdown,
    from_fen,
    from_grams,
    great_circle_km,
    to_fen,
    to_grams,
    transport_rate,
    unit_cost_per_t,
)
from tests.matching.test_feasibility import DEMAND, SUPPLY

NINGBO = (Decimal("29.868"), Decimal("121.544"))
SHANGHAI = (Decimal("31.230"), Decimal("121.474"))

# --- great-circle distance --------------------------------------------------------------


def test_ningbo_to_shanghai_is_about_151_km() -> None:
    km = great_circle_km(*NINGBO, *SHANGHAI)
    assert abs(km - 151) <= 1
    assert km.as_tuple().exponent == -3


def test_distance_is_symmetric_and_zero_for_one_place() -> None:
    assert great_circle_km(*NINGBO, *SHANGHAI) == great_circle_km(*SHANGHAI, *NINGBO)
    assert great_circle_km(*NINGBO, *NINGBO) == 0


def test_antipodes_are_half_the_circumference() -> None:
    km = great_circle_km(0, 0, 0, 180)
    assert abs(km - Decimal("20015.1144")) <= Decimal("0.001")  # π × 6371.0088


# --- transport rates --------------------------------------------------------------------


def test_every_class_and_non_dangerous_goods_have_a_rate() -> None:
    assert set(TRANSPORT_RATE_YUAN_PER_T_KM) == HAZARD_CLASS_CODES | {NOT_DANGEROUS}


def test_rates_rise_with_the_class_tiers() -> None:
    rate = TRANSPORT_RATE_YUAN_PER_T_KM
    tiers = [
        [NOT_DANGEROUS],
        ["9", "8"],
        ["3", "4.1", "4.2", "4.3", "5.1", "5.2"],
        ["2.1", "2.2", "2.3", "6.1"],
        ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "6.2", "7"],
    ]
    for lower, higher in pairwise(tiers):
        assert max(rate[c] for c in lower) < min(rate[c] for c in higher), (lower, higher)


def test_non_dangerous_goods_take_the_lowest_rate() -> None:
    assert transport_rate(HazardProfile(classes=())) == min(TRANSPORT_RATE_YUAN_PER_T_KM.values())


@pytest.mark.parametrize(
    ("classes", "highest"),
    [(("8",), "8"), (("8", "6.1"), "6.1"), (("9", "2.1"), "2.1"), (("6.1", "3"), "6.1")],
)
def test_rate_is_the_highest_over_primary_and_subsidiary_classes(
    classes: tuple[str, ...], highest: str
) -> None:
    rate = transport_rate(HazardProfile(classes=classes))
    assert rate == TRANSPORT_RATE_YUAN_PER_T_KM[highest]


def test_unknown_class_has_no_rate() -> None:
    with pytest.raises(ValueError, match="10"):
        transport_rate(HazardProfile(classes=("10",)))


# --- cost per tonne ---------------------------------------------------------------------


def test_unit_cost_is_price_plus_rate_times_distance_to_the_fen() -> None:
    supply = replace(
        SUPPLY,
        price_per_t=Decimal("5000.00"),
        warehouse_latitude=NINGBO[0],
        warehouse_longitude=NINGBO[1],
        hazard=HazardProfile(classes=("8",)),
    )
    demand = replace(DEMAND, delivery_latitude=SHANGHAI[0], delivery_longitude=SHANGHAI[1])
    distance = great_circle_km(*NINGBO, *SHANGHAI)
    transport = (TRANSPORT_RATE_YUAN_PER_T_KM["8"] * distance).quantize(Decimal("0.01"))
    cost = unit_cost_per_t(supply, demand)
    assert cost == CostBreakdown(
        price_per_t=Decimal("5000.00"),
        transport_per_t=transport,
        distance_km=distance,
        total_per_t=Decimal("5000.00") + transport,
    )
    for money in (cost.price_per_t, cost.transport_per_t, cost.total_per_t):
        assert money.as_tuple().exponent == -2


def test_unit_cost_at_the_warehouse_is_the_price() -> None:
    demand = replace(
        DEMAND,
        delivery_latitude=SUPPLY.warehouse_latitude,
        delivery_longitude=SUPPLY.warehouse_longitude,
    )
    cost = unit_cost_per_t(SUPPLY, demand)
    assert cost.transport_per_t == 0
    assert cost.total_per_t == SUPPLY.price_per_t


# --- integer scaling --------------------------------------------------------------------


def test_huge_whole_gram_values_scale_exactly() -> None:
    assert to_grams(Decimal("1" * 50 + ".5")) == int("1" * 50 + "500")


@pytest.mark.parametrize(
    ("kg", "grams"),
    [("1.234", 1234), ("0.001", 1), ("1.0000", 1000), ("0", 0), ("-2.5", -2500), (3, 3000)],
)
def test_to_grams_is_exact(kg: str | int, grams: int) -> None:
    assert to_grams(Decimal(kg) if isinstance(kg, str) else kg) == grams


@pytest.mark.parametrize(("yuan", "fen"), [("5000.01", 500001), ("0.10", 10), ("12", 1200)])
def test_to_fen_is_exact(yuan: str, fen: int) -> None:
    assert to_fen(Decimal(yuan)) == fen


def test_from_grams_and_from_fen_keep_their_places() -> None:
    assert str(from_grams(1500)) == "1.500"
    assert str(from_fen(500001)) == "5000.01"
    assert str(from_fen(0)) == "0.00"


@pytest.mark.parametrize(
    "kg", ["1.0005", "0.0001", "NaN", "Infinity", "1" * 40 + ".0005", "1" * 70 + ".0005"]
)
def test_to_grams_refuses_lossy_values(kg: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the cause
        to_grams(Decimal(kg))


@pytest.mark.parametrize("yuan", ["0.005", "5000.001", "-Infinity"])
def test_to_fen_refuses_lossy_values(yuan: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the cause
        to_fen(Decimal(yuan))


def test_scaling_refuses_floats() -> None:
    with pytest.raises(TypeError):
        to_grams(0.1)  # type: ignore[arg-type]


KG = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=3, allow_nan=False)
YUAN = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False)


@given(KG)
def test_kilograms_round_trip_through_grams(kg: Decimal) -> None:
    assert from_grams(to_grams(kg)) == kg


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_grams_round_trip_through_kilograms(grams: int) -> None:
    assert to_grams(from_grams(grams)) == grams


@given(YUAN)
def test_yuan_round_trip_through_fen(yuan: Decimal) -> None:
    assert from_fen(to_fen(yuan)) == yuan


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_fen_round_trip_through_yuan(fen: int) -> None:
    assert to_fen(from_fen(fen)) == fen


@given(KG, st.integers(min_value=1, max_value=9))
def test_sub_gram_values_are_refused(kg: Decimal, tenth_of_gram: int) -> None:
    with pytest.raises(ValueError, match="grams"):
        to_grams(kg + Decimal(tenth_of_gram).scaleb(-4))
