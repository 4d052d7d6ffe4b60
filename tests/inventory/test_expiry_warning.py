"""The warning sweep (``reservations_warn_expiring``, the beat task): a held reservation
that runs out within RESERVATION_EXPIRY_WARNING_MINUTES is announced once
(``reservation.expiring``), never a released, expired or already due one, nor one further
off; each with one ``reservation.warn`` audit row by the system."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db.models import QuerySet
from django.test import override_settings
from django.utils import timezone

from access.scope import SYSTEM
from audit.models import AuditEntry
from common.events import event_emit
from common.models import OutboxEvent
from config.celery import app as celery_app
from inventory import tasks
from inventory.models import Reservation, StockLot
from inventory.services import (
    reservation_release,
    reservations_expire_due,
    reservations_warn_expiring,
)
from tests.inventory.flows import reserve

pytestmark = pytest.mark.django_db


@pytest.fixture
def lot(world: dict[str, Any], receive: Any) -> StockLot:
    """100 kg of a1's in its own warehouse."""
    return receive(zone=world["zones"]["a1"], material=world["material"], quantity="100")


def warnings() -> list[dict[str, Any]]:
    return list(
        OutboxEvent.objects.filter(topic="reservation.expiring")
        .order_by("id")
        .values_list("payload", flat=True)
    )


def in_minutes(minutes: float) -> Any:
    return timezone.now() + timedelta(minutes=minutes)


def test_the_lead_time_is_a_setting_of_an_hour_by_default() -> None:
    assert settings.RESERVATION_EXPIRY_WARNING_MINUTES == 60


def test_a_reservation_running_out_soon_is_warned_of_once(
    world: dict[str, Any], lot: StockLot
) -> None:
    buyer = world["enterprises"]["b"]
    soon = reserve(lot, "12.5", holder=buyer, expires_at=in_minutes(30), reference="order:7")

    assert reservations_warn_expiring() == 1

    stored = Reservation.objects.get(pk=soon.pk)
    assert stored.expiry_warned_at is not None and stored.status == "held"
    assert warnings() == [
        {
            "reservation_id": soon.pk,
            "reference": "order:7",
            "material_ids": [lot.material_id],
            "owner_id": world["enterprises"]["a1"].pk,
            "holder_id": buyer.pk,
            "quantity_kg": "12.500",
            "expires_at": stored.expires_at.isoformat(),  # type: ignore[union-attr]
        }
    ]
    [row] = AuditEntry.objects.filter(action="reservation.warn")
    assert (row.object_id, row.user_id, row.enterprise_id) == (
        str(soon.pk),
        None,
        world["enterprises"]["a1"].pk,
    )
    # Every later sweep leaves it alone.
    assert reservations_warn_expiring() == 0
    assert reservations_warn_expiring(now=in_minutes(20)) == 0
    assert len(warnings()) == 1
    assert AuditEntry.objects.filter(action="reservation.warn").count() == 1


def test_the_lead_time_is_respected(lot: StockLot) -> None:
    later = reserve(lot, "1", expires_at=in_minutes(90))
    at_the_edge = reserve(lot, "1", expires_at=in_minutes(59))
    until_dispatch = reserve(lot, "1", expires_at=None)

    assert reservations_warn_expiring() == 1
    assert [w["reservation_id"] for w in warnings()] == [at_the_edge.pk]
    # Half an hour on, the later one is within the hour.
    assert reservations_warn_expiring(now=in_minutes(31)) == 1
    assert [w["reservation_id"] for w in warnings()] == [at_the_edge.pk, later.pk]
    assert Reservation.objects.get(pk=until_dispatch.pk).expiry_warned_at is None


@override_settings(RESERVATION_EXPIRY_WARNING_MINUTES=10)
def test_the_lead_time_follows_the_setting(lot: StockLot) -> None:
    reserve(lot, "1", expires_at=in_minutes(30))
    assert reservations_warn_expiring() == 0
    assert reservations_warn_expiring(now=in_minutes(21)) == 1


