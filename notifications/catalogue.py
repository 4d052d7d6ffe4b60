"""The catalogue of event types a person or a partner system can subscribe to, and who
hears of each: one table, read by the fan-out, the preferences, the API's list of event
types, the e-mails and docs/notifications.md.

Each entry names an outbox topic declared ``public`` in its app's ``topics.py`` (its
payload type is the event's ``data``) and its audience: which payload keys name the
enterprises concerned and which of their staff hear of it (by role), and which park staff
hear of events about a park. A webhook endpoint of an enterprise receives the events that
name its enterprise in one of the audience's keys. Who is concerned is never the event's
author alone: both parties of a match or an order hear of every step, whoever took it.

The safety app's event (``major_hazard.changed``) is the regulators' own: the park's
regulators and operators hear of it, with the warehouse owner's admins.
"""

from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from access.roles import ADMIN_ROLES, STOCK_ROLES, TRADING_ROLES, ParkRoleKind
from common.events import Topic, topic_named

#: Who deals: an enterprise's traders and admins.
DEALERS = TRADING_ROLES
#: Who deals or handles the goods: traders, admins and warehouse keepers.
DEALERS_AND_KEEPERS = TRADING_ROLES | STOCK_ROLES


@dataclass(frozen=True)
class Party:
    """The enterprise named by ``key`` in the event's data, and which of its staff hear."""

    key: str
    roles: frozenset[str]


@dataclass(frozen=True)
class EventType:
    """A public event type: its topic, audience, defaults per channel and titles."""

    topic: str
    title: Promise  # "%(...)s" placeholders filled from the event's data
    parties: tuple[Party, ...] = ()
    #: The key of the data holding a list of park ids, and the park roles that hear.
    park_key: str = ""
    park_roles: frozenset[str] = frozenset()
    in_app: bool = True  # default of the in-app channel
    email: bool = False  # default of the e-mail channel
    group: Promise = field(default=_("Other"))

    @property
    def name(self) -> str:
        return self.topic

    @property
    def declared(self) -> Topic:
        return topic_named(self.topic)

    def enterprise_ids(self, data: dict[str, Any]) -> list[int]:
        """The enterprises the event concerns, in the order of the parties, once each."""
        seen: list[int] = []
        for party in self.parties:
            value = data.get(party.key)
            if isinstance(value, int) and value not in seen:
                seen.append(value)
        return seen

    def park_ids(self, data: dict[str, Any]) -> list[int]:
        if not self.park_key:
            return []
        value = data.get(self.park_key) or []
        return [v for v in value if isinstance(v, int)]

    def title_for(self, data: dict[str, Any]) -> str:
        """The title in the active language, its placeholders filled from ``data`` (a key
        missing from it reads as "?"; the side of a deal in words of that language)."""
        filled = _Filled(data)
        side = data.get("side")
        if isinstance(side, str) and side in SIDE_WORDS:
            filled["side"] = str(SIDE_WORDS[side])
        return str(self.title) % filled


SIDE_WORDS = {"seller": _("seller"), "buyer": _("buyer")}


