"""``manage.py demo_walkthrough [--base-url URL]``: what to try first in the demo, with the
real ids and URLs of this database's demo objects (README, "Demo walkthrough").

It reads only. The objects are those ``seed_demo`` leaves waiting for ``zh01.trader``
(parks.demo.work): a proposal to accept or decline, an order to confirm, an order to
complete, and the listing of the proposal; then the token command for the API.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from matching.models import Match, MatchStatus
from orders.models import Order
from parks.demo.work import (
    KEEPER,
    TRADER,
    waiting_need,
    waiting_order_for_completion,
    waiting_order_for_confirmation,
)
from parks.demo.world import DEMO_PASSWORD

# README, "Demo walkthrough": the two longer walks to a completed order, as (what, seller's
# login, buyer's login, CAS, extra filter on the match).
LONGER_WALKS: tuple[tuple[str, str, str, str, dict[str, Any]], ...] = (
    ("TDI, through the API", "dx01.trader", "dx07.admin", "26471-62-5", {}),
    (
        "liquid oxygen in Shangyu's shared warehouse, through the admin",
        "sy09.admin",
        "sy01.trader",
        "7782-44-7",
        {"listing__lot__zone__warehouse__owner__isnull": True},
    ),
)


def _longer_walk(seller: str, buyer: str, cas: str, where: dict[str, Any]) -> Match | None:
    return (
        Match.objects.filter(
            seller__members__user__username=seller,
            buyer__members__user__username=buyer,
            material__cas=cas,
            status=MatchStatus.PROPOSED,
            **where,
        )
        .order_by("pk")
        .first()
    )


def _admin_url(obj: Any) -> str:
    meta = obj._meta
    try:
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:  # pragma: no cover - every object listed here has an admin
        return "-"


class Command(BaseCommand):
    help = "Print the ids and URLs of the demo objects to try first (after seed_demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="where ParkShare is served (default: make run's http://127.0.0.1:8000)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base = options["base_url"].rstrip("/")
        need = waiting_need()
        to_confirm = waiting_order_for_confirmation()
        to_complete = waiting_order_for_completion()
        if need is None or to_confirm is None or to_complete is None:
            raise CommandError(
                "The demo world is not loaded here: run `make run` (or `manage.py seed_demo`)."
            )
        proposal = (
            Match.objects.filter(need=need)
            .select_related("listing", "material", "seller")
            .order_by("pk")
            .first()
        )
        w = self.stdout.write
        w(f"Start at {base}/ and sign in at {base}/admin/ as {TRADER} / {DEMO_PASSWORD}.")
        w("")
        if proposal is not None:
            w(
                f"1. Proposal #{proposal.pk} ({proposal.status}): "
                f"{proposal.quantity_kg} kg of {proposal.material.name_en} from "
                f"{proposal.seller.name_en} for {TRADER}'s need #{need.pk}."
            )
            w(f"   admin: {base}{_admin_url(proposal)} (Matches, action Accept or Decline)")
            w(f"   API:   POST {base}/api/v1/matches/{proposal.pk}/accept/  (or decline/)")
            if proposal.status != MatchStatus.PROPOSED:
                w("   (already decided: the next full rematch proposes the need afresh)")
        else:
            w(f"1. Need #{need.pk} has no proposal now: run `manage.py match --full`.")
        self._order(
            "2.",
            to_confirm,
            base,
            f"{TRADER} confirms it (or rejects it)",
            "confirm",
        )
        self._order("3.", to_complete, base, f"{TRADER} completes it", "complete")
        listing = proposal.listing if proposal is not None else to_confirm.listing
        w(
            f"4. Listing #{listing.pk}: {listing.quantity_kg} kg of {listing.material.name_en} "
            f"at {listing.price_per_t} CNY/t."
        )
        w(f"   admin: {base}{_admin_url(listing)}")
        w(f"   API:   GET {base}/api/v1/listings/{listing.pk}/")
        w("5. The API as a partner system: issue a token, then send it as a Bearer header:")
        w(f"   .venv/bin/python manage.py issue_api_token --user {TRADER}")
        w(f'   curl -H "Authorization: Bearer <token>" {base}/api/v1/orders/{to_confirm.pk}/')
        w(f"   API docs: {base}/api/docs/   (warehouse steps: {KEEPER})")
        w('6. The longer walks to a completed order (README, "Demo walkthrough"):')
        for what, seller, buyer, cas, where in LONGER_WALKS:
            match = _longer_walk(seller, buyer, cas, where)
            if match is None:
                w(f"   {what}: no open proposal now ({seller} to {buyer})")
            else:
                w(f"   {what}: proposal #{match.pk}, {seller} and {buyer} accept it")

    def _order(self, number: str, order: Order, base: str, who: str, step: str) -> None:
        w = self.stdout.write
        w(
            f"{number} Order #{order.pk} ({order.status}): "
            f"{order.quantity_kg} kg of {order.material.name_en}, "
            f"{order.seller.name_en} to {order.buyer.name_en}; {who}."
        )
        w(f"   admin: {base}{_admin_url(order)}")
        w(f"   API:   POST {base}/api/v1/orders/{order.pk}/{step}/")
        if order.hold_until is not None:
            late = order.hold_until <= timezone.now()
            when = timezone.localtime(order.hold_until).strftime("%Y-%m-%d %H:%M %Z")
            w(f"   the seller must confirm by {when}")
            if late:
                w("   that time has passed: the next make run (or seed_demo) places a fresh one")
