"""The tenant-scoped admin: rows, choices and permissions per role; writes through services;
constant queries per changelist; Chinese and English."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin as django_admin
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.models import Membership
from access.scope import SYSTEM
from common.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from inventory.models import (
    Material,
    MovementKind,
    StockLot,
    StockMovement,
    StorageZone,
    Warehouse,
)
from marketplace.models import Listing, ListingStatus, Need, NeedStatus
from marketplace.services import listing_create, listing_publish, need_create
from parks.models import Enterprise
from tests import factories as f
from tests.factories import make_uscc

pytestmark = pytest.mark.django_db

ENTERPRISE_ROLES = ("enterprise_admin", "trader", "warehouse_keeper", "viewer")


@pytest.fixture
def world(world: dict[str, Any]) -> dict[str, Any]:
    """The shared world with every user a staff user (the admin needs nothing more)."""
    for user in world["users"].values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return world


@pytest.fixture
def rows(world: dict[str, Any], receive: Any) -> dict[str, Any]:
    """Lots, listings and needs of several enterprises in parks A and C."""
    zones, ents, material = world["zones"], world["enterprises"], world["material"]
    lots = {
        "a1": receive(zone=zones["a1"], material=material, quantity="1000"),
        "a1_shared": receive(
            zone=zones["shared"], material=material, quantity="500", owner=ents["a1"]
        ),
        "a2": receive(zone=zones["a2"], material=material, quantity="1000"),
        "c": receive(zone=zones["c"], material=material, quantity="1000"),
    }

    def listing(lot: StockLot, *, publish: bool = False) -> Listing:
        return listing_create(
            actor=SYSTEM,
            seller=lot.owner,
            lot=lot,
            quantity_kg=Decimal(100),
            price_per_t=Decimal(3000),
            available_from=date(2026, 1, 1),
            publish=publish,
        )

    listings = {
        "a1_draft": listing(lots["a1"]),
        "a2_draft": listing(lots["a2"]),
        "a2_published": listing(lots["a2"], publish=True),  # park-visible to a1
        "c_published": listing(lots["c"], publish=True),  # another park: invisible to a1
    }

    def need(enterprise: Enterprise, zone: StorageZone) -> Need:
        return need_create(
            actor=SYSTEM,
            enterprise=enterprise,
            material=material,
            quantity_kg=Decimal(50),
            needed_by=date(2027, 1, 1),
            delivery_zone=zone,
        )

    needs = {
        "a1": need(ents["a1"], zones["a1"]),
        "a2": need(ents["a2"], zones["a2"]),
        "c": need(ents["c"], zones["c"]),
    }
    # a2 sells to a1, as the engine would propose it.
    f.MatchFactory.create(
        listing=listings["a2_published"],
        need=needs["a1"],
        quantity_kg=Decimal(10),
        run=f.MatchRunFactory.create(),
    )
    return {"lots": lots, "listings": listings, "needs": needs}


def client_for(user: Any, **headers: str) -> Client:
    client = Client(headers=headers or None)
    client.force_login(user)
    return client


def changelist_pks(client: Client, model: str) -> set[int]:
    response = client.get(reverse(f"admin:{model}_changelist"))
    assert response.status_code == 200, model
    return {obj.pk for obj in response.context["cl"].result_list}


def pks(objs: dict[str, Any], *names: str) -> set[int]:
    return {objs[name].pk for name in names}


# --- rows in scope ---------------------------------------------------------------------------


def expected_rows(world: dict[str, Any], rows: dict[str, Any], who: str) -> dict[str, set[int]]:
    lots, listings, needs = rows["lots"], rows["listings"], rows["needs"]
    zones = world["zones"]
    warehouses = {k: z.warehouse for k, z in zones.items()}
    lot_movements = {
        k: {m.pk for m in StockMovement.objects.filter(lot=lot)} for k, lot in lots.items()
    }

    def movements(*names: str) -> set[int]:
        return set().union(*(lot_movements[n] for n in names))

    if who in ENTERPRISE_ROLES:
        return {
            "inventory_stocklot": pks(lots, "a1", "a1_shared"),
            "inventory_stockmovement": movements("a1", "a1_shared"),
            "marketplace_listing": pks(listings, "a1_draft", "a2_published"),
            "marketplace_need": pks(needs, "a1"),
            "inventory_warehouse": pks(warehouses, "a1", "shared"),
            "inventory_storagezone": pks(zones, "a1", "shared"),
        }
    if who in ("park_operator", "regulator"):
        return {
            "inventory_stocklot": pks(lots, "a1", "a1_shared", "a2"),
            "inventory_stockmovement": movements("a1", "a1_shared", "a2"),
            "marketplace_listing": pks(listings, "a1_draft", "a2_draft", "a2_published"),
            "marketplace_need": pks(needs, "a1", "a2"),
            "inventory_warehouse": pks(warehouses, "a1", "a2", "shared"),
            "inventory_storagezone": pks(zones, "a1", "a2", "shared"),
        }
    if who == "regulator_c":
        return {
            "inventory_stocklot": pks(lots, "c"),
            "inventory_stockmovement": movements("c"),
            "marketplace_listing": pks(listings, "c_published"),
            "marketplace_need": pks(needs, "c"),
            "inventory_warehouse": pks(warehouses, "c"),
            "inventory_storagezone": pks(zones, "c"),
        }
    assert who == "superuser"
    return {
        "inventory_stocklot": set(StockLot.objects.values_list("pk", flat=True)),
        "inventory_stockmovement": set(StockMovement.objects.values_list("pk", flat=True)),
        "marketplace_listing": set(Listing.objects.values_list("pk", flat=True)),
        "marketplace_need": set(Need.objects.values_list("pk", flat=True)),
        "inventory_warehouse": set(Warehouse.objects.values_list("pk", flat=True)),
        "inventory_storagezone": set(StorageZone.objects.values_list("pk", flat=True)),
    }


@pytest.mark.parametrize(
    "who", [*ENTERPRISE_ROLES, "park_operator", "regulator", "regulator_c", "superuser"]
)
def test_changelists_show_only_rows_in_scope(
    world: dict[str, Any], rows: dict[str, Any], who: str
) -> None:
    client = client_for(world["users"][who])
    for model, expected in expected_rows(world, rows, who).items():
        assert changelist_pks(client, model) == expected, (who, model)


@pytest.mark.parametrize(
    ("model", "kind", "name"),
    [
        ("inventory_stocklot", "lots", "a2"),
        ("inventory_stocklot", "lots", "c"),
        ("marketplace_listing", "listings", "a2_draft"),
        ("marketplace_listing", "listings", "c_published"),
        ("marketplace_need", "needs", "a2"),
    ],
)
def test_change_page_of_another_tenants_row_does_not_exist(
    world: dict[str, Any], rows: dict[str, Any], model: str, kind: str, name: str
) -> None:
    client = client_for(world["users"]["enterprise_admin"])
    url = reverse(f"admin:{model}_change", args=[rows[kind][name].pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    assert any("exist" in str(m) for m in get_messages(response.wsgi_request))
    # Writing to it is no different.
    assert client.post(url, {}).status_code == 302


@pytest.mark.parametrize("zone", ["a2", "c"])
def test_change_page_of_another_tenants_warehouse_and_zone_does_not_exist(
    world: dict[str, Any], zone: str
) -> None:
    client = client_for(world["users"]["warehouse_keeper"])
    z = world["zones"][zone]
    for model, pk in (("inventory_warehouse", z.warehouse.pk), ("inventory_storagezone", z.pk)):
        response = client.get(reverse(f"admin:{model}_change", args=[pk]))
        assert response.status_code == 302
        assert response["Location"] == reverse("admin:index")


def test_regulator_of_another_park_finds_nothing_of_park_a(
    world: dict[str, Any], rows: dict[str, Any]
) -> None:
    client = client_for(world["users"]["regulator_c"])
    url = reverse("admin:inventory_stocklot_change", args=[rows["lots"]["a1"].pk])
    assert client.get(url).status_code == 302


# --- choices of the add forms ----------------------------------------------------------------


def form_choices(client: Client, model: str, field: str) -> set[int]:
    response = client.get(reverse(f"admin:{model}_add"))
    assert response.status_code == 200
    return {obj.pk for obj in response.context["adminform"].form.fields[field].queryset}


def test_add_forms_offer_only_the_users_zones_and_lots(
    world: dict[str, Any], rows: dict[str, Any]
) -> None:
    zones, lots = world["zones"], rows["lots"]
    keeper = client_for(world["users"]["warehouse_keeper"])
    assert form_choices(keeper, "inventory_stocklot", "zone") == pks(zones, "a1", "shared")
    # A new zone goes into a warehouse the user may change: not the park's shared one.
    assert form_choices(keeper, "inventory_storagezone", "warehouse") == {zones["a1"].warehouse_id}
    trader = client_for(world["users"]["trader"])
    assert form_choices(trader, "marketplace_listing", "lot") == pks(lots, "a1", "a1_shared")
    assert form_choices(trader, "marketplace_need", "delivery_zone") == pks(zones, "a1", "shared")
    operator = client_for(world["users"]["park_operator"])
    assert form_choices(operator, "inventory_storagezone", "warehouse") == {
        zones["shared"].warehouse_id
    }
    assert form_choices(operator, "inventory_warehouse", "park") == {world["parks"]["a"].pk}


def test_autocomplete_of_zones_is_scoped(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["warehouse_keeper"])
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "inventory", "model_name": "stocklot", "field_name": "zone", "term": ""},
    )
    assert response.status_code == 200
    ids = {int(r["id"]) for r in response.json()["results"]}
    assert ids == pks(world["zones"], "a1", "shared")


def receipt_data(world: dict[str, Any], zone: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "material": world["material"].pk,
        "zone": world["zones"][zone].pk,
        "quantity": "2",
        "unit": "t",
        "batch_no": "B-001",
        "purity_pct": "99.5",
        "grade": "industrial",
        "produced_on": "2026-01-10",
        "expires_on": "2027-01-10",
        "reference": "DN-17",
        "note": "",
    }
    data.update(overrides)
    return data


def test_receipt_into_another_tenants_zone_is_refused(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["warehouse_keeper"])
    response = client.post(reverse("admin:inventory_stocklot_add"), receipt_data(world, "a2"))
    assert response.status_code == 200
    assert "zone" in response.context["adminform"].form.errors
    assert not StockLot.objects.exists()


# --- permissions -----------------------------------------------------------------------------

ADD_PAGES = (
    "inventory_stocklot",
    "inventory_warehouse",
    "inventory_storagezone",
    "marketplace_listing",
    "marketplace_need",
    "inventory_material",
    "parks_park",
)


@pytest.mark.parametrize("who", ["regulator", "viewer"])
def test_read_only_users_cannot_add_or_change_anything(
    world: dict[str, Any], rows: dict[str, Any], who: str
) -> None:
    client = client_for(world["users"][who])
    for model in ADD_PAGES:
        assert client.get(reverse(f"admin:{model}_add")).status_code == 403, model
        assert client.post(reverse(f"admin:{model}_add"), {}).status_code == 403, model
    own = {
        "inventory_stocklot": rows["lots"]["a1"].pk,
        "marketplace_listing": rows["listings"]["a1_draft"].pk,
        "marketplace_need": rows["needs"]["a1"].pk,
        "inventory_warehouse": world["zones"]["a1"].warehouse_id,
        "inventory_storagezone": world["zones"]["a1"].pk,
    }
    for model, pk in own.items():
        url = reverse(f"admin:{model}_change", args=[pk])
        response = client.get(url)
        assert response.status_code == 200, model  # the read-only view
        assert response.context["has_change_permission"] is False
        assert client.post(url, {}).status_code == 403, model
    listing = rows["listings"]["a1_draft"]
    client.post(
        reverse("admin:marketplace_listing_changelist"),
        {"action": "publish", "_selected_action": [listing.pk]},
    )
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DRAFT
    lot = rows["lots"]["a1"]
    assert client.get(reverse("admin:inventory_stocklot_adjust", args=[lot.pk])).status_code == 403


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("enterprise_admin", {"lot", "listing", "need", "warehouse", "zone"}),
        ("trader", {"listing", "need"}),
        ("warehouse_keeper", {"lot", "warehouse", "zone"}),
        ("viewer", set()),
        ("park_operator", {"warehouse", "zone"}),
        ("regulator", set()),
        ("superuser", {"lot", "listing", "need", "warehouse", "zone"}),
    ],
)
def test_who_may_add_what(world: dict[str, Any], who: str, allowed: set[str]) -> None:
    client = client_for(world["users"][who])
    pages = {
        "lot": "inventory_stocklot",
        "listing": "marketplace_listing",
        "need": "marketplace_need",
        "warehouse": "inventory_warehouse",
        "zone": "inventory_storagezone",
    }
    for name, model in pages.items():
        status = client.get(reverse(f"admin:{model}_add")).status_code
        assert status == (200 if name in allowed else 403), (who, name)


def test_deleting_is_never_offered_for_the_ledger_lots_listings_and_needs(
    world: dict[str, Any], rows: dict[str, Any]
) -> None:
    client = client_for(world["users"]["superuser"])
    lot = rows["lots"]["a1"]
    targets = {
        "inventory_stocklot": lot.pk,
        "inventory_stockmovement": lot.movements.get().pk,
        "marketplace_listing": rows["listings"]["a1_draft"].pk,
        "marketplace_need": rows["needs"]["a1"].pk,
    }
    for model, pk in targets.items():
        assert client.get(reverse(f"admin:{model}_delete", args=[pk])).status_code == 403
        action_form = client.get(reverse(f"admin:{model}_changelist")).context["action_form"]
        if action_form is not None:
            actions = {name for name, _label in action_form.fields["action"].choices}
            assert "delete_selected" not in actions, model
    assert StockLot.objects.filter(pk=lot.pk).exists()


def test_the_ledger_is_read_only_even_for_superusers(
    world: dict[str, Any], rows: dict[str, Any]
) -> None:
    client = client_for(world["users"]["superuser"])
    movement = rows["lots"]["a1"].movements.get()
    assert client.get(reverse("admin:inventory_stockmovement_add")).status_code == 403
    url = reverse("admin:inventory_stockmovement_change", args=[movement.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"quantity_kg": "1"}).status_code == 403


def test_other_enterprises_published_listing_is_read_only(
    world: dict[str, Any], rows: dict[str, Any]
) -> None:
    client = client_for(world["users"]["trader"])
    listing = rows["listings"]["a2_published"]
    url = reverse("admin:marketplace_listing_change", args=[listing.pk])
    assert client.get(url).context["has_change_permission"] is False
    assert client.post(url, {"price_per_t": "1"}).status_code == 403


def test_operator_manages_shared_warehouses_only(
    world: dict[str, Any], rows: dict[str, Any]
) -> None:
    client = client_for(world["users"]["park_operator"])
    shared, own = world["zones"]["shared"], world["zones"]["a1"]
    response = client.post(
        reverse("admin:inventory_storagezone_add"),
        {
            "warehouse": shared.warehouse_id,
            "code": "S2",
            "name": "drums",
            "building": "B",
            "capacity_kg": "5000",
            "allowed_classes": ["3", "8"],
        },
    )
    assert response.status_code == 302
    created = StorageZone.objects.get(warehouse=shared.warehouse, code="S2")
    assert created.allowed_classes == ["3", "8"]
    url = reverse("admin:inventory_storagezone_change", args=[own.pk])
    assert client.get(url).context["has_change_permission"] is False
    assert client.post(url, {"code": "X"}).status_code == 403
    # Lots in the park are visible to the operator, but not writable.
    lot_url = reverse("admin:inventory_stocklot_change", args=[rows["lots"]["a1"].pk])
    assert client.post(lot_url, {"batch_no": "X"}).status_code == 403


def test_zone_capacity_cannot_drop_below_what_it_holds(
    world: dict[str, Any], rows: dict[str, Any]
) -> None:
    client = client_for(world["users"]["warehouse_keeper"])
    zone = world["zones"]["a1"]
    response = client.post(
        reverse("admin:inventory_storagezone_change", args=[zone.pk]),
        {"code": zone.code, "name": "", "building": "A", "capacity_kg": "10"},
    )
    assert response.status_code == 200
    assert "capacity_kg" in response.context["adminform"].form.errors
    zone.refresh_from_db()
    assert zone.capacity_kg == Decimal("1000000")


def test_renaming_a_zone_to_a_taken_code_is_a_form_error(world: dict[str, Any]) -> None:
    zone = world["zones"]["a1"]
    f.StorageZoneFactory(warehouse=zone.warehouse, code="TAKEN")
    client = client_for(world["users"]["warehouse_keeper"])
    response = client.post(
        reverse("admin:inventory_storagezone_change", args=[zone.pk]),
        {"code": "TAKEN", "name": "", "building": "A", "capacity_kg": "1000"},
    )
    assert response.status_code == 200
    assert "code" in response.context["adminform"].form.errors


def test_superuser_receipt_names_the_owner_and_the_service_checks_the_zone(
    world: dict[str, Any],
) -> None:
    client = client_for(world["users"]["superuser"])
    a2 = world["enterprises"]["a2"]
    data = receipt_data(world, "a1", owner=a2.pk)  # a1's zone: not a2's to store in
    response = client.post(reverse("admin:inventory_stocklot_add"), data)
    assert response.status_code == 200
    assert "zone" in response.context["adminform"].form.errors
    assert not StockLot.objects.exists()
    data = receipt_data(world, "shared", owner=a2.pk)  # park A's shared warehouse
    assert client.post(reverse("admin:inventory_stocklot_add"), data).status_code == 302
    assert StockLot.objects.get().owner == a2


def test_enterprise_admin_edits_own_enterprise_only(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["enterprise_admin"])
    own, other = world["enterprises"]["a1"], world["enterprises"]["a2"]
    assert changelist_pks(client, "parks_enterprise") == set(
        Enterprise.objects.values_list("pk", flat=True)
    )
    response = client.post(
        reverse("admin:parks_enterprise_change", args=[own.pk]),
        {
            "name_zh": "新名称",
            "name_en": "New name",
            "latitude": "29.9",
            "longitude": "121.7",
            "industry": "coatings",
            "hazchem_licence_no": "",
            "uscc": "CHANGED",
            "is_active": "",
        },
    )
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.name_zh == "新名称"
    assert own.is_active  # not the enterprise's to decide
    assert own.uscc != "CHANGED"
    assert (
        client.post(reverse("admin:parks_enterprise_change", args=[other.pk]), {}).status_code
        == 403
    )
    assert client.get(reverse("admin:parks_enterprise_add")).status_code == 403
    trader = client_for(world["users"]["trader"])
    assert (
        trader.post(reverse("admin:parks_enterprise_change", args=[own.pk]), {}).status_code == 403
    )


def test_enterprise_admin_manages_memberships_of_own_enterprise(world: dict[str, Any]) -> None:
    users = world["users"]
    client = client_for(users["enterprise_admin"])
    own_memberships = set(
        Membership.objects.filter(enterprise=world["enterprises"]["a1"]).values_list(
            "pk", flat=True
        )
    )
    assert changelist_pks(client, "access_membership") == own_memberships
    newcomer = f.UserFactory.create()
    add = reverse("admin:access_membership_add")
    response = client.post(add, {"username": newcomer.username, "role": "trader"})
    assert response.status_code == 302
    membership = Membership.objects.get(user=newcomer)
    assert membership.enterprise == world["enterprises"]["a1"]
    # A login that already acts for an enterprise, or for a park, cannot be taken over.
    for taken in ("other_admin", "regulator"):
        response = client.post(add, {"username": users[taken].username, "role": "viewer"})
        assert response.status_code == 200
        assert "username" in response.context["adminform"].form.errors
    # Its own membership stays as it is.
    own = users["enterprise_admin"].membership
    url = reverse("admin:access_membership_change", args=[own.pk])
    assert client.post(url, {"role": "viewer"}).status_code == 403
    other = users["other_admin"].membership
    assert client.get(reverse("admin:access_membership_change", args=[other.pk])).status_code == 302
    assert (
        client_for(users["trader"]).get(reverse("admin:access_membership_changelist")).status_code
        == 403
    )


def test_outbox_and_park_roles_are_for_superusers(world: dict[str, Any]) -> None:
    for who in ("enterprise_admin", "park_operator", "regulator"):
        client = client_for(world["users"][who])
        for model in ("common_outboxevent", "common_outboxdelivery", "access_parkrole"):
            assert client.get(reverse(f"admin:{model}_changelist")).status_code == 403
    client = client_for(world["users"]["superuser"])
    assert client.get(reverse("admin:common_outboxevent_changelist")).status_code == 200
    assert client.get(reverse("admin:common_outboxevent_add")).status_code == 403
    assert client.get(reverse("admin:common_outboxdelivery_add")).status_code == 403


def test_a_failed_delivery_is_shown_to_superusers(world: dict[str, Any]) -> None:
    event = OutboxEvent.objects.create(topic="order.confirmed", payload={"order_id": 1})
    failed = OutboxDelivery.objects.create(
        event=event,
        subscriber="notifications.mail",
        status=DeliveryStatus.FAILED,
        attempts=10,
        last_error="ConnectionError: smtp down",
    )
    OutboxDelivery.objects.create(event=event, subscriber="matching.rematch", status="done")
    client = client_for(world["users"]["superuser"])
    changelist = reverse("admin:common_outboxdelivery_changelist")
    page = client.get(changelist, {"status": "failed", "subscriber": "notifications.mail"})
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [failed]
    assert "notifications.mail" in page.content.decode()
    detail = client.get(reverse("admin:common_outboxdelivery_change", args=[failed.pk]))
    assert "smtp down" in detail.content.decode()
    assert (
        client.post(reverse("admin:common_outboxdelivery_delete", args=[failed.pk])).status_code
        == 403
    )
    event_page = client.get(reverse("admin:common_outboxevent_change", args=[event.pk]))
    assert "notifications.mail" in event_page.content.decode()


def test_admin_index_lists_what_the_user_may_see(world: dict[str, Any]) -> None:
    response = client_for(world["users"]["trader"]).get(reverse("admin:index"))
    models = {m["object_name"] for app in response.context["app_list"] for m in app["models"]}
    assert {"StockLot", "Listing", "Need", "Warehouse", "Material", "Park"} <= models
    assert not {"OutboxEvent", "ParkRole", "Membership", "User"} & models


# --- writes through services -----------------------------------------------------------------


def test_receipt_through_the_add_form_writes_a_ledger_row(world: dict[str, Any]) -> None:
    user = world["users"]["warehouse_keeper"]
    client = client_for(user)
    response = client.post(reverse("admin:inventory_stocklot_add"), receipt_data(world, "shared"))
    assert response.status_code == 302
    lot = StockLot.objects.get()
    assert lot.owner == world["enterprises"]["a1"]
    assert lot.zone == world["zones"]["shared"]
    assert lot.on_hand_kg == Decimal("2000.000")
    assert lot.batch_no == "B-001"
    movement = lot.movements.get()
    assert movement.kind == MovementKind.RECEIPT
    assert movement.quantity_kg == Decimal("2000.000")
    assert movement.actor == user
    assert movement.reference == "DN-17"
    assert OutboxEvent.objects.filter(topic="stock.changed").exists()
    assert response["Location"] == reverse("admin:inventory_stocklot_changelist")


def test_receipt_in_litres_uses_the_density(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["warehouse_keeper"])
    data = receipt_data(world, "a1", quantity="100", unit="L")  # density 0.8 kg/L
    assert client.post(reverse("admin:inventory_stocklot_add"), data).status_code == 302
    assert StockLot.objects.get().on_hand_kg == Decimal("80.000")


def test_receipt_refused_by_the_service_is_a_form_error(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["warehouse_keeper"])
    data = receipt_data(world, "a1", quantity="2000", unit="t")  # the zone holds 1000 t
    response = client.post(reverse("admin:inventory_stocklot_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "zone" in errors
    assert "free" in str(errors["zone"])
    assert not StockLot.objects.exists()
    assert not StockMovement.objects.exists()


def test_receipt_with_a_bad_unit_is_a_form_error(world: dict[str, Any]) -> None:
    world["material"].density_kg_per_l = None
    world["material"].save()
    client = client_for(world["users"]["warehouse_keeper"])
    response = client.post(
        reverse("admin:inventory_stocklot_add"), receipt_data(world, "a1", unit="L")
    )
    assert response.status_code == 200
    assert "unit" in response.context["adminform"].form.errors


def test_changing_a_lot_never_changes_its_quantities(
    world: dict[str, Any], rows: dict[str, Any]
) -> None:
    client = client_for(world["users"]["warehouse_keeper"])
    lot = rows["lots"]["a1"]
    response = client.post(
        reverse("admin:inventory_stocklot_change", args=[lot.pk]),
        {
            "batch_no": "B-NEW",
            "purity_pct": "98",
            "grade": "",
            "produced_on": "",
            "expires_on": "",
            "on_hand_kg": "999999",
            "reserved_kg": "5",
            "zone": world["zones"]["shared"].pk,
        },
    )
    assert response.status_code == 302
    lot.refresh_from_db()
    assert lot.batch_no == "B-NEW"
    assert lot.on_hand_kg == Decimal("1000.000")
    assert lot.reserved_kg == 0
    assert lot.zone == world["zones"]["a1"]


def test_adjustment_goes_through_the_service(world: dict[str, Any], rows: dict[str, Any]) -> None:
    client = client_for(world["users"]["warehouse_keeper"])
    lot = rows["lots"]["a1"]
    url = reverse("admin:inventory_stocklot_adjust", args=[lot.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"quantity": "-0.1", "unit": "t", "note": "spill"})
    assert response.status_code == 302
    lot.refresh_from_db()
    assert lot.on_hand_kg == Decimal("900.000")
    movement = lot.movements.get(kind=MovementKind.ADJUSTMENT)
    assert movement.quantity_kg == Decimal("-100.000")
    assert movement.note == "spill"
    # Taking more than the lot holds is a form error.
    response = client.post(url, {"quantity": "-5000", "unit": "kg", "note": "oops"})
    assert response.status_code == 200
    assert "quantity" in response.context["form"].errors
    other = rows["lots"]["a2"]
    assert (
        client.get(reverse("admin:inventory_stocklot_adjust", args=[other.pk])).status_code == 302
    )


def test_listing_added_through_the_admin_is_created_by_the_service(
    world: dict[str, Any], rows: dict[str, Any]
) -> None:
    client = client_for(world["users"]["trader"])
    lot = rows["lots"]["a1"]
    response = client.post(
        reverse("admin:marketplace_listing_add"),
        {
            "lot": lot.pk,
            "quantity_kg": "200",
            "price_per_t": "3500",
            "min_order_kg": "0",
            "available_from": "2026-02-01",
            "available_until": "",
            "visibility": "region",
            "note": "",
        },
    )
    assert response.status_code == 302
    listing = Listing.objects.filter(lot=lot).latest("pk")
    assert listing.seller == world["enterprises"]["a1"]
    assert listing.status == ListingStatus.DRAFT
    assert OutboxEvent.objects.filter(
        topic="listing.created", payload__listing_id=listing.pk
    ).exists()


def test_listing_refused_by_the_service_is_a_form_error(
    world: dict[str, Any], rows: dict[str, Any]
) -> None:
    client = client_for(world["users"]["trader"])
    listing = listing_publish(actor=SYSTEM, listing=rows["listings"]["a1_draft"])
    url = reverse("admin:marketplace_listing_change", args=[listing.pk])
    data = {
        "quantity_kg": "5000",  # the lot holds 1000 kg
        "price_per_t": "3000",
        "min_order_kg": "0",
        "available_from": "2026-01-01",
        "available_until": "",
        "visibility": "park",
        "note": "",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "quantity_kg" in response.context["adminform"].form.errors
    listing.refresh_from_db()
    assert listing.quantity_kg == Decimal(100)
    data["quantity_kg"] = "300"
    assert client.post(url, data).status_code == 302
    listing.refresh_from_db()
    assert listing.quantity_kg == Decimal(300)


def test_publish_and_withdraw_actions(world: dict[str, Any], rows: dict[str, Any]) -> None:
    client = client_for(world["users"]["trader"])
    own, other = rows["listings"]["a1_draft"], rows["listings"]["a2_published"]
    changelist = reverse("admin:marketplace_listing_changelist")
    response = client.post(
        changelist, {"action": "publish", "_selected_action": [own.pk]}, follow=True
    )
    assert response.status_code == 200
    own.refresh_from_db()
    assert own.status == ListingStatus.PUBLISHED
    assert own.published_at is not None
    # Publishing twice is refused with a message, not an error page.
    response = client.post(
        changelist, {"action": "publish", "_selected_action": [own.pk]}, follow=True
    )
    assert response.status_code == 200
    assert any("already published" in str(m) for m in response.context["messages"])
    # Another enterprise's listing on the page is left alone.
    response = client.post(
        changelist, {"action": "withdraw", "_selected_action": [own.pk, other.pk]}, follow=True
    )
    assert any("other enterprises" in str(m) for m in response.context["messages"])
    own.refresh_from_db()
    other.refresh_from_db()
    assert own.status == ListingStatus.WITHDRAWN
    assert other.status == ListingStatus.PUBLISHED


def test_need_added_and_closed_through_the_admin(
    world: dict[str, Any], rows: dict[str, Any]
) -> None:
    client = client_for(world["users"]["trader"])
    substitute = f.MaterialFactory.create()
    response = client.post(
        reverse("admin:marketplace_need_add"),
        {
            "material": world["material"].pk,
            "substitutes": [substitute.pk],
            "quantity_kg": "750",
            "max_price_per_t": "4000",
            "needed_by": "2027-03-01",
            "delivery_zone": world["zones"]["shared"].pk,
            "delivery_latitude": "",
            "delivery_longitude": "",
            "max_distance_km": "",
            "min_purity_pct": "",
            "note": "",
        },
    )
    assert response.status_code == 302
    need = Need.objects.filter(enterprise=world["enterprises"]["a1"]).latest("pk")
    assert need.quantity_kg == Decimal(750)
    assert list(need.substitutes.all()) == [substitute]
    assert OutboxEvent.objects.filter(topic="need.opened", payload__need_id=need.pk).exists()
    changelist = reverse("admin:marketplace_need_changelist")
    client.post(changelist, {"action": "close", "_selected_action": [need.pk]})
    need.refresh_from_db()
    assert need.status == NeedStatus.CLOSED
    # A closed need is read-only; reopening is an action.
    url = reverse("admin:marketplace_need_change", args=[need.pk])
    assert client.post(url, {"quantity_kg": "1"}).status_code == 403
    client.post(changelist, {"action": "reopen", "_selected_action": [need.pk]})
    need.refresh_from_db()
    assert need.status == NeedStatus.OPEN


def test_need_without_a_delivery_place_is_a_form_error(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["trader"])
    response = client.post(
        reverse("admin:marketplace_need_add"),
        {"material": world["material"].pk, "quantity_kg": "1", "needed_by": "2027-03-01"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Need.objects.exists()


# --- queries per changelist ------------------------------------------------------------------


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["enterprise_admin", "park_operator", "superuser"])
def test_changelist_queries_do_not_grow_with_rows(
    world: dict[str, Any], receive: Any, who: str
) -> None:
    client = client_for(world["users"][who])
    models = (
        "inventory_stocklot",
        "inventory_stockmovement",
        "inventory_warehouse",
        "inventory_storagezone",
        "marketplace_listing",
        "marketplace_need",
        "parks_enterprise",
        "inventory_material",
    )
    zone, ent = world["zones"]["a1"], world["enterprises"]["a1"]

    def add_rows(n: int) -> None:
        for _ in range(n):
            material = f.MaterialFactory.create()
            lot = receive(zone=zone, material=material, quantity="100")
            listing_create(
                actor=SYSTEM,
                seller=ent,
                lot=lot,
                quantity_kg=Decimal(10),
                price_per_t=Decimal(100),
                available_from=date(2026, 1, 1),
            )
            need_create(
                actor=SYSTEM,
                enterprise=ent,
                material=material,
                quantity_kg=Decimal(10),
                needed_by=date(2027, 1, 1),
                delivery_zone=zone,
                substitutes=[world["material"]],
            )
            f.StorageZoneFactory(warehouse=f.WarehouseFactory(owner=ent))
            f.EnterpriseFactory(park=ent.park)

    add_rows(2)
    urls = {m: reverse(f"admin:{m}_changelist") for m in models}
    client.get(urls[models[0]])  # warm up the session and content types
    few = {m: count_queries(client, url) for m, url in urls.items()}
    add_rows(5)
    many = {m: count_queries(client, url) for m, url in urls.items()}
    assert few == many


# --- languages -------------------------------------------------------------------------------


def test_admin_speaks_chinese(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["warehouse_keeper"], accept_language="zh-hans")
    page = client.get(reverse("admin:index")).content.decode()
    assert "库存批次" in page  # stock lots
    assert "仓库" in page  # warehouses
    page = client.get(reverse("admin:inventory_stocklot_add")).content.decode()
    assert "数量" in page  # quantity
    assert "Stock lots" not in page


def test_admin_speaks_english(world: dict[str, Any]) -> None:
    client = client_for(world["users"]["warehouse_keeper"], accept_language="en")
    page = client.get(reverse("admin:index")).content.decode()
    assert "Stock lots" in page
    assert "库存批次" not in page


# --- every page renders ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["superuser", "enterprise_admin", "park_operator", "regulator"])
def test_every_admin_page_renders(world: dict[str, Any], rows: dict[str, Any], who: str) -> None:
    client = client_for(world["users"][who])
    site = django_admin.site
    for model, model_admin in site._registry.items():
        if model._meta.app_label not in (
            "common",
            "parks",
            "inventory",
            "marketplace",
            "matching",
            "audit",
        ):
            continue
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        response = client.get(reverse(f"{name}_changelist"))
        if response.status_code == 403:
            continue
        assert response.status_code == 200, name
        request = response.wsgi_request
        if model_admin.has_add_permission(request):
            assert client.get(reverse(f"{name}_add")).status_code == 200, name
        for obj in model_admin.get_queryset(request)[:3]:
            response = client.get(reverse(f"{name}_change", args=[obj.pk]))
            assert response.status_code == 200, (name, obj.pk)


# --- catalogue, warehouses, zones and lot details through their services ---------------------


def change_form_data(client: Client, url: str) -> dict[str, Any]:
    """The POST data of a change page as it is shown: its form and inline formsets."""
    response = client.get(url)
    assert response.status_code == 200, url
    forms = [response.context["adminform"].form]
    data: dict[str, Any] = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        forms.extend(formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = value
    return data


def test_lot_details_are_changed_by_the_service(
    world: dict[str, Any], rows: dict[str, Any]
) -> None:
    client = client_for(world["users"]["warehouse_keeper"])
    lot = rows["lots"]["a1"]
    url = reverse("admin:inventory_stocklot_change", args=[lot.pk])
    events = OutboxEvent.objects.filter(topic="stock.changed").count()
    data = {**change_form_data(client, url), "grade": "electronic", "expires_on": "2027-06-30"}
    assert client.post(url, data).status_code == 302
    lot.refresh_from_db()
    assert (lot.grade, lot.expires_on) == ("electronic", date(2027, 6, 30))
    assert OutboxEvent.objects.filter(topic="stock.changed").count() == events + 1
    # Expiry before production is an error on expires_on; nothing changes.
    before = StockLot.objects.filter(pk=lot.pk).values().get()
    data.update(produced_on="2027-07-01")
    response = client.post(url, data)
    assert response.status_code == 200
    assert "expires_on" in response.context["adminform"].form.errors
    assert StockLot.objects.filter(pk=lot.pk).values().get() == before
    assert OutboxEvent.objects.filter(topic="stock.changed").count() == events + 1


def test_unlicensing_a_class_in_stock_is_a_form_error(world: dict[str, Any], receive: Any) -> None:
    zone = world["zones"]["a1"]
    receive(zone=zone, material=f.MaterialFactory.create(primary_class="8"), quantity="10")
    client = client_for(world["users"]["warehouse_keeper"])
    url = reverse("admin:inventory_storagezone_change", args=[zone.pk])
    data = {**change_form_data(client, url), "allowed_classes": ["3"]}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "allowed_classes" in response.context["adminform"].form.errors
    zone.refresh_from_db()
    assert "8" in zone.allowed_classes


def test_reclassifying_a_material_in_stock_is_a_form_error(
    world: dict[str, Any], rows: dict[str, Any]
) -> None:
    material = world["material"]  # in stock in every lot of ``rows``
    client = client_for(world["users"]["superuser"])
    url = reverse("admin:inventory_material_change", args=[material.pk])
    data = {**change_form_data(client, url), "primary_class": "8", "name_en": "Renamed"}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "primary_class" in response.context["adminform"].form.errors
    material.refresh_from_db()
    assert (material.primary_class, material.name_en) == ("", world["material"].name_en)
    data = {**change_form_data(client, url), "name_en": "Renamed"}
    assert client.post(url, data).status_code == 302
    material.refresh_from_db()
    assert material.name_en == "Renamed"


def test_zones_edited_on_the_warehouse_page_go_through_the_services(
    world: dict[str, Any], rows: dict[str, Any]
) -> None:
    zone = world["zones"]["a1"]  # holds 1000 kg
    client = client_for(world["users"]["warehouse_keeper"])
    url = reverse("admin:inventory_warehouse_change", args=[zone.warehouse_id])
    data = change_form_data(client, url)
    data.update({"name": "Renamed store", "zones-0-capacity_kg": "999"})
    response = client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert any("1000" in str(e) for e in errors), errors
    zone.refresh_from_db()
    assert zone.capacity_kg == Decimal(1000000)
    assert Warehouse.objects.get(pk=zone.warehouse_id).name != "Renamed store"  # rolled back
    # Within what it holds, and a new zone alongside.
    data.update(
        {
            "zones-0-capacity_kg": "1000",
            "zones-TOTAL_FORMS": 2,
            "zones-1-warehouse": zone.warehouse_id,
            "zones-1-code": "Z-NEW",
            "zones-1-building": "B",
            "zones-1-capacity_kg": "500",
            "zones-1-allowed_classes": ["8"],
        }
    )
    assert client.post(url, data).status_code == 302
    zone.refresh_from_db()
    assert zone.capacity_kg == Decimal(1000)
    added = StorageZone.objects.get(warehouse_id=zone.warehouse_id, code="Z-NEW")
    assert (added.building, added.capacity_kg, added.allowed_classes) == ("B", 500, ["8"])
    assert Warehouse.objects.get(pk=zone.warehouse_id).name == "Renamed store"


def test_warehouse_park_and_owner_are_read_only_once_it_exists(world: dict[str, Any]) -> None:
    warehouse = world["zones"]["a1"].warehouse
    client = client_for(world["users"]["superuser"])
    url = reverse("admin:inventory_warehouse_change", args=[warehouse.pk])
    data = {
        **change_form_data(client, url),
        "owner": world["enterprises"]["a2"].pk,
        "park": world["parks"]["b"].pk,
    }
    assert client.post(url, data).status_code == 302
    warehouse.refresh_from_db()
    assert (warehouse.owner, warehouse.park) == (world["enterprises"]["a1"], world["parks"]["a"])


def test_superuser_adds_material_and_enterprise_through_the_services(
    world: dict[str, Any],
) -> None:
    client = client_for(world["users"]["superuser"])
    response = client.post(
        reverse("admin:inventory_material_add"),
        {
            "name_zh": "液氯",
            "name_en": "Chlorine",
            "cas": "7782-50-5",
            "primary_class": "2.3",
            "subsidiary_classes": ["5.1", "8"],
            "physical_state": "gas",
            "family": "chlorine",
            "default_unit": "kg",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert Material.objects.get(cas="7782-50-5").classes == ("2.3", "5.1", "8")
    # The classes that do not fit together are refused by the service, on the field.
    response = client.post(
        reverse("admin:inventory_material_add"),
        {
            "name_zh": "混合物",
            "name_en": "Mixture",
            "subsidiary_classes": ["8"],
            "physical_state": "liquid",
            "default_unit": "kg",
        },
    )
    assert response.status_code == 200
    assert "subsidiary_classes" in response.context["adminform"].form.errors
    response = client.post(
        reverse("admin:parks_enterprise_add"),
        {
            "uscc": make_uscc(960),
            "park": world["parks"]["b"].pk,
            "name_zh": "新企业",
            "latitude": "29.9",
            "longitude": "121.7",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert Enterprise.objects.get(uscc=make_uscc(960)).park == world["parks"]["b"]
