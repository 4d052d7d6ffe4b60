"""Outbox subscribers: every change that can alter a material's matches asks for its
rematch (coalesced, see matching.services.triggers). Idempotent, as the outbox requires:
a redelivered event only bumps a version."""

from common.events import subscribe
from common.models import OutboxEvent
from matching.services.triggers import rematch_request


@subscribe("listing.")
@subscribe("need.")
@subscribe("stock.")
@subscribe("match.")
def rematch_on_change(event: OutboxEvent) -> None:
    rematch_request(material_ids=event.payload.get("material_ids", []))
