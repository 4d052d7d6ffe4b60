"""The marketplace's outbox topics (common.events): listings and needs."""

from typing import TypedDict

from common.events import declare


class ListingChanged(TypedDict):
    listing_id: int
    material_ids: list[int]


class NeedChanged(TypedDict):
    need_id: int
    material_ids: list[int]  # the material and its substitutes


class NeedExpired(TypedDict):
    need_id: int
    enterprise_id: int
    material_ids: list[int]


LISTING_CREATED = declare("listing.created", ListingChanged, "A listing was drafted.")
LISTING_UPDATED = declare(
    "listing.updated", ListingChanged, "A listing's terms or ordered quantity changed."
)
LISTING_PUBLISHED = declare(
    "listing.published", ListingChanged, "A listing was published: it can be matched."
)
LISTING_WITHDRAWN = declare(
    "listing.withdrawn", ListingChanged, "A listing was withdrawn from the market."
)
NEED_OPENED = declare("need.opened", NeedChanged, "A need was opened or reopened.")
NEED_UPDATED = declare(
    "need.updated", NeedChanged, "A need's terms, substitutes or ordered quantity changed."
)
NEED_CLOSED = declare("need.closed", NeedChanged, "A need was closed by its enterprise.")
NEED_EXPIRED = declare(
    "need.expired",
    NeedExpired,
    "An open need's date passed (the hourly sweep): it takes no part in matching.",
    public=True,
)
