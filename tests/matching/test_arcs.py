"""The vectorised feasibility of ``matching.arcs`` against the scalar rules of
``matching.feasibility`` and the Decimal costs of ``matching.cost``, on generated
components. No database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.admission import ZonePicture
from inventory.controls import Controls, PermitFacts, PermitKind
from inventory.hazards import HAZARD_CLASS_CODES, HazardProfile
from matching import arcs as arcs_module
from matching import feasibility as fz
from matching.arcs import MASKS, DemandArrays, Grid, SupplyArrays, build_arcs
from matching.cost import great_circle_km, unit_cost_per_t
from matching.feasibility import DemandSide, SupplySide, is_feasible

BASE = date(2025, 2, 1)
CLASSES = sorted(HAZARD_CLASS_CODES)
FAMILIES = ["", "", "acid", "cyanide", "ammonia", "chlorine"]
REGIONS = ["3302", "3301", "3205"]
VISIBILITIES = [fz.VISIBLE_IN_PARK, fz.VISIBLE_IN_REGION, fz.VISIBLE_TO_ALL, "friends"]
RULE_NAMES = [rule.__name__ for rule in fz.RULES]

Pairs = tuple[list[SupplySide], list[DemandSide], date]

# --- strategies ---------------------------------------------------------------------------


def _near(center: date, days: int = 6) -> st.SearchStrategy[date]:
    """Dates a few days either side of ``center``: ties with the other side are common."""
    return st.integers(-days, days).map(lambda n: center + timedelta(days=n))


def _money(edges: list[str]) -> st.SearchStrategy[Decimal]:
    """Prices with two decimals, often right at a limit's edge."""
    return st.one_of(
        st.sampled_from([Decimal(e) for e in edges]),
        st.decimals(min_value=0, max_value=20_000, places=2),
    )


def _purity() -> st.SearchStrategy[Decimal]:
    return st.one_of(
        st.sampled_from([Decimal("99.000"), Decimal("98.999"), Decimal("99.001")]),
        st.decimals(min_value=90, max_value=100, places=3),
    )


def _coordinates() -> st.SearchStrategy[tuple[Decimal, Decimal]]:
    """Mostly around Ningbo (29.87 N, 121.55 E), sometimes anywhere on Earth."""
    ningbo = st.tuples(
        st.decimals(min_value="29.5", max_value="30.3", places=6),
        st.decimals(min_value="121.1", max_value="122.0", places=6),
    )
    anywhere = st.tuples(
        st.decimals(min_value=-70, max_value=70, places=6),
        st.decimals(min_value=-180, max_value=180, places=6),
    )
    return st.one_of(ningbo, ningbo, ningbo, anywhere)


hazards = st.builds(
    HazardProfile,
    classes=st.lists(st.sampled_from(CLASSES), max_size=2, unique=True).map(tuple),
    family=st.sampled_from(FAMILIES),
    liquid=st.booleans(),
    label=st.sampled_from(["", "stored stuff"]),
)
stored = st.lists(hazards, max_size=2).map(tuple)


@st.composite
def supplies(draw: st.DrawFn, listing_id: int, today: date) -> SupplySide:
    lat, lon = draw(_coordinates())
    return SupplySide(
        listing_id=listing_id,
        seller_id=draw(st.integers(1, 4)),
        seller_park_id=draw(st.integers(10, 12)),
        seller_region_code=draw(st.sampled_from(REGIONS)),
        material_id=draw(st.integers(1, 3)),
        price_per_t=draw(_money(["5000.00", "5000.01", "4999.99"])),
        quantity_kg=Decimal("1.000"),
        available_from=draw(_near(today)),
        available_until=draw(st.none() | _near(today)),
        visibility=draw(st.sampled_from(VISIBILITIES)),
        purity_pct=draw(st.none() | _purity()),
        expires_on=draw(st.none() | _near(today)),
        warehouse_latitude=lat,
        warehouse_longitude=lon,
        hazard=draw(hazards),
        controls=draw(st.sampled_from(CONTROLS)),
    )


