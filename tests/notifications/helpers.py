"""Events for the notifications' tests, written as the outbox holds them."""

from typing import Any

from django.utils import timezone

from common.models import OutboxEvent


def match_data(world: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The data of a match event between a1 (seller, park A) and b (buyer, park B)."""
    return {
        "match_id": 9001,
        "material_ids": [world["material"].pk],
        "seller_id": world["enterprises"]["a1"].pk,
        "buyer_id": world["enterprises"]["b"].pk,
        "listing_id": 11,
        "need_id": 12,
        "material_id": world["material"].pk,
        "quantity_kg": "1500.000",
        "price_per_t": "4200.00",
        **extra,
    }


def order_data(world: dict[str, Any], status: str, **extra: Any) -> dict[str, Any]:
    return {
        "order_id": 7001,
        "material_ids": [world["material"].pk],
        "seller_id": world["enterprises"]["a1"].pk,
        "buyer_id": world["enterprises"]["b"].pk,
        "material_id": world["material"].pk,
        "quantity_kg": "800.000",
        "price_per_t": "4200.00",
        "total_yuan": "3360.00",
        "status": status,
        "match_id": None,
        **extra,
    }


def outbox_event(topic: str, data: dict[str, Any]) -> OutboxEvent:
    """An event as its service would have written it, already fanned out by the outbox
    (the test runs the notifications' fan-out itself)."""
    return OutboxEvent.objects.create(topic=topic, payload=data, fanned_out_at=timezone.now())
