"""The audit pilot: every write of a listing leaves exactly one audit row, with the right
actor, the terms before and after, the request id and the token it came through, in the
write's own transaction."""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from access.scope import SYSTEM, resolve_scope
from audit.context import audit_context
from audit.models import AuditEntry
from common.exceptions import DomainError
from inventory.models import StockLot
from marketplace.exceptions import InvalidTransition
from marketplace.models import Listing, ListingStatus, Need
from marketplace.services import (
    listing_create,
    listing_publish,
    listing_update,
    listing_withdraw,
    need_close,
    need_create,
    need_reopen,
    need_update,
    needs_expire_due,
)
from tests import factories as f
from tests.audited import one_audit_row

pytestmark = pytest.mark.django_db
LISTINGS = "/api/v1/listings/"


@pytest.fixture
def lot(world: dict[str, Any], receive: Callable[..., StockLot]) -> StockLot:
    return receive(zone=world["zones"]["a1"], material=world["material"], quantity="1000")


def draft(world: dict[str, Any], lot: StockLot, **kwargs: Any) -> Listing:
    return listing_create(
        actor=SYSTEM,
        seller=world["enterprises"]["a1"],
        lot=lot,
        quantity_kg=Decimal(100),
        price_per_t=Decimal("3000.00"),
        available_from=timezone.localdate(),
        **kwargs,
    )


def test_each_listing_service_writes_one_row_with_its_changes(
    world: dict[str, Any], lot: StockLot
) -> None:
    trader = world["users"]["trader"]
    a1 = world["enterprises"]["a1"]
    with one_audit_row(actor=trader, action="listing.create") as created:
        listing = listing_create(
            actor=resolve_scope(trader),
            seller=a1,
            lot=lot,
            quantity_kg=Decimal(100),
            price_per_t=Decimal("3000.00"),
            available_from=timezone.localdate(),
        )
    assert created.entry.changes["quantity_kg"] == [None, "100"]
    assert created.entry.changes["status"] == [None, "draft"]
    assert (created.entry.enterprise_id, created.entry.park_id) == (a1.pk, a1.park_id)
    assert created.entry.role == "trader"

    with one_audit_row(actor=trader, action="listing.update", target=listing) as updated:
        listing_update(
            actor=resolve_scope(trader),
            listing=listing,
            price_per_t=Decimal("3200.00"),
            note="drums",
        )
    assert updated.entry.changes == {
        "price_per_t": ["3000.00", "3200.00"],
        "note": ["", "drums"],
    }

    with one_audit_row(actor=trader, action="listing.publish", target=listing) as published:
        listing_publish(actor=resolve_scope(trader), listing=listing)
    assert published.entry.changes["status"] == ["draft", "published"]
    assert published.entry.changes["published_at"][0] is None

    with one_audit_row(actor=trader, action="listing.withdraw", target=listing) as withdrawn:
        listing_withdraw(actor=resolve_scope(trader), listing=listing)
    assert withdrawn.entry.changes == {"status": ["published", "withdrawn"]}


def test_create_and_publish_at_once_is_one_row(world: dict[str, Any], lot: StockLot) -> None:
    admin = world["users"]["enterprise_admin"]
    with one_audit_row(actor=admin, action="listing.create") as row:
        listing_create(
            actor=resolve_scope(admin),
            seller=world["enterprises"]["a1"],
            lot=lot,
            quantity_kg=Decimal(100),
            price_per_t=Decimal("3000.00"),
            available_from=timezone.localdate(),
            publish=True,
        )
    assert row.entry.changes["status"] == [None, ListingStatus.PUBLISHED]


def test_a_superuser_writes_into_the_sellers_trail(world: dict[str, Any], lot: StockLot) -> None:
    root = world["users"]["superuser"]
    listing = draft(world, lot)
    with one_audit_row(actor=root, action="listing.update") as row:
        listing_update(actor=resolve_scope(root), listing=listing, note="checked")
    assert (row.entry.role, row.entry.enterprise_id) == ("superuser", world["enterprises"]["a1"].pk)


