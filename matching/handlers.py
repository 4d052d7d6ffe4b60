"""Outbox subscribers: every change that can alter a material's matches asks for its
rematch (coalesced, see matching.services.triggers). Idempotent, as the outbox requires:
a redelivered event only bumps a version. Both run on the engine's queue."""

from common.events import subscriber
from common.models import OutboxEvent
from inventory.models import StockLot
from inventory.topics import MATERIAL_CHANGED, ZONE_CHANGED
from marketplace.selectors import needed_materials
from matching.services.triggers import rematch_request
from matching.topics import (
    MATCH_ACCEPTED,
    MATCH_AGREED,
    MATCH_DECLINED,
    MATCH_ORDERED,
    MATCH_RELEASED,
)

# The parties' decisions and orders change what a material's matches hold; the engine's own
# topics (match.proposed|changed|withdrawn) do not: taking them, every run would ask for
# another run of what it just matched.
DECISION_TOPICS = (MATCH_ACCEPTED, MATCH_AGREED, MATCH_DECLINED, MATCH_ORDERED, MATCH_RELEASED)


@subscriber(
    "matching.rematch",
    topics=("listing.", "need.", "stock.", MATERIAL_CHANGED, *DECISION_TOPICS),
    queue="matching",
)
def rematch_on_change(event: OutboxEvent) -> None:
    rematch_request(material_ids=event.payload.get("material_ids", []))


@subscriber("matching.permits", topics=("permit.",), queue="matching")
def rematch_on_permit(event: OutboxEvent) -> None:
    """A permit changes which controlled materials its enterprise may buy: rematch what the
    enterprise's open needs ask for."""
    rematch_request(
        material_ids=needed_materials(enterprise_id=event.payload.get("enterprise_id", 0))
    )


@subscriber("matching.zones", topics=(ZONE_CHANGED,), queue="matching")
def rematch_on_zone(event: OutboxEvent) -> None:
    """A zone's capacity, licence or building changes what it may admit, as a delivery point
    and as a neighbour: rematch what the park's open needs ask for and what the zone holds."""
    held = StockLot.objects.filter(zone_id=event.payload.get("zone_id", 0), on_hand_kg__gt=0)
    rematch_request(
        material_ids=sorted(
            set(needed_materials(park_id=event.payload.get("park_id", 0)))
            | set(held.values_list("material_id", flat=True).distinct())
        )
    )