CONTROLS = [
    fz.NOT_CONTROLLED,
    fz.NOT_CONTROLLED,
    Controls(highly_toxic=True),
    Controls(explosive_precursor=True, drug_precursor_category=3),
    Controls(drug_precursor_category=1),
]


def _permits(today: date) -> st.SearchStrategy[tuple[PermitFacts, ...]]:
    permit = st.builds(
        PermitFacts,
        kind=st.sampled_from(list(PermitKind.values)),
        material_ids=st.frozensets(st.integers(1, 4), max_size=2),
        valid_from=_near(today, 3),
        expires_on=_near(today, 3),
    )
    return st.lists(permit, max_size=3).map(tuple)


@st.composite
def demands(draw: st.DrawFn, need_id: int, sources: list[SupplySide], today: date) -> DemandSide:
    lat, lon = draw(_coordinates())
    picture = None
    if draw(st.booleans()):  # a delivery zone with its licence, room and what it stores
        picture = ZonePicture(
            label="WH/Z",
            licensed=frozenset(draw(st.lists(st.sampled_from(CLASSES), max_size=12))),
            free_kg=draw(st.sampled_from([Decimal(0), Decimal("0.001"), Decimal("500.000")])),
            in_zone=draw(stored),
            in_building=draw(stored),
            in_warehouse=draw(stored),
        )
    max_km: Decimal | None = draw(st.none() | st.decimals(min_value=0, max_value=300, places=2))
    at_edge = draw(st.booleans())
    if sources and at_edge:
        # Exactly the distance of some listing, or a metre either side: the limit's edge.
        s = draw(st.sampled_from(sources))
        km = great_circle_km(s.warehouse_latitude, s.warehouse_longitude, lat, lon)
        max_km = km + draw(st.sampled_from([Decimal("-0.001"), Decimal(0), Decimal("0.001")]))
    return DemandSide(
        need_id=need_id,
        enterprise_id=draw(st.integers(1, 4)),
        park_id=draw(st.integers(10, 12)),
        region_code=draw(st.sampled_from(REGIONS)),
        material_id=draw(st.integers(1, 3)),
        substitute_ids=frozenset(draw(st.sets(st.integers(1, 4), max_size=2))),
        quantity_kg=Decimal("1.000"),
        max_price_per_t=draw(st.none() | _money(["5000.00"])),
        needed_by=draw(_near(today)),
        min_purity_pct=draw(st.none() | _purity()),
        delivery_latitude=lat,
        delivery_longitude=lon,
        max_distance_km=max_km,
        delivery_zone_id=None if picture is None else draw(st.integers(1, 3)),
        delivery=picture,
        permits=draw(_permits(today)),
    )


@st.composite
def components(draw: st.DrawFn, min_size: int = 1) -> Pairs:
    """Up to 6 listings × 6 needs with distinct ids, and a today."""
    listing_ids = draw(st.lists(st.integers(1, 10_000), min_size=min_size, max_size=6, unique=True))
    need_ids = draw(st.lists(st.integers(1, 10_000), min_size=min_size, max_size=6, unique=True))
    today = draw(st.dates(date(2024, 1, 1), date(2027, 12, 31)))
    sups = [draw(supplies(i, today)) for i in listing_ids]
    dems = [draw(demands(j, sups, today)) for j in need_ids]
    return sups, dems, today


def _grid(sups: list[SupplySide], dems: list[DemandSide], today: date) -> Grid:
    return Grid(
        s=SupplyArrays.of(sups),
        d=DemandArrays.of(dems),
        today=today.toordinal(),
        supplies=sups,
        demands=dems,
    )


def _scalar(name: str) -> fz.Rule:
    rule: fz.Rule = getattr(fz, name)
    return rule


# --- every mask is its scalar rule --------------------------------------------------------