class _Filled(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


PROPOSALS = _("Proposals")
ORDERS = _("Orders")
STOCK = _("Reservations and needs")
PARK = _("Park")
POOLS = _("Joint stockpiles")
SAFETY = _("Production safety")
ACCOUNT = _("Webhooks")

BOTH_DEALERS = (Party("seller_id", DEALERS), Party("buyer_id", DEALERS))

_TYPES: tuple[EventType, ...] = (
    # Proposals of the matching engine, and the parties' decisions on them.
    EventType(
        "match.proposed",
        _("New proposal #%(match_id)s: %(quantity_kg)s kg at %(price_per_t)s CNY/t"),
        BOTH_DEALERS,
        group=PROPOSALS,
    ),
    EventType(
        "match.changed",
        _("Proposal #%(previous_match_id)s changed: now #%(match_id)s, %(quantity_kg)s kg"),
        BOTH_DEALERS,
        group=PROPOSALS,
    ),
    EventType(
        "match.withdrawn",
        _("Proposal #%(match_id)s withdrawn by the matching engine"),
        BOTH_DEALERS,
        group=PROPOSALS,
    ),
    EventType(
        "match.accepted",
        _("Proposal #%(match_id)s accepted by the %(side)s"),
        BOTH_DEALERS,
        group=PROPOSALS,
    ),
    EventType(
        "match.declined",
        _("Proposal #%(match_id)s declined by the %(side)s"),
        BOTH_DEALERS,
        group=PROPOSALS,
    ),
    EventType(
        "match.agreed",
        _("Proposal #%(match_id)s agreed by both sides: it can become an order"),
        BOTH_DEALERS,
        email=True,
        group=PROPOSALS,
    ),
    # Every order step: both parties' dealers; the keepers of the side that moves goods next.
    EventType(
        "order.reserved",
        _("Order #%(order_id)s placed: %(quantity_kg)s kg reserved"),
        BOTH_DEALERS,
        email=True,
        group=ORDERS,
    ),
    EventType(
        "order.confirmed",
        _("Order #%(order_id)s confirmed by the seller: ready to dispatch"),
        (Party("seller_id", DEALERS_AND_KEEPERS), Party("buyer_id", DEALERS)),
        email=True,
        group=ORDERS,
    ),
    EventType(
        "order.rejected",
        _("Order #%(order_id)s rejected by the seller"),
        BOTH_DEALERS,
        email=True,
        group=ORDERS,
    ),
    EventType(
        "order.cancelled",
        _("Order #%(order_id)s cancelled"),
        (Party("seller_id", DEALERS_AND_KEEPERS), Party("buyer_id", DEALERS)),
        email=True,
        group=ORDERS,
    ),
    EventType(
        "order.dispatched",
        _("Order #%(order_id)s dispatched: %(quantity_kg)s kg on the way"),
        (Party("seller_id", DEALERS), Party("buyer_id", DEALERS_AND_KEEPERS)),
        email=True,
        group=ORDERS,
    ),
    EventType(
        "order.received",
        _("Order #%(order_id)s received by the buyer"),
        (Party("seller_id", DEALERS), Party("buyer_id", DEALERS_AND_KEEPERS)),
        group=ORDERS,
    ),
    EventType(
        "order.completed",
        _("Order #%(order_id)s completed"),
        BOTH_DEALERS,
        group=ORDERS,
    ),
    EventType(
        "order.expired",
        _("Order #%(order_id)s expired before the seller confirmed it"),
        BOTH_DEALERS,
        email=True,
        group=ORDERS,
    ),
    # Reservations and needs.
    EventType(
        "reservation.expiring",
        _("Reservation %(reference)s of %(quantity_kg)s kg expires at %(expires_at)s"),
        (Party("owner_id", DEALERS), Party("holder_id", DEALERS)),
        email=True,
        group=STOCK,
    ),
    EventType(
        "reservation.expired",
        _("Reservation %(reference)s expired: %(quantity_kg)s kg are free again"),
        (Party("owner_id", DEALERS), Party("holder_id", DEALERS)),
        group=STOCK,
    ),
    EventType(
        "need.expired",
        _("Need #%(need_id)s expired: it takes no part in matching"),
        (Party("enterprise_id", DEALERS),),
        group=STOCK,
    ),
    # The park: the matching runs its operators follow.
    EventType(
        "matching.run_finished",
        _("Matching run #%(run_id)s finished: %(created)s new proposals"),
        park_key="park_ids",
        park_roles=frozenset({ParkRoleKind.OPERATOR}),
        group=PARK,
    ),
    # Joint stockpiles (pools/topics.py). A pool's operator is its lead enterprise's staff
    # (lead_id) or, for a pool without a lead, the park's operators (park_ids = [park]).
    EventType(
        "pool.shortfall",
        _("Pool #%(pool_id)s below its target: %(held_kg)s of %(target_kg)s kg held"),
        (Party("lead_id", DEALERS),),
        park_key="park_ids",
        park_roles=frozenset({ParkRoleKind.OPERATOR}),
        group=POOLS,
    ),
    EventType(
        "pool.draw_granted",
        _("Draw #%(draw_id)s from pool #%(pool_id)s granted: %(granted_kg)s kg (%(severity)s)"),
        (Party("enterprise_id", DEALERS),),
        park_key="park_ids",
        park_roles=frozenset({ParkRoleKind.OPERATOR}),
        email=True,
        group=POOLS,
    ),
    EventType(
        "pool.obligation_due",
        _("Pool #%(pool_id)s: %(quantity_kg)s kg to replenish by %(due_on)s (%(met_kg)s kg met)"),
        (Party("enterprise_id", DEALERS),),
        group=POOLS,
    ),
    EventType(
        "pool.obligation_overdue",
        _("Pool #%(pool_id)s: replenishment of %(quantity_kg)s kg overdue since %(due_on)s"),
        (Party("enterprise_id", DEALERS),),
        email=True,
        group=POOLS,
    ),
    EventType(
        "pool.lot_expiring",
        _("Pool #%(pool_id)s: lot %(lot_id)s (%(on_hand_kg)s kg) expires on %(expires_on)s"),
        (Party("lead_id", DEALERS_AND_KEEPERS),),
        park_key="park_ids",
        park_roles=frozenset({ParkRoleKind.OPERATOR}),
        group=POOLS,
    ),
    # Production safety (safety/topics.py): a warehouse became a major hazard installation
    # (GB 18218), ceased to be one or changed level: the park's regulators and operators,
    # and the admins of the warehouse's owner (none for a shared warehouse of the park).
    EventType(
        "major_hazard.changed",
        _(
            "Warehouse %(warehouse_code)s: its major hazard status changed "
            "(S %(old_s)s -> %(new_s)s)"
        ),
        (Party("owner_id", ADMIN_ROLES),),
        park_key="park_ids",
        park_roles=frozenset({ParkRoleKind.OPERATOR, ParkRoleKind.REGULATOR}),
        email=True,
        group=SAFETY,
    ),
    # The enterprise's own webhook endpoints.
    EventType(
        "webhook.endpoint_disabled",
        _("Webhook endpoint %(url)s disabled after failing since %(failing_since)s"),
        (Party("enterprise_id", ADMIN_ROLES),),
        email=True,
        group=ACCOUNT,
    ),
)

EVENT_TYPES: dict[str, EventType] = {t.topic: t for t in _TYPES}


def event_type(name: str) -> EventType | None:
    return EVENT_TYPES.get(name)


def event_types() -> list[EventType]:
    """The catalogue in the order it is documented."""
    return list(_TYPES)
