"""The matching engine's outbox topics (common.events): decisions on proposals."""

from typing import TypedDict

from common.events import declare


class MatchDecided(TypedDict):
    match_id: int
    material_ids: list[int]


class MatchDeclined(MatchDecided):
    reason: str


class MatchOrdered(MatchDecided):
    order_id: int


class MatchReleased(MatchDecided):
    reason: str


MATCH_ACCEPTED = declare(
    "match.accepted",
    MatchDecided,
    "One side accepted a proposal; it waits for the other.",
    public=True,
)
MATCH_AGREED = declare(
    "match.agreed",
    MatchDecided,
    "Both sides accepted a proposal: it can become an order.",
    public=True,
)
MATCH_DECLINED = declare(
    "match.declined", MatchDeclined, "A side declined a proposal.", public=True
)
MATCH_ORDERED = declare(
    "match.ordered", MatchOrdered, "An agreed match became an order (the order holds it)."
)
MATCH_RELEASED = declare(
    "match.released",
    MatchReleased,
    "An ordered match's order ended without delivery: its quantity is free to match again.",
)
