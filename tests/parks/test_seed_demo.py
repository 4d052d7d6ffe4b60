"""``manage.py seed_demo``: the demo world it builds, that a second run changes nothing, and
that its logins work.

The world is built once for the module (twice, to check idempotence) inside a transaction
that is rolled back at the end; each test runs in a savepoint within it.
"""

import json
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO
from itertools import combinations
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from access.models import Membership, ParkRole
from common.identifiers import is_valid_uscc
from inventory.controls import Controls, PermitKind, permit_refusal
from inventory.data.chemicals import CATALOGUE
from inventory.data.controls import control_fields
from inventory.hazards import Separation, required_separation
from inventory.models import Material, Permit, StockLot, StockMovement, StorageZone, Warehouse
from inventory.selectors import permits_of
from marketplace.models import Listing, ListingStatus, Need, NeedStatus
from matching.audit import admission_violations, matched_kg
from matching.cost import to_grams
from parks.demo.world import DEMO_PASSWORD, demo_uscc
from parks.models import Enterprise, Park
from tests.matching.optimum import independent_optimum

pytestmark = pytest.mark.django_db

ROLES = {"enterprise_admin", "trader", "warehouse_keeper", "viewer", "park_operator", "regulator"}
ENTERPRISE_ROLES = {"enterprise_admin", "trader", "warehouse_keeper", "viewer"}


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


def _rows() -> dict[str, list[dict[str, Any]]]:
    """Every column of the rows the demo makes, to compare two runs value by value."""
    models: tuple[Any, ...] = (
        Park,
        Enterprise,
        Material,
        Warehouse,
        StorageZone,
        StockLot,
        StockMovement,
        Listing,
        Need,
        Permit,
        Membership,
        ParkRole,
        get_user_model(),
    )
    return {m._meta.label: list(m._default_manager.order_by("pk").values()) for m in models}


