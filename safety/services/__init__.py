"""Every write of the safety app, one transaction each (docs/safety.md):

* ``inspections``: inspections and hidden hazards (record, rectify, confirm, reopen);
* ``incidents``: incidents, graded per Decree 493;
* ``major_hazards``: the units of GB 18218 kept current from the ledger, their profile.

Import from here: ``from safety.services import hazard_rectify``.
"""

from safety.services.incidents import incident_report, incident_update
from safety.services.inspections import (
    hazard_confirm,
    hazard_record,
    hazard_rectify,
    hazard_reopen,
    inspection_create,
)
from safety.services.major_hazards import (
    MATERIAL_FIELDS_READ,
    hazard_unit_update,
    major_hazards_recompute,
    major_hazards_recompute_all,
    unit_figures,
)

__all__ = [
    "MATERIAL_FIELDS_READ",
    "hazard_confirm",
    "hazard_record",
    "hazard_rectify",
    "hazard_reopen",
    "hazard_unit_update",
    "incident_report",
    "incident_update",
    "inspection_create",
    "major_hazards_recompute",
    "major_hazards_recompute_all",
    "unit_figures",
]
