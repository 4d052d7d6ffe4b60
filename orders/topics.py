"""The orders' outbox topics (common.events): one per status an order moves to."""

from typing import TypedDict

from common.events import Topic, declare
from orders.models import OrderStatus


class OrderStep(TypedDict):
    """An order's step: the order, its parties and terms (decimal text, as stored) and the
    status it moved to."""

    order_id: int
    material_ids: list[int]
    seller_id: int
    buyer_id: int
    material_id: int
    quantity_kg: str
    price_per_t: str
    total_yuan: str
    status: str
    match_id: int | None  # the match it was made from; None for a direct order


_MEANING = {
    OrderStatus.RESERVED: "An order was placed; the seller's lot holds its quantity.",
    OrderStatus.CONFIRMED: "The seller confirmed an order.",
    OrderStatus.REJECTED: "The seller rejected an order; its quantity is free again.",
    OrderStatus.CANCELLED: "An order was cancelled; its quantity is free again.",
    OrderStatus.DISPATCHED: "The seller dispatched an order's goods.",
    OrderStatus.RECEIVED: "The buyer received an order's goods into a lot.",
    OrderStatus.COMPLETED: "An order was completed.",
    OrderStatus.EXPIRED: "An order's reservation ran out before it was confirmed.",
}

# order.<status>, the topic of each step (orders.services emits the order's new status)
ORDER_STEP: dict[str, Topic] = {
    status: declare(f"order.{status}", OrderStep, _MEANING[status], public=True)
    for status in OrderStatus
}
