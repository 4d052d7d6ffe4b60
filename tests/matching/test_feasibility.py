"""The feasibility rules of the matching engine, one pair of plain values at a time."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from inventory.admission import ZonePicture, admission_refusal
from inventory.controls import Controls, PermitFacts, PermitKind, permit_refusal
from inventory.hazards import HazardProfile
from marketplace.models import Visibility
from matching import feasibility as fz
from matching.cost import great_circle_km
from matching.feasibility import DemandSide, Refusal, SupplySide, check_pair, is_feasible

TODAY = date(2025, 2, 1)
NEEDED_BY = date(2025, 3, 1)

TOLUENE = HazardProfile(classes=("3",), liquid=True, label="toluene")
SODIUM_CHLORATE = HazardProfile(classes=("5.1",), label="sodium chlorate")
SODIUM_CYANIDE = HazardProfile(classes=("6.1",), family="cyanide", label="sodium cyanide")
HYDROCHLORIC_ACID = HazardProfile(
    classes=("8",), family="acid", liquid=True, label="hydrochloric acid"
)

SUPPLY = SupplySide(
    listing_id=1,
    seller_id=10,
    seller_park_id=100,
    seller_region_code="3302",
    material_id=7,
    price_per_t=Decimal("5000.00"),
    quantity_kg=Decimal("1000.000"),
    available_from=date(2025, 1, 1),
    visibility=Visibility.PARK.value,
    purity_pct=Decimal("99.500"),
    grade="industrial",
    warehouse_latitude=Decimal("29.868000"),
    warehouse_longitude=Decimal("121.544000"),
    hazard=TOLUENE,
)
DEMAND = DemandSide(
    need_id=2,
    enterprise_id=20,
    park_id=100,
    region_code="3302",
    material_id=7,
    quantity_kg=Decimal("500.000"),
    max_price_per_t=Decimal("5000.00"),
    needed_by=NEEDED_BY,
    min_purity_pct=Decimal("99.000"),
    delivery_latitude=Decimal("29.900000"),
    delivery_longitude=Decimal("121.600000"),
    max_distance_km=Decimal("50.00"),
)


def refusal_of(rule: fz.Rule, supply: SupplySide, demand: DemandSide) -> Refusal | None:
    return rule(supply, demand, today=TODAY)


def test_the_base_pair_is_feasible() -> None:
    assert check_pair(SUPPLY, DEMAND, today=TODAY) == []
    assert is_feasible(SUPPLY, DEMAND, today=TODAY)


# --- same material or substitute -------------------------------------------------------


def test_same_material_passes() -> None:
    assert refusal_of(fz.same_material_or_substitute, SUPPLY, DEMAND) is None


def test_accepted_substitute_passes() -> None:
    supply = replace(SUPPLY, material_id=8)
    demand = replace(DEMAND, substitute_ids=frozenset({8, 9}))
    assert refusal_of(fz.same_material_or_substitute, supply, demand) is None


def test_other_material_is_refused() -> None:
    supply = replace(SUPPLY, material_id=8)
    demand = replace(DEMAND, substitute_ids=frozenset({9}))
    refusal = refusal_of(fz.same_material_or_substitute, supply, demand)
    assert refusal is not None
    assert refusal.rule == "same_material_or_substitute"
    assert "substitute" in refusal.reason


# --- purity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lot_pct", "need_pct"),
    [("99.500", "99.000"), ("99.000", "99.000"), (None, None), ("10.000", None)],
)
def test_purity_at_or_above_the_minimum_passes(lot_pct: str | None, need_pct: str | None) -> None:
    supply = replace(SUPPLY, purity_pct=None if lot_pct is None else Decimal(lot_pct))
    demand = replace(DEMAND, min_purity_pct=None if need_pct is None else Decimal(need_pct))
    assert refusal_of(fz.purity_meets_need, supply, demand) is None


def test_purity_below_the_minimum_is_refused() -> None:
    supply = replace(SUPPLY, purity_pct=Decimal("98.999"))
    refusal = refusal_of(fz.purity_meets_need, supply, DEMAND)
    assert refusal is not None
    assert refusal.rule == "purity_meets_need"
    assert "98.999%" in refusal.reason
    assert "99.000%" in refusal.reason


def test_unstated_purity_is_refused_when_the_need_sets_a_minimum() -> None:
    refusal = refusal_of(fz.purity_meets_need, replace(SUPPLY, purity_pct=None), DEMAND)
    assert refusal is not None
    assert "not stated" in refusal.reason


# --- expiry -----------------------------------------------------------------------------


@pytest.mark.parametrize("expires_on", [None, NEEDED_BY, NEEDED_BY + timedelta(days=30)])
def test_lot_expiring_on_or_after_the_need_date_passes(expires_on: date | None) -> None:
    supply = replace(SUPPLY, expires_on=expires_on)
    assert refusal_of(fz.not_expired_before_need, supply, DEMAND) is None


def test_lot_expiring_the_day_before_the_need_date_is_refused() -> None:
    supply = replace(SUPPLY, expires_on=NEEDED_BY - timedelta(days=1))
    refusal = refusal_of(fz.not_expired_before_need, supply, DEMAND)
    assert refusal is not None
    assert refusal.rule == "not_expired_before_need"
    assert "2025-02-28" in refusal.reason


# --- availability window ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("available_from", "available_until"),
    [
        (date(2025, 1, 1), None),
        (NEEDED_BY, None),  # available on the need date itself
        (date(2025, 1, 1), TODAY),  # the window closes today
        (date(2025, 1, 1), date(2025, 12, 31)),
    ],
)
def test_listing_available_by_the_need_date_passes(
    available_from: date, available_until: date | None
) -> None:
    supply = replace(SUPPLY, available_from=available_from, available_until=available_until)
    assert refusal_of(fz.available_by_need_date, supply, DEMAND) is None


def test_listing_available_only_after_the_need_date_is_refused() -> None:
    supply = replace(SUPPLY, available_from=NEEDED_BY + timedelta(days=1))
    refusal = refusal_of(fz.available_by_need_date, supply, DEMAND)
    assert refusal is not None
    assert refusal.rule == "available_by_need_date"
    assert "2025-03-02" in refusal.reason


def test_listing_whose_window_closed_before_today_is_refused() -> None:
    supply = replace(SUPPLY, available_until=TODAY - timedelta(days=1))
    refusal = refusal_of(fz.available_by_need_date, supply, DEMAND)
    assert refusal is not None
    assert "until 2025-01-31" in refusal.reason


# --- price ------------------------------------------------------------------------------


@pytest.mark.parametrize(("price", "limit"), [("5000.00", "5000.00"), ("4999.99", "5000.00")])
def test_price_at_or_below_the_limit_passes(price: str, limit: str) -> None:
    supply = replace(SUPPLY, price_per_t=Decimal(price))
    demand = replace(DEMAND, max_price_per_t=Decimal(limit))
    assert refusal_of(fz.price_within_limit, supply, demand) is None


def test_any_price_passes_without_a_limit() -> None:
    supply = replace(SUPPLY, price_per_t=Decimal("999999.99"))
    assert refusal_of(fz.price_within_limit, supply, replace(DEMAND, max_price_per_t=None)) is None


def test_price_one_fen_above_the_limit_is_refused() -> None:
    supply = replace(SUPPLY, price_per_t=Decimal("5000.01"))
    refusal = refusal_of(fz.price_within_limit, supply, DEMAND)
    assert refusal is not None
    assert refusal.rule == "price_within_limit"
    assert "5,000.01 yuan/t" in refusal.reason


# --- distance ---------------------------------------------------------------------------


def _distance() -> Decimal:
    return great_circle_km(
        SUPPLY.warehouse_latitude,
        SUPPLY.warehouse_longitude,
        DEMAND.delivery_latitude,
        DEMAND.delivery_longitude,
    )


def test_distance_exactly_at_the_limit_passes() -> None:
    demand = replace(DEMAND, max_distance_km=_distance())
    assert refusal_of(fz.distance_within_limit, SUPPLY, demand) is None


def test_any_distance_passes_without_a_limit() -> None:
    demand = replace(DEMAND, max_distance_km=None, delivery_latitude=Decimal("45.000000"))
    assert refusal_of(fz.distance_within_limit, SUPPLY, demand) is None


def test_distance_beyond_the_limit_is_refused() -> None:
    demand = replace(DEMAND, max_distance_km=_distance() - Decimal("0.001"))
    refusal = refusal_of(fz.distance_within_limit, SUPPLY, demand)
    assert refusal is not None
    assert refusal.rule == "distance_within_limit"
    assert "km from the delivery place" in refusal.reason


# --- visibility -------------------------------------------------------------------------

OTHER_PARK_SAME_REGION = {"park_id": 101, "region_code": "3302"}
OTHER_REGION = {"park_id": 300, "region_code": "3205"}


def test_visibility_codes_match_the_listing_model() -> None:
    assert fz.VISIBLE_IN_PARK == Visibility.PARK
    assert fz.VISIBLE_IN_REGION == Visibility.REGION
    assert fz.VISIBLE_TO_ALL == Visibility.ALL


@pytest.mark.parametrize(
    ("visibility", "buyer", "visible"),
    [
        (Visibility.PARK, {}, True),
        (Visibility.PARK, OTHER_PARK_SAME_REGION, False),
        (Visibility.REGION, OTHER_PARK_SAME_REGION, True),
        (Visibility.REGION, OTHER_REGION, False),
        (Visibility.ALL, OTHER_REGION, True),
    ],
)
def test_visibility_reaches_park_region_or_all(
    visibility: str, buyer: dict[str, object], visible: bool
) -> None:
    supply = replace(SUPPLY, visibility=str(visibility))
    demand = replace(DEMAND, **buyer)  # type: ignore[arg-type]
    refusal = refusal_of(fz.visible_to_buyer, supply, demand)
    assert (refusal is None) is visible
    if refusal is not None:
        assert refusal.rule == "visible_to_buyer"


def test_unknown_visibility_is_refused() -> None:
    refusal = refusal_of(fz.visible_to_buyer, replace(SUPPLY, visibility="friends"), DEMAND)
    assert refusal is not None
    assert "unknown" in refusal.reason


# --- different enterprises --------------------------------------------------------------


def test_another_enterprise_passes() -> None:
    assert refusal_of(fz.different_enterprises, SUPPLY, DEMAND) is None


def test_own_listing_is_refused() -> None:
    refusal = refusal_of(fz.different_enterprises, SUPPLY, replace(DEMAND, enterprise_id=10))
    assert refusal == Refusal("different_enterprises", "The listing is the buyer's own.")


# --- dates ------------------------------------------------------------------------------


def test_a_lot_expiring_today_or_earlier_is_refused() -> None:
    assert refusal_of(fz.lot_not_expired, replace(SUPPLY, expires_on=TODAY), DEMAND) == Refusal(
        "lot_not_expired", "The lot expired on 2025-02-01."
    )
    tomorrow = replace(SUPPLY, expires_on=TODAY + timedelta(days=1))
    assert refusal_of(fz.lot_not_expired, tomorrow, DEMAND) is None
    assert refusal_of(fz.lot_not_expired, SUPPLY, DEMAND) is None  # no expiry date


def test_a_need_whose_date_has_passed_is_refused() -> None:
    passed = replace(DEMAND, needed_by=TODAY - timedelta(days=1))
    assert refusal_of(fz.need_date_not_passed, SUPPLY, passed) == Refusal(
        "need_date_not_passed", "The need date 2025-01-31 has passed."
    )
    assert refusal_of(fz.need_date_not_passed, SUPPLY, replace(DEMAND, needed_by=TODAY)) is None


# --- admission to the delivery zone (inventory.admission) --------------------------------

EVERY_CLASS = frozenset({"3", "4.3", "5.1", "6.1", "6.2", "8"})


def at_zone(
    *,
    licensed: frozenset[str] = EVERY_CLASS,
    free_kg: Decimal = Decimal("10000.000"),
    in_zone: tuple[HazardProfile, ...] = (),
    in_building: tuple[HazardProfile, ...] = (),
    in_warehouse: tuple[HazardProfile, ...] = (),
) -> DemandSide:
    picture = ZonePicture(
        label="WH1/Z1",
        licensed=licensed,
        free_kg=free_kg,
        in_zone=in_zone,
        in_building=in_building,
        in_warehouse=in_warehouse,
    )
    return replace(DEMAND, delivery_zone_id=5, delivery=picture)


def test_delivery_point_leaves_admission_to_the_receipt() -> None:
    assert DEMAND.delivery is None
    assert refusal_of(fz.admitted_at_delivery, SUPPLY, DEMAND) is None


def test_a_zone_not_licensed_for_the_class_is_refused() -> None:
    refusal = refusal_of(fz.admitted_at_delivery, SUPPLY, at_zone(licensed=frozenset({"2.1"})))
    assert refusal == Refusal("admitted_at_delivery", "Zone WH1/Z1 is not licensed for class 3.")
    # Every class counts, subsidiary ones too.
    nitric = replace(SUPPLY, hazard=HazardProfile(classes=("8", "5.1"), label="nitric acid"))
    refusal = refusal_of(fz.admitted_at_delivery, nitric, at_zone(licensed=frozenset({"8"})))
    assert refusal is not None and "class 5.1" in refusal.reason


def test_a_zone_without_room_is_refused() -> None:
    refusal = refusal_of(fz.admitted_at_delivery, SUPPLY, at_zone(free_kg=Decimal(0)))
    assert refusal is not None and "0 kg free" in refusal.reason
    assert refusal_of(fz.admitted_at_delivery, SUPPLY, at_zone(free_kg=Decimal("0.001"))) is None


def test_a_non_dangerous_material_needs_no_licence() -> None:
    supply = replace(SUPPLY, hazard=fz.NOT_DANGEROUS)
    assert refusal_of(fz.admitted_at_delivery, supply, at_zone(licensed=frozenset())) is None


def test_code_2_is_refused_in_the_same_zone() -> None:
    refusal = refusal_of(fz.admitted_at_delivery, SUPPLY, at_zone(in_zone=(SODIUM_CHLORATE,)))
    assert refusal is not None
    assert refusal.rule == "admitted_at_delivery"
    assert "sodium chlorate is stored in the zone" in refusal.reason
    assert "segregation code 2" in refusal.reason


def test_code_2_is_allowed_in_another_zone_of_the_building() -> None:
    demand = at_zone(in_building=(SODIUM_CHLORATE,))
    assert refusal_of(fz.admitted_at_delivery, SUPPLY, demand) is None


def test_code_1_is_allowed_in_the_same_zone_at_a_distance() -> None:
    calcium_carbide = HazardProfile(classes=("4.3",), label="calcium carbide")
    demand = at_zone(in_zone=(calcium_carbide,))  # 3 vs 4.3: code 1
    assert refusal_of(fz.admitted_at_delivery, SUPPLY, demand) is None


def test_code_3_is_refused_in_the_building_but_allowed_in_another_building() -> None:
    infectious = HazardProfile(classes=("6.2",), label="clinical waste")  # 3 vs 6.2: code 3
    refusal = refusal_of(fz.admitted_at_delivery, SUPPLY, at_zone(in_building=(infectious,)))
    assert refusal is not None
    assert "another zone of its building" in refusal.reason
    assert "a different building" in refusal.reason
    in_warehouse = at_zone(in_warehouse=(infectious,))
    assert refusal_of(fz.admitted_at_delivery, SUPPLY, in_warehouse) is None


def test_pair_rule_is_refused_anywhere_in_the_warehouse() -> None:
    supply = replace(SUPPLY, hazard=HYDROCHLORIC_ACID)
    refusal = refusal_of(fz.admitted_at_delivery, supply, at_zone(in_warehouse=(SODIUM_CYANIDE,)))
    assert refusal is not None
    assert "acids are never stored with cyanides" in refusal.reason


def test_one_primary_class_is_no_allowance() -> None:
    # Nitric acid (8 + 5.1) into a zone holding an organic acid (8 + 3): 5.1 against 3.
    nitric = replace(
        SUPPLY, hazard=HazardProfile(classes=("8", "5.1"), family="acid", label="nitric acid")
    )
    acetic = HazardProfile(classes=("8", "3"), family="acid", label="acetic acid")
    refusal = refusal_of(fz.admitted_at_delivery, nitric, at_zone(in_zone=(acetic,)))
    assert refusal is not None and "acetic acid" in refusal.reason


def test_non_dangerous_material_is_storable_next_to_anything() -> None:
    supply = replace(SUPPLY, hazard=fz.NOT_DANGEROUS)
    demand = at_zone(in_zone=(SODIUM_CHLORATE, SODIUM_CYANIDE))
    assert refusal_of(fz.admitted_at_delivery, supply, demand) is None


def test_the_rule_is_the_admission_rule_receipts_apply() -> None:
    # Whatever the picture, the engine's rule refuses exactly when inventory.admission
    # refuses a gram, with the same message.
    for demand in (
        at_zone(),
        at_zone(licensed=frozenset({"8"})),
        at_zone(free_kg=Decimal(0)),
        at_zone(in_zone=(SODIUM_CHLORATE,)),
        at_zone(in_warehouse=(SODIUM_CYANIDE,)),
    ):
        assert demand.delivery is not None
        expected = admission_refusal(
            picture=demand.delivery, incoming=SUPPLY.hazard, quantity_kg=Decimal("0.001")
        )
        refusal = refusal_of(fz.admitted_at_delivery, SUPPLY, demand)
        assert (refusal is None) == (expected is None)
        if refusal is not None and expected is not None:
            assert refusal.reason == expected.message


# --- controlled chemicals (inventory.controls) ---------------------------------------------

CYANIDE = replace(
    SUPPLY,
    hazard=HazardProfile(classes=("6.1",), family="cyanide", label="sodium cyanide"),
    controls=Controls(highly_toxic=True),
)


def permit(kind: str, *materials: int, expires_on: date = NEEDED_BY) -> PermitFacts:
    return PermitFacts(
        kind=kind,
        material_ids=frozenset(materials),
        valid_from=TODAY - timedelta(days=365),
        expires_on=expires_on,
    )


def test_an_uncontrolled_material_needs_no_permit() -> None:
    assert refusal_of(fz.buyer_permitted, SUPPLY, DEMAND) is None


def test_a_controlled_material_needs_a_valid_permit_covering_it() -> None:
    refusal = refusal_of(fz.buyer_permitted, CYANIDE, DEMAND)
    assert refusal is not None and refusal.rule == "buyer_permitted"
    assert "sodium cyanide" in refusal.reason and "highly toxic" in refusal.reason
    licence = permit(PermitKind.SAFE_USE_LICENCE)
    assert refusal_of(fz.buyer_permitted, CYANIDE, replace(DEMAND, permits=(licence,))) is None
    expired = permit(PermitKind.SAFE_USE_LICENCE, expires_on=TODAY - timedelta(days=1))
    assert refusal_of(fz.buyer_permitted, CYANIDE, replace(DEMAND, permits=(expired,)))
    other_material = permit(PermitKind.HIGHLY_TOXIC_PURCHASE_PERMIT, CYANIDE.material_id + 1)
    assert refusal_of(fz.buyer_permitted, CYANIDE, replace(DEMAND, permits=(other_material,)))
    this_material = permit(PermitKind.HIGHLY_TOXIC_PURCHASE_PERMIT, CYANIDE.material_id)
    assert (
        refusal_of(fz.buyer_permitted, CYANIDE, replace(DEMAND, permits=(this_material,))) is None
    )


def test_the_rule_is_the_one_orders_apply() -> None:
    for permits in (
        (),
        (permit(PermitKind.BUSINESS_LICENCE),),
        (permit(PermitKind.DRUG_PRECURSOR_FILING_CERTIFICATE),),
    ):
        expected = permit_refusal(
            material_id=CYANIDE.material_id,
            controls=CYANIDE.controls,
            permits=permits,
            today=TODAY,
            name="sodium cyanide",
        )
        refusal = refusal_of(fz.buyer_permitted, CYANIDE, replace(DEMAND, permits=permits))
        assert (None if refusal is None else refusal.reason) == expected


# --- all rules together -----------------------------------------------------------------


def test_rules_are_named_and_documented() -> None:
    names = [rule.__name__ for rule in fz.RULES]
    assert len(set(names)) == len(names) == 12
    for rule in fz.RULES:
        assert rule.__doc__ and "\n" not in rule.__doc__.strip()


def test_check_pair_returns_every_refusal_in_rules_order() -> None:
    # Inconsistent on purpose (a seller in another park than itself): each rule is pure and
    # looks only at its own fields, so one pair can fail them all.
    supply = replace(
        SUPPLY,
        material_id=8,
        purity_pct=Decimal("90.000"),
        expires_on=TODAY - timedelta(days=2),
        available_from=TODAY,
        price_per_t=Decimal("6000.00"),
        warehouse_latitude=Decimal("31.230000"),
        warehouse_longitude=Decimal("121.474000"),
        visibility=Visibility.PARK.value,
        seller_park_id=999,
        seller_id=DEMAND.enterprise_id,
        controls=Controls(drug_precursor_category=3),
    )
    demand = replace(at_zone(in_zone=(SODIUM_CHLORATE,)), needed_by=TODAY - timedelta(days=1))
    refusals = check_pair(supply, demand, today=TODAY)
    assert [r.rule for r in refusals] == [rule.__name__ for rule in fz.RULES]
    assert not is_feasible(supply, demand, today=TODAY)


def test_check_pair_lists_only_the_rules_that_refuse() -> None:
    supply = replace(SUPPLY, price_per_t=Decimal("5000.01"), seller_id=DEMAND.enterprise_id)
    refusals = check_pair(supply, DEMAND, today=TODAY)
    assert [r.rule for r in refusals] == ["price_within_limit", "different_enterprises"]
