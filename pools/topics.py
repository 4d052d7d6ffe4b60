"""The pools' outbox topics (common.events), all public: the notifications' catalogue
(notifications/catalogue.py) says who hears of each.

Who runs a pool is named the same way in every payload that goes to its operator:
``lead_id`` (the lead enterprise, whose staff run it) or, for a pool without a lead,
``park_ids`` = [its park] (the park's operators run it); a pool with a lead has
``park_ids`` = [] in those payloads. Quantities are kg as decimal text (3 places), dates
ISO 8601.
"""

from typing import TypedDict

from common.events import declare


class PoolRef(TypedDict):
    pool_id: int
    park_id: int
    material_ids: list[int]  # the pool's material


class PoolOperated(PoolRef):
    lead_id: int | None  # the operator enterprise; None: the park's operators
    park_ids: list[int]  # [park_id] when the park's operators run the pool, else []


class PoolShortfall(PoolOperated):
    held_kg: str
    target_kg: str


class DrawGranted(PoolRef):
    draw_id: int
    enterprise_id: int  # the member that drew
    requested_kg: str
    granted_kg: str
    severity: str  # emergency, urgent or routine
    park_ids: list[int]  # [park_id]: the park's operators hear of every draw


class ObligationState(PoolRef):
    obligation_id: int
    draw_id: int
    enterprise_id: int  # the member that owes it
    quantity_kg: str
    met_kg: str
    due_on: str  # ISO 8601 date


class LotExpiring(PoolOperated):
    lot_id: int
    expires_on: str  # ISO 8601 date
    on_hand_kg: str


POOL_SHORTFALL = declare(
    "pool.shortfall",
    PoolShortfall,
    "A pool holds less than its target: after a draw, and on the daily sweep while it does.",
    public=True,
)
POOL_DRAW_GRANTED = declare(
    "pool.draw_granted",
    DrawGranted,
    "A member's draw was granted (an emergency at once, others by the operator): the stock "
    "is the member's, in place.",
    public=True,
)
POOL_OBLIGATION_DUE = declare(
    "pool.obligation_due",
    ObligationState,
    "A member's replenishment obligation is due within POOL_OBLIGATION_DUE_DAYS and not yet "
    "met (once per obligation, by the daily sweep).",
    public=True,
)
POOL_OBLIGATION_OVERDUE = declare(
    "pool.obligation_overdue",
    ObligationState,
    "A member's replenishment obligation is past its date and not met (every day while it "
    "is, by the daily sweep).",
    public=True,
)
POOL_LOT_EXPIRING = declare(
    "pool.lot_expiring",
    LotExpiring,
    "A pooled lot is within the pool's rotation lead time of its expiry (once per lot, by "
    "the daily sweep): rotate it.",
    public=True,
)