def test_there_is_one_mask_per_rule_in_the_same_order() -> None:
    assert [m.__name__ for m in MASKS] == RULE_NAMES


def test_every_mask_equals_its_scalar_rule() -> None:
    """On generated components, mask[i, j] is True exactly when the rule of the same name
    accepts (supply i, demand j); and the components exercise both outcomes of each rule."""
    seen: dict[str, set[bool]] = {name: set() for name in RULE_NAMES}

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(component=components())
    def check(component: Pairs) -> None:
        sups, dems, today = component
        grid = _grid(sups, dems, today)
        for mask in MASKS:
            rule = _scalar(mask.__name__)
            want = np.array(
                [[rule(s, d, today=today) is None for d in dems] for s in sups], dtype=bool
            )
            got = mask(grid)
            assert got.dtype == np.bool_
            assert got.shape == want.shape, mask.__name__
            assert np.array_equal(got, want), (mask.__name__, np.argwhere(got != want).tolist())
            seen[mask.__name__].update(want.flatten().tolist())

    check()
    assert seen == {name: {True, False} for name in RULE_NAMES}


# --- build_arcs ---------------------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(component=components(min_size=0), data=st.data())
def test_build_arcs_keeps_the_feasible_pairs_less_the_excluded(
    component: Pairs, data: st.DataObject
) -> None:
    sups, dems, today = component
    all_pairs = [(s.listing_id, d.need_id) for s in sups for d in dems]
    excluded = (
        set(data.draw(st.lists(st.sampled_from(all_pairs), max_size=4))) if all_pairs else set()
    )
    excluded |= {(999_999, d.need_id) for d in dems[:1]}  # ids not in the component: ignored

    arcs = build_arcs(sups, dems, today=today, excluded=excluded)

    want = [
        (i, j)
        for i, s in enumerate(sups)
        for j, d in enumerate(dems)
        if is_feasible(s, d, today=today) and (s.listing_id, d.need_id) not in excluded
    ]
    got = list(zip(arcs.supply.tolist(), arcs.demand.tolist(), strict=True))
    assert got == want  # row-major order, as the solver's canonical form expects
    assert len(arcs) == len(want)
    per_demand = [sum(1 for _, j in want if j == k) for k in range(len(dems))]
    assert arcs.feasible_per_demand.tolist() == per_demand

    for k, (i, j) in enumerate(got):
        cost = unit_cost_per_t(sups[i], dems[j])
        assert Decimal(int(arcs.price_fen[k])).scaleb(-2) == cost.price_per_t
        assert Decimal(int(arcs.transport_fen[k])).scaleb(-2) == cost.transport_per_t
        assert Decimal(int(arcs.metres[k])).scaleb(-3) == cost.distance_km
        assert Decimal(int(arcs.cost_fen[k])).scaleb(-2) == cost.total_per_t


@settings(max_examples=100, deadline=None)
@given(component=components())
def test_metres_and_transport_of_every_pair_equal_the_decimal_costs(component: Pairs) -> None:
    """All pairs, feasible or not: the grid's metres are ``great_circle_km`` to the metre,
    and rate × metres rounded half up to the fen is the Decimal transport cost."""
    sups, dems, today = component
    grid = _grid(sups, dems, today)
    for i, s in enumerate(sups):
        for j, d in enumerate(dems):
            cost = unit_cost_per_t(s, d)
            metres = int(grid.metres[i, j])
            assert Decimal(metres).scaleb(-3) == cost.distance_km
            transport_fen = (int(grid.s.rate_fen[i]) * metres + 500) // 1000
            assert Decimal(transport_fen).scaleb(-2) == cost.transport_per_t


