"""Outbox subscribers: every change that can alter a material's matches asks for its
rematch (coalesced, see matching.services.triggers). Idempotent, as the outbox requires:
a redelivered event only bumps a version."""

from common.events import subscribe
from common.models import OutboxEvent
from marketplace.selectors import needed_materials
from matching.services.triggers import rematch_request


@subscribe("listing.")
@subscribe("need.")
@subscribe("stock.")
@subscribe("match.")
def rematch_on_change(event: OutboxEvent) -> None:
    rematch_request(material_ids=event.payload.get("material_ids", []))


@subscribe("permit.")
def rematch_on_permit(event: OutboxEvent) -> None:
    """A permit changes which controlled materials its enterprise may buy: rematch what the
    enterprise's open needs ask for."""
    rematch_request(
        material_ids=needed_materials(enterprise_id=event.payload.get("enterprise_id", 0))
    )