@pytest.fixture(scope="module")
def seeded(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("seed_demo")
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            first_out = StringIO()
            call_command("seed_demo", accounts_json=str(folder / "first.json"), stdout=first_out)
            counts_first, rows_first = _row_counts(), _rows()
            second_out = StringIO()
            call_command("seed_demo", accounts_json=str(folder / "second.json"), stdout=second_out)
            yield {
                "out": first_out.getvalue(),
                "second_out": second_out.getvalue(),
                "counts_first": counts_first,
                "counts_second": _row_counts(),
                "rows_first": rows_first,
                "rows_second": _rows(),
                "accounts": json.loads((folder / "first.json").read_text(encoding="utf-8")),
                "accounts_second": json.loads((folder / "second.json").read_text(encoding="utf-8")),
            }
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --- The world --------------------------------------------------------------------------


def test_parks(seeded: dict[str, Any]) -> None:
    parks = {p.code: p for p in Park.objects.all()}
    assert len(parks) >= 3
    assert parks["nbpedz"].division_code == "330211"
    assert parks["daxie"].division_code == "330206"
    assert parks["hzbay"].division_code == "330282"
    # Several parks share the Ningbo region and at least one lies outside it.
    regions = [p.region_code for p in parks.values()]
    assert regions.count("3302") >= 3
    assert len(set(regions)) >= 2
    for park in parks.values():
        assert park.area_mu > 0
        assert Decimal(29) < park.latitude < Decimal(31)
        assert Decimal(120) < park.longitude < Decimal(123)


def test_enterprises_have_valid_usccs_and_sit_near_their_park(seeded: dict[str, Any]) -> None:
    # The companies; a joint stockpile's holder is no legal person (no USCC).
    enterprises = list(Enterprise.objects.filter(kind="company").select_related("park"))
    assert len(enterprises) >= 40
    for enterprise in enterprises:
        assert is_valid_uscc(enterprise.uscc), enterprise.uscc
        assert enterprise.uscc[2:8] == enterprise.park.division_code
        assert enterprise.name_zh and enterprise.name_en
        assert abs(enterprise.latitude - enterprise.park.latitude) < Decimal("0.05")
        assert abs(enterprise.longitude - enterprise.park.longitude) < Decimal("0.05")
    assert {e.park.code for e in enterprises} == set(Park.objects.values_list("code", flat=True))


def test_demo_usccs_are_stable() -> None:
    # Fixed values: if they changed, re-seeding an existing database would duplicate the
    # enterprises under new codes.
    assert demo_uscc("zh01", "330211") == "91330211MAPEL1N92G"
    assert demo_uscc("sy11", "330604") == demo_uscc("sy11", "330604")
    assert is_valid_uscc(demo_uscc("sy11", "330604"))


def test_the_whole_catalogue_is_loaded(seeded: dict[str, Any]) -> None:
    assert Material.objects.count() >= 60
    materials = {m.cas or m.name_en: m for m in Material.objects.all()}
    for chemical in CATALOGUE:
        material = materials[chemical.cas or chemical.name_en]
        for name, value in chemical.material_fields().items():
            assert getattr(material, name) == value, (chemical.name_en, name)


def test_materials_carry_their_control_flags(seeded: dict[str, Any]) -> None:
    materials = {m.cas or m.name_en: m for m in Material.objects.all()}
    for chemical in CATALOGUE:
        material = materials[chemical.cas or chemical.name_en]
        for name, value in control_fields(chemical.cas).items():
            assert getattr(material, name) == value, (chemical.name_en, name)
    assert Material.objects.filter(highly_toxic=True).count() == 4
    assert Material.objects.get(cas="7722-64-7").drug_precursor_category == 3


def test_demo_buyers_hold_the_permits_their_needs_ask_for(seeded: dict[str, Any]) -> None:
    today = timezone.localdate()
    # The companies: a pool's holder buys only the pool's (uncontrolled) material.
    enterprises = list(Enterprise.objects.filter(kind="company"))
    permits = permits_of([e.pk for e in Enterprise.objects.all()], valid_on=today)
    licences = {PermitKind.SAFETY_PRODUCTION_LICENCE, PermitKind.BUSINESS_LICENCE}
    for enterprise in enterprises:
        assert any(p.kind in licences for p in permits[enterprise.pk]), enterprise.name_en
    assert Permit.objects.filter(kind=PermitKind.DRUG_PRECURSOR_FILING_CERTIFICATE).exists()
    controlled = 0
    for need in Need.objects.select_related("material").prefetch_related("substitutes"):
        for material in (need.material, *need.substitutes.all()):
            controls = Controls.of(material)
            controlled += controls.any
            refusal = permit_refusal(
                material_id=material.pk,
                controls=controls,
                permits=permits[need.enterprise_id],
                today=today,
                name=material.name_en,
            )
            assert refusal is None, refusal
    assert controlled > 0


def test_every_park_has_shared_warehouses_with_sensible_zones(seeded: dict[str, Any]) -> None:
    for park in Park.objects.all():
        zones = list(StorageZone.objects.filter(warehouse__park=park, warehouse__owner=None))
        assert len(zones) >= 4, park.code

        def licensed(cls: str, zones: list[StorageZone] = zones) -> list[StorageZone]:
            return [z for z in zones if cls in z.allowed_classes]

        flammable, corrosive, gases = licensed("3"), licensed("8"), licensed("2.1")
        general = [z for z in zones if set(z.allowed_classes) <= {"9"}]
        assert flammable and corrosive and gases and general, park.code
        # Corrosives have a building of their own, apart from the flammable-liquid store.
        assert {z.building for z in corrosive} - {z.building for z in flammable}
        for zone in zones:
            assert zone.capacity_kg > 0


def test_many_enterprises_have_private_warehouses(seeded: dict[str, Any]) -> None:
    private = Warehouse.objects.exclude(owner=None)
    assert private.count() >= 20
    for warehouse in private.select_related("owner"):
        assert warehouse.owner is not None
        assert warehouse.park_id == warehouse.owner.park_id
        assert warehouse.zones.exists()


def test_lots_agree_with_their_ledger(seeded: dict[str, Any]) -> None:
    lots = StockLot.objects.annotate(ledger=Sum("movements__quantity_kg"))
    assert lots.count() >= 200
    for lot in lots:
        assert lot.on_hand_kg == lot.ledger, lot.batch_no
        # Only a lot given whole to a joint stockpile (a transfer out) is left empty.
        assert lot.on_hand_kg > 0 or lot.movements.filter(kind="transfer_out").exists()
        assert lot.batch_no.startswith("DEMO-")
    # Receipts; the take-over in a shared warehouse of the order that waits for
    # zh01.trader to complete it (parks.demo.work); the pools' contributions and draw
    # (parks.demo.pools), each a transfer out and in.
    kinds = list(StockMovement.objects.values_list("kind", flat=True))
    assert set(kinds) == {"receipt", "transfer_out", "transfer_in"}
    assert kinds.count("transfer_out") == kinds.count("transfer_in") > 1
    assert StockLot.objects.filter(zone__warehouse__owner=None).count() >= 50


def test_stock_respects_licence_capacity_and_segregation(seeded: dict[str, Any]) -> None:
    lots = list(StockLot.objects.select_related("material", "owner", "zone__warehouse"))
    occupied: dict[int, Decimal] = defaultdict(Decimal)
    by_warehouse: dict[int, list[StockLot]] = defaultdict(list)
    for lot in lots:
        zone = lot.zone
        assert all(c in zone.allowed_classes for c in lot.material.classes), lot.batch_no
        owner_wh = zone.warehouse.owner_id
        assert owner_wh == lot.owner_id or (
            owner_wh is None and zone.warehouse.park_id == lot.owner.park_id
        )
        occupied[zone.pk] += lot.on_hand_kg
        by_warehouse[zone.warehouse_id].append(lot)
    for zone in StorageZone.objects.filter(pk__in=occupied):
        assert occupied[zone.pk] <= zone.capacity_kg, zone
    for group in by_warehouse.values():
        for a, b in combinations(group, 2):
            verdict = required_separation(a.material.hazard_profile, b.material.hazard_profile)
            if a.zone_id == b.zone_id:
                allowed = Separation.DISTANCE
            elif a.zone.building == b.zone.building:
                allowed = Separation.ZONE
            else:
                allowed = Separation.BUILDING
            assert verdict.separation <= allowed, (a.batch_no, b.batch_no, verdict.rule)


def test_listings(seeded: dict[str, Any]) -> None:
    today = timezone.localdate()
    published = Listing.objects.filter(status=ListingStatus.PUBLISHED)
    assert published.count() >= 100
    assert Listing.objects.filter(status=ListingStatus.DRAFT).exists()
    assert set(published.values_list("visibility", flat=True)) == {"park", "region", "all"}
    for listing in Listing.objects.select_related("lot"):
        assert listing.seller_id == listing.lot.owner_id
        # What is left to offer lies in the lot (the demo's orders took the rest away).
        assert 0 < listing.quantity_kg - listing.ordered_kg <= listing.lot.on_hand_kg
        assert listing.min_order_kg <= listing.quantity_kg
        assert listing.price_per_t > 0
    for listing in published:
        assert listing.published_at is not None
        assert listing.available_until is None or listing.available_until >= today


def test_needs(seeded: dict[str, Any]) -> None:
    needs = Need.objects.filter(status=NeedStatus.OPEN)
    assert needs.count() >= 60
    assert needs.filter(substitutes__isnull=False).exists()
    assert needs.filter(delivery_zone__isnull=False).exists()
    assert needs.filter(delivery_zone__isnull=True, delivery_latitude__isnull=False).exists()
    assert needs.filter(max_distance_km__isnull=False).exists()
    assert needs.filter(min_purity_pct__isnull=False).exists()
    assert needs.filter(max_price_per_t__isnull=False).exists()
    for need in Need.objects.select_related("delivery_zone__warehouse", "enterprise"):
        assert need.material_id not in {s.pk for s in need.substitutes.all()}
        zone = need.delivery_zone
        if zone is not None:
            assert zone.warehouse.owner_id in (None, need.enterprise_id)
            assert zone.warehouse.park_id == need.enterprise.park_id
            assert all(c in zone.allowed_classes for c in need.material.classes)


def test_users_for_every_role(seeded: dict[str, Any]) -> None:
    user_model = get_user_model()
    assert not user_model.objects.filter(is_staff=False).exists()
    assert user_model.objects.get(username="admin").is_superuser
    roles = set(Membership.objects.values_list("role", flat=True))
    roles |= set(ParkRole.objects.values_list("role", flat=True))
    assert roles == ROLES
    full_sets = [
        e
        for e in Enterprise.objects.all()
        if set(e.members.values_list("role", flat=True)) == ENTERPRISE_ROLES
    ]
    assert len(full_sets) >= 3


# --- The command ----------------------------------------------------------------------------


def test_second_run_changes_no_row_count(seeded: dict[str, Any]) -> None:
    assert seeded["counts_first"] == seeded["counts_second"]
    assert "0 created" in seeded["second_out"]


def test_second_run_changes_no_value(seeded: dict[str, Any]) -> None:
    first, second = seeded["rows_first"], seeded["rows_second"]
    for label in first:
        assert first[label] == second[label], label
    assert seeded["accounts"] == seeded["accounts_second"]


def test_accounts_json(seeded: dict[str, Any]) -> None:
    accounts = seeded["accounts"]
    assert {a["role"] for a in accounts} == ROLES
    assert len({a["username"] for a in accounts}) == len(accounts)
    memberships = {
        m.user.username: m for m in Membership.objects.select_related("user", "enterprise")
    }
    for account in accounts:
        assert set(account) == {"username", "password", "role", "enterprise", "parks"}
        assert account["password"] == DEMO_PASSWORD
        if account["role"] in ENTERPRISE_ROLES:
            membership = memberships[account["username"]]
            assert account["enterprise"] == membership.enterprise.uscc
            assert account["role"] == membership.role
            assert account["parks"] == []
        else:
            assert account["enterprise"] is None
            assert account["parks"]
            granted = ParkRole.objects.filter(
                user__username=account["username"], role=account["role"]
            ).values_list("park__code", flat=True)
            assert sorted(granted) == sorted(account["parks"])
    assert "admin" not in {a["username"] for a in accounts}


def test_logins_work(seeded: dict[str, Any]) -> None:
    one_per_role = {a["role"]: a for a in seeded["accounts"]}
    logins = [(a["username"], a["password"]) for a in one_per_role.values()]
    for username, password in [*logins, ("admin", DEMO_PASSWORD)]:
        client = Client()
        assert client.login(username=username, password=password), username
        assert not client.login(username=username, password="wrong-password")


def test_output_lists_every_login(seeded: dict[str, Any]) -> None:
    out = seeded["out"]
    assert DEMO_PASSWORD in out
    for account in seeded["accounts"]:
        assert account["username"] in out
        assert (account["enterprise"] or account["parks"][0]) in out
    assert "admin" in out
    assert "superuser" in out


def test_every_demo_proposal_is_admitted_and_the_quantity_is_optimal(
    seeded: dict[str, Any],
) -> None:
    found = admission_violations()
    assert found.checked > 0 and found.total == 0
    matched = to_grams(matched_kg())
    assert matched > 0
    assert matched == independent_optimum(timezone.localdate(), with_conflicts=True)


def test_a_trader_finds_the_demos_proposals_among_unread_notifications(
    seeded: dict[str, Any],
) -> None:
    """After the seed (and so after `make run`), zh01.trader, the README's example, has
    unread notifications of the demo's proposals, heard from the matching run's events."""
    from django.contrib.auth import get_user_model

    from notifications.models import Notification

    trader = get_user_model().objects.get(username="zh01.trader")
    unread = Notification.objects.filter(user=trader, read_at__isnull=True)
    assert unread.filter(type="match.proposed").exists()
    assert all(
        n.data["seller_id"] == trader.membership.enterprise_id
        or n.data["buyer_id"] == trader.membership.enterprise_id
        for n in unread.filter(type="match.proposed")
    )


def test_the_demo_has_joint_stockpiles_below_target_and_after_a_draw(
    seeded: dict[str, Any],
) -> None:
    """Three pools in three parks; one below target with the engine's proposals for its
    need; one after an emergency draw with its replenishment split to the gram."""
    from matching.models import Match
    from pools.models import Obligation, Pool
    from pools.services import pool_held_kg
    from pools.services.shortfall import pool_need

    pools = {p.code: p for p in Pool.objects.select_related("park")}
    assert len(pools) >= 3 and len({p.park_id for p in pools.values()}) >= 2
    assert all(p.members.count() >= 2 and p.contributions.exists() for p in pools.values())
    short = pools["sy-naoh"]
    assert pool_held_kg(short) < short.target_kg
    need = pool_need(short)
    assert need is not None
    assert Match.objects.filter(need=need, buyer_id=short.holder_id).exists()
    drawn = pools["hb-naoh"]
    assert drawn.draws.filter(severity="emergency", status="granted").exists()
    owed = list(Obligation.objects.filter(pool=drawn).values_list("quantity_kg", flat=True))
    assert len(owed) == 3 and sum(owed) == Decimal(8000)