def test_released_expired_and_due_reservations_are_never_warned_of(lot: StockLot) -> None:
    released = reserve(lot, "1", expires_at=in_minutes(30))
    reservation_release(actor=SYSTEM, reservation=released)
    expired = reserve(lot, "1", expires_at=in_minutes(30))
    assert reservations_expire_due(now=in_minutes(31)) == [expired.pk]
    due = reserve(lot, "1", expires_at=in_minutes(30))
    Reservation.objects.filter(pk=due.pk).update(expires_at=in_minutes(-1))  # the expiry's

    assert reservations_warn_expiring() == 0
    assert warnings() == []
    assert not Reservation.objects.filter(expiry_warned_at__isnull=False).exists()


def test_a_sweep_takes_at_most_its_limit_soonest_first(lot: StockLot) -> None:
    made = [reserve(lot, "1", expires_at=in_minutes(50 - n)) for n in range(3)]
    assert reservations_warn_expiring(limit=2) == 2
    assert [w["reservation_id"] for w in warnings()] == [made[2].pk, made[1].pk]
    assert reservations_warn_expiring(limit=2) == 1
    assert [w["reservation_id"] for w in warnings()][-1] == made[0].pk


def test_a_reservation_another_sweep_marked_first_is_not_warned_of_again(
    lot: StockLot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two sweeps that read the same rows (SQLite reads take no row locks): the conditional
    UPDATE lets one of them mark it; the other emits nothing for it."""
    first = reserve(lot, "1", expires_at=in_minutes(30))
    second = reserve(lot, "1", expires_at=in_minutes(40))
    real_update = Reservation.objects.filter(pk=first.pk).update
    # The other sweep marks `first` between this sweep's read and its UPDATE.
    original = QuerySet.update
    marked = False

    def other_sweep_first(self: QuerySet[Any], **values: Any) -> int:
        nonlocal marked
        if self.model is Reservation and "expiry_warned_at" in values and not marked:
            marked = True
            real_update(expiry_warned_at=timezone.now() - timedelta(seconds=1))
        return original(self, **values)

    monkeypatch.setattr(QuerySet, "update", other_sweep_first)
    assert reservations_warn_expiring() == 1
    assert [w["reservation_id"] for w in warnings()] == [second.pk]


def test_the_beat_task_warns_in_batches_on_the_default_queue(
    lot: StockLot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "WARN_BATCH", 2)
    for _ in range(5):
        reserve(lot, "1", expires_at=in_minutes(30))
    assert tasks.reservations_warn_expiring() == 5
    assert Reservation.objects.filter(expiry_warned_at__isnull=False).count() == 5
    assert settings.CELERY_BEAT_SCHEDULE["reservations-warn-expiring"] == {
        "task": "inventory.tasks.reservations_warn_expiring",
        "schedule": 60.0,
    }
    name = "inventory.tasks.reservations_warn_expiring"
    assert name in celery_app.tasks
    assert not any(name.startswith(route.rstrip("*")) for route in settings.CELERY_TASK_ROUTES)


def test_a_wrong_payload_is_refused() -> None:
    good = {
        "reservation_id": 1,
        "reference": "",
        "material_ids": [1],
        "owner_id": 1,
        "holder_id": 2,
        "quantity_kg": "1.000",
        "expires_at": "2030-01-01T00:00:00+00:00",
    }
    with pytest.raises(TypeError, match="unknown key 'seller_id'"):
        event_emit(topic="reservation.expiring", payload={**good, "seller_id": 1})
    with pytest.raises(TypeError, match="'quantity_kg' is not"):
        event_emit(topic="reservation.expiring", payload={**good, "quantity_kg": Decimal(1)})
    with pytest.raises(TypeError, match="missing \\['expires_at'\\]"):
        event_emit(
            topic="reservation.expiring",
            payload={k: v for k, v in good.items() if k != "expires_at"},
        )