SUPPLY = SupplySide(
    listing_id=1,
    seller_id=1,
    seller_park_id=10,
    seller_region_code="3302",
    material_id=1,
    price_per_t=Decimal("5000.00"),
    quantity_kg=Decimal("1.000"),
    available_from=BASE,
    visibility=fz.VISIBLE_IN_PARK,
    purity_pct=Decimal("99.500"),
    expires_on=BASE + timedelta(days=60),
    warehouse_latitude=Decimal("29.868000"),
    warehouse_longitude=Decimal("121.544000"),
    hazard=HazardProfile(classes=("3",), liquid=True, label="toluene"),
)
DEMAND = DemandSide(
    need_id=2,
    enterprise_id=2,
    park_id=10,
    region_code="3302",
    material_id=1,
    quantity_kg=Decimal("1.000"),
    max_price_per_t=Decimal("5000.00"),
    needed_by=BASE + timedelta(days=30),
    min_purity_pct=Decimal("99.000"),
    delivery_latitude=Decimal("29.900000"),
    delivery_longitude=Decimal("121.600000"),
    max_distance_km=Decimal("50.00"),
)


def test_no_listings_or_no_needs_gives_no_arcs() -> None:
    for sups, dems in (([SUPPLY], []), ([], [DEMAND]), ([], [])):
        arcs = build_arcs(sups, dems, today=BASE)
        assert len(arcs) == 0
        assert arcs.feasible_per_demand.tolist() == [0] * len(dems)


def test_a_refusal_by_any_single_rule_removes_the_arc() -> None:
    """A feasible pair, then each rule broken alone: the arc goes, an untouched pair beside
    it stays."""
    supply, demand = SUPPLY, DEMAND
    oxidizer = HazardProfile(classes=("5.1",), label="sodium chlorate")
    breakers: dict[str, tuple[SupplySide, DemandSide]] = {
        "same_material_or_substitute": (replace(supply, material_id=9), demand),
        "purity_meets_need": (replace(supply, purity_pct=Decimal("98.999")), demand),
        "lot_not_expired": (
            replace(supply, expires_on=BASE),
            replace(demand, needed_by=BASE),
        ),
        "need_date_not_passed": (
            replace(supply, available_from=BASE - timedelta(2)),
            replace(demand, needed_by=BASE - timedelta(1)),
        ),
        "not_expired_before_need": (replace(supply, expires_on=BASE + timedelta(1)), demand),
        "available_by_need_date": (replace(supply, available_until=BASE - timedelta(1)), demand),
        "price_within_limit": (replace(supply, price_per_t=Decimal("5000.01")), demand),
        "distance_within_limit": (supply, replace(demand, max_distance_km=Decimal("1.00"))),
        "visible_to_buyer": (replace(supply, seller_park_id=11), demand),
        "different_enterprises": (replace(supply, seller_id=2), demand),
        "buyer_permitted": (replace(supply, controls=Controls(highly_toxic=True)), demand),
        "admitted_at_delivery": (
            supply,
            replace(
                demand,
                delivery_zone_id=1,
                delivery=ZonePicture(
                    label="WH/Z",
                    licensed=frozenset({"3", "5.1"}),
                    free_kg=Decimal(100),
                    in_zone=(oxidizer,),
                ),
            ),
        ),
    }
    assert set(breakers) == set(RULE_NAMES)
    assert len(build_arcs([supply], [demand], today=BASE)) == 1
    for name, (s, d) in breakers.items():
        assert [r.rule for r in fz.check_pair(s, d, today=BASE)] == [name]
        assert len(build_arcs([s], [d], today=BASE)) == 0, name
        # Beside an untouched pair, only the broken one goes.
        other_s, other_d = replace(supply, listing_id=3), replace(demand, need_id=4)
        both = build_arcs([s, other_s], [d, other_d], today=BASE)
        pairs = set(zip(both.supply.tolist(), both.demand.tolist(), strict=True))
        assert (0, 0) not in pairs, name
        assert (1, 1) in pairs, name


def test_masks_module_names_the_scalar_rules_it_mirrors() -> None:
    for mask in MASKS:
        assert callable(getattr(fz, mask.__name__))
    assert arcs_module.admitted_at_delivery_mask.__name__ == "admitted_at_delivery"