def test_a_refused_write_leaves_no_row(world: dict[str, Any], lot: StockLot) -> None:
    listing = draft(world, lot)
    listing_withdraw(actor=SYSTEM, listing=listing)
    before = AuditEntry.objects.count()
    with pytest.raises(InvalidTransition):
        listing_withdraw(actor=SYSTEM, listing=listing)
    with pytest.raises(InvalidTransition):
        listing_update(actor=SYSTEM, listing=listing, note="too late")
    assert AuditEntry.objects.count() == before


def test_the_row_is_in_the_writes_transaction(
    world: dict[str, Any], lot: StockLot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write rolled back after its service returned takes its audit row with it; an audit
    row that cannot be written takes the write with it."""
    listing = draft(world, lot)
    before = AuditEntry.objects.count()

    def update_then_fail() -> None:
        with transaction.atomic():
            listing_update(actor=SYSTEM, listing=listing, price_per_t=Decimal("1.00"))
            raise RuntimeError("the caller's transaction fails")

    with pytest.raises(RuntimeError):
        update_then_fail()
    assert AuditEntry.objects.count() == before

    def refuse(**kwargs: Any) -> None:
        raise RuntimeError("audit row refused")

    monkeypatch.setattr("marketplace.services.audit_record", refuse)
    with pytest.raises(RuntimeError):
        listing_update(actor=SYSTEM, listing=listing, price_per_t=Decimal("1.00"))
    listing.refresh_from_db()
    assert listing.price_per_t == Decimal("3000.00")


def test_a_partners_call_is_tied_to_its_rows(world: dict[str, Any], lot: StockLot) -> None:
    """Through the API: the request id the partner sent and the token it used."""
    admin = world["users"]["enterprise_admin"]
    token, key = AuthToken.objects.create(user=admin)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = {
        "lot": lot.pk,
        "quantity": "100",
        "unit": "kg",
        "price_per_t": "3000.00",
        "available_from": timezone.localdate().isoformat(),
    }
    with one_audit_row(actor=admin, action="listing.create") as row:
        response = client.post(LISTINGS, body, format="json", HTTP_X_REQUEST_ID="erp-7f3a-001")
    assert response.status_code == 201, response.content
    assert response["X-Request-ID"] == "erp-7f3a-001"
    assert row.entry.request_id == "erp-7f3a-001"
    assert row.entry.via == f"token:{token.token_key}"
    assert row.entry.object_id == str(response.json()["id"])

    pk = response.json()["id"]
    with one_audit_row(actor=admin, action="listing.publish") as row:
        response = client.post(f"{LISTINGS}{pk}/publish/", {}, format="json")
    assert response.status_code == 200, response.content
    assert row.entry.request_id == response["X-Request-ID"] != "erp-7f3a-001"


def test_a_session_write_says_so(world: dict[str, Any], lot: StockLot) -> None:
    admin = world["users"]["enterprise_admin"]
    listing = draft(world, lot)
    client = APIClient(enforce_csrf_checks=False)
    client.force_login(admin)
    with one_audit_row(actor=admin, action="listing.update") as row:
        response = client.patch(f"{LISTINGS}{listing.pk}/", {"note": "by hand"}, format="json")
    assert response.status_code == 200, response.content
    assert row.entry.via == "session"


# --- Needs ---------------------------------------------------------------------------------


def test_each_need_service_writes_one_row_with_its_changes(world: dict[str, Any]) -> None:
    trader = world["users"]["trader"]
    a1 = world["enterprises"]["a1"]
    substitute = f.MaterialFactory.create()
    needed_by = timezone.localdate() + timedelta(days=30)
    with one_audit_row(actor=trader, action="need.create") as created:
        need = need_create(
            actor=resolve_scope(trader),
            enterprise=a1,
            material=world["material"],
            quantity_kg=Decimal(400),
            needed_by=needed_by,
            delivery_zone=world["zones"]["a1"],
            substitutes=[substitute],
        )
    assert created.entry.object_id == str(need.pk)
    assert created.entry.changes["quantity_kg"] == [None, "400"]
    assert created.entry.changes["needed_by"] == [None, needed_by.isoformat()]
    assert created.entry.changes["delivery_zone"] == [None, world["zones"]["a1"].pk]
    assert created.entry.changes["status"] == [None, "open"]
    assert created.entry.changes["substitutes"] == [None, [substitute.pk]]
    assert (created.entry.enterprise_id, created.entry.role) == (a1.pk, "trader")

    with one_audit_row(actor=trader, action="need.update", target=need) as updated:
        need_update(
            actor=resolve_scope(trader),
            need=need,
            max_price_per_t=Decimal("2500.00"),
            substitutes=[],
        )
    assert updated.entry.changes == {
        "max_price_per_t": [None, "2500.00"],
        "substitutes": [[substitute.pk], []],
    }

    with one_audit_row(actor=trader, action="need.update", target=need) as same:
        need_update(actor=resolve_scope(trader), need=need, note="")
    assert same.entry.changes == {}

    with one_audit_row(actor=trader, action="need.close", target=need) as closed:
        need_close(actor=resolve_scope(trader), need=need)
    assert closed.entry.changes == {"status": ["open", "closed"]}

    with one_audit_row(actor=trader, action="need.reopen", target=need) as reopened:
        need_reopen(actor=resolve_scope(trader), need=need)
    assert reopened.entry.changes == {"status": ["closed", "open"]}


def test_a_refused_need_write_leaves_no_row(world: dict[str, Any]) -> None:
    need = need_create(
        actor=SYSTEM,
        enterprise=world["enterprises"]["a1"],
        material=world["material"],
        quantity_kg=Decimal(400),
        needed_by=timezone.localdate() + timedelta(days=30),
        delivery_zone=world["zones"]["a1"],
    )
    need_close(actor=SYSTEM, need=need)
    before = AuditEntry.objects.count()
    with pytest.raises(InvalidTransition):
        need_close(actor=SYSTEM, need=need)
    with pytest.raises(InvalidTransition):
        need_update(actor=SYSTEM, need=need, note="too late")
    with pytest.raises(DomainError):
        need_create(
            actor=SYSTEM,
            enterprise=world["enterprises"]["a1"],
            material=world["material"],
            quantity_kg=Decimal(0),
            needed_by=timezone.localdate(),
            delivery_zone=world["zones"]["a1"],
        )
    assert AuditEntry.objects.count() == before


def test_the_expiry_sweep_writes_one_system_row_per_need(world: dict[str, Any]) -> None:
    """By the system (no user), in each owner's trail, in the sweep's transaction."""
    a1, a2 = world["enterprises"]["a1"], world["enterprises"]["a2"]
    today = timezone.localdate()

    def need_of(enterprise: Any, needed_by: Any) -> Need:
        return need_create(
            actor=SYSTEM,
            enterprise=enterprise,
            material=world["material"],
            quantity_kg=Decimal(10),
            needed_by=needed_by,
            delivery_zone=world["zones"]["a1"],
        )

    due = [need_of(a1, today + timedelta(days=1)), need_of(a2, today + timedelta(days=2))]
    kept = need_of(a1, today + timedelta(days=10))
    before = AuditEntry.objects.count()
    with audit_context(via="task"):
        assert needs_expire_due(today=today + timedelta(days=3), batch=1) == 2
    rows = list(AuditEntry.objects.filter(action="need.expire").order_by("id"))
    assert AuditEntry.objects.count() == before + 2
    assert [r.object_id for r in rows] == [str(n.pk) for n in due]
    assert [(r.enterprise_id, r.park_id) for r in rows] == [
        (a1.pk, a1.park_id),
        (a2.pk, a2.park_id),
    ]
    assert {(r.user_id, r.username, r.role, r.via) for r in rows} == {(None, "", "", "task")}
    assert rows[0].changes == {"status": ["open", "expired"]}
    assert str(kept.pk) not in {r.object_id for r in rows}
    # Nothing left due: nothing written.
    assert needs_expire_due(today=today + timedelta(days=3)) == 0
    assert AuditEntry.objects.count() == before + 2
