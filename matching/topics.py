"""The matching engine's outbox topics (common.events): proposals and decisions on them,
and the end of a run.

The public ones (people and partners subscribe) carry both parties' enterprise ids (the
notifications decide from them who hears of the event) and the proposal's terms, which
both parties see already: quantities and prices as decimal text, as stored.
"""

from typing import Literal, TypedDict

from common.events import declare

Side = Literal["seller", "buyer"]


class MatchRef(TypedDict):
    match_id: int
    material_ids: list[int]


class MatchTerms(MatchRef):
    """A proposal, its parties and its terms."""

    seller_id: int
    buyer_id: int
    listing_id: int
    need_id: int
    material_id: int
    quantity_kg: str
    price_per_t: str


class MatchAccepted(MatchTerms):
    side: Side  # who accepted


class MatchDeclined(MatchTerms):
    reason: str
    side: Side  # who declined


class MatchChanged(MatchTerms):
    previous_match_id: int  # the proposal of the same pair this one supersedes


class MatchOrdered(MatchRef):
    order_id: int


class MatchReleased(MatchRef):
    reason: str


class RunFinished(TypedDict):
    run_id: int
    kind: str
    trigger: str
    # The parks of the enterprises (sellers and buyers) whose proposals the run created,
    # changed or withdrew.
    park_ids: list[int]
    created: int
    superseded: int


MATCH_PROPOSED = declare(
    "match.proposed",
    MatchTerms,
    "The engine proposed a listing for a need (a pair it did not propose before).",
    public=True,
)
MATCH_CHANGED = declare(
    "match.changed",
    MatchChanged,
    "The engine replaced a proposal by one with other terms (quantity, price or transport).",
    public=True,
)
MATCH_WITHDRAWN = declare(
    "match.withdrawn",
    MatchTerms,
    "The engine no longer proposes this pair (the proposal is superseded, none replaces it).",
    public=True,
)
MATCH_ACCEPTED = declare(
    "match.accepted",
    MatchAccepted,
    "One side accepted a proposal; it waits for the other.",
    public=True,
)
MATCH_AGREED = declare(
    "match.agreed",
    MatchTerms,
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
# Engine topics: what the rematch trigger must not take (matching.handlers), or a run's own
# proposals would ask for the next run.
ENGINE_TOPICS = (MATCH_PROPOSED, MATCH_CHANGED, MATCH_WITHDRAWN)
RUN_FINISHED = declare(
    "matching.run_finished",
    RunFinished,
    "A matching run finished: how many proposals it created and superseded, and the parks "
    "of the enterprises concerned.",
    public=True,
)
