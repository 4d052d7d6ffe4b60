"""The safety app's outbox topics (common.events), public: the notifications' catalogue
says who hears of each. S and R are decimal text (4 places)."""

from typing import TypedDict

from common.events import declare


class MajorHazardChanged(TypedDict):
    unit_id: int  # the hazard unit (/api/v1/hazard-units/{unit_id}/)
    warehouse_id: int
    warehouse_code: str
    park_id: int
    park_ids: list[int]  # [park_id]: the park's regulators and operators hear
    owner_id: int | None  # the warehouse's owner (None: a shared warehouse of the park)
    old_s: str
    new_s: str
    r: str
    old_level: int | None  # None: it was not a major hazard installation
    new_level: int | None  # None: it no longer is one
    material_ids: list[int]  # the hazardous chemicals it holds


MAJOR_HAZARD_CHANGED = declare(
    "major_hazard.changed",
    MajorHazardChanged,
    "A warehouse became a major hazard installation (S reached 1), ceased to be one, or "
    "changed level (GB 18218), after its stock moved.",
    public=True,
)
