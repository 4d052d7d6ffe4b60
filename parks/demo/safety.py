"""The demo's production safety (docs/safety.md), built through the safety services as the
park's inspectors and the enterprises' admins would:

- per park, inspections of three enterprises over the last months with the hidden hazards
  they found: some rectified and confirmed, some reported rectified, some open and some
  overdue (their deadline passed unrectified), general and major;
- a few incidents of different grades (Decree 493): ordinary ones, a relatively serious
  one (3 deaths) at 大榭 and a serious one by its loss (52 million yuan) at 石化区;
- the people within 500 m of each park's shared warehouses (set by the park's operator,
  which sets α), and every warehouse's GB 18218 figures recomputed from the stock: the
  world's stock already makes several warehouses major hazard installations (the shared
  warehouses' flammable-liquid zones, private tank farms), at least one per park.

Idempotent: an inspection that exists (park, enterprise, day) or an incident (enterprise,
time) is left as it is; a unit's profile is set once.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from access.scope import Scope, resolve_scope
from parks.models import Enterprise, Park
from safety.models import HazardUnit, Incident, Inspection
from safety.services import (
    hazard_confirm,
    hazard_record,
    hazard_rectify,
    hazard_unit_update,
    incident_report,
    inspection_create,
    major_hazards_recompute_all,
)


@dataclass(frozen=True)
class HazardSpec:
    description: str
    grade: str  # general or major
    deadline_days: int  # after the inspection
    rectified_days: int | None = None  # after the inspection; None: still open
    confirmed: bool = False


@dataclass(frozen=True)
class InspectionSpec:
    park: str
    enterprise: str  # the enterprise's key (its admin is <key>.admin)
    days_ago: int
    by: str  # "operator" or "regulator"
    notes: str
    hazards: tuple[HazardSpec, ...]


FIRE_EXIT = HazardSpec("消防通道被物料占用 Fire exit blocked by drums", "general", 7, 3, True)
GROUNDING = HazardSpec(
    "装卸区静电接地装置失效 Static grounding of the loading bay out of order", "major", 30
)
ALARM = HazardSpec(
    "可燃气体报警器未定期标定 Gas detectors past their calibration", "general", 14, 10
)
DIKE = HazardSpec("储罐围堰破损 Tank dike cracked", "major", 45, 40, True)
LABELS = HazardSpec("危化品标签缺失 Missing GHS labels on containers", "general", 10)
PERMITS = HazardSpec(
    "动火作业票审批不全 Hot-work permits signed without gas tests", "general", 20, 12
)

INSPECTIONS: tuple[InspectionSpec, ...] = (
    InspectionSpec("nbpedz", "zh01", 75, "regulator", "季度专项检查", (FIRE_EXIT, GROUNDING)),
    InspectionSpec("nbpedz", "zh02", 40, "operator", "储罐区巡查", (DIKE, LABELS, ALARM)),
    InspectionSpec("nbpedz", "zh03", 5, "regulator", "节前安全检查", (PERMITS, GROUNDING)),
    InspectionSpec("daxie", "dx05", 60, "regulator", "氯碱装置专项检查", (GROUNDING, ALARM)),
    InspectionSpec("daxie", "dx06", 20, "operator", "罐区巡查", (LABELS, FIRE_EXIT)),
    InspectionSpec("daxie", "dx03", 8, "regulator", "夜查", (DIKE,)),
    InspectionSpec("hzbay", "hb01", 50, "regulator", "季度专项检查", (LABELS, PERMITS)),
    InspectionSpec("hzbay", "hb03", 15, "operator", "仓库巡查", (FIRE_EXIT, ALARM)),
    InspectionSpec("shangyu", "sy07", 65, "regulator", "氯碱装置专项检查", (GROUNDING, DIKE)),
    InspectionSpec("shangyu", "sy01", 30, "operator", "仓库巡查", (LABELS,)),
    InspectionSpec("shangyu", "sy02", 3, "regulator", "节前安全检查", (PERMITS, ALARM)),
)


@dataclass(frozen=True)
class IncidentSpec:
    enterprise: str
    days_ago: int
    description: str
    deaths: int
    serious_injuries: int
    loss_yuan: int


INCIDENTS: tuple[IncidentSpec, ...] = (
    IncidentSpec(
        "zh04", 120, "装车时甲苯泄漏，两人吸入中毒 Toluene spill while loading", 0, 2, 380_000
    ),
    IncidentSpec("zh08", 35, "储罐区火灾 Fire in the tank farm", 0, 4, 52_000_000),
    IncidentSpec(
        "dx05", 90, "氯气泄漏 Chlorine release at the liquefaction unit", 3, 12, 18_000_000
    ),
    IncidentSpec("hb01", 25, "叉车碰撞导致酸液泄漏 Forklift punctured an acid tote", 0, 1, 60_000),
    IncidentSpec("sy03", 10, "反应釜超压泄放 Reactor relief valve lifted", 0, 0, 90_000),
)

# People within 500 m of each park's shared warehouses (α: 1.2 for 30-49, 1.0 for 1-29).
SHARED_PEOPLE: dict[str, int] = {"nbpedz": 35, "daxie": 12, "hzbay": 40, "shangyu": 20}


def _scope(username: str) -> Scope:
    return resolve_scope(get_user_model().objects.get(username=username))


def _enterprise(key: str) -> tuple[Enterprise, Scope]:
    admin = _scope(f"{key}.admin")
    assert admin.enterprise is not None, key
    return admin.enterprise, admin


def build_safety(*, today: date) -> dict[str, int]:
    """Build the demo's inspections, hazards and incidents that do not exist yet, set the
    shared warehouses' profiles and recompute every unit; returns what was created."""
    created = {"inspections": 0, "incidents": 0}
    for spec in INSPECTIONS:
        if _inspect(spec, today=today):
            created["inspections"] += 1
    for incident in INCIDENTS:
        if _report(incident, today=today):
            created["incidents"] += 1
    major_hazards_recompute_all()
    for code, people in SHARED_PEOPLE.items():
        operator = _scope(f"{code}.operator")
        for unit in HazardUnit.objects.filter(
            park__code=code, warehouse__owner__isnull=True, people_within_500m__isnull=True
        ):
            hazard_unit_update(actor=operator, unit=unit, people_within_500m=people)
    created["major_hazard_units"] = HazardUnit.objects.filter(level__isnull=False).count()
    return created


def _inspect(spec: InspectionSpec, *, today: date) -> bool:
    park = Park.objects.get(code=spec.park)
    enterprise, admin = _enterprise(spec.enterprise)
    day = today - timedelta(days=spec.days_ago)
    if Inspection.objects.filter(park=park, enterprise=enterprise, inspected_on=day).exists():
        return False
    inspector = _scope(f"{spec.park}.{spec.by}")
    inspection = inspection_create(
        actor=inspector, park=park, enterprise=enterprise, inspected_on=day, notes=spec.notes
    )
    for hazard_spec in spec.hazards:
        hazard = hazard_record(
            actor=inspector,
            inspection=inspection,
            description=hazard_spec.description,
            grade=hazard_spec.grade,
            deadline=day + timedelta(days=hazard_spec.deadline_days),
        )
        if hazard_spec.rectified_days is None:
            continue
        rectified_on = day + timedelta(days=hazard_spec.rectified_days)
        if rectified_on > today:
            continue  # not yet: still open
        hazard_rectify(actor=admin, hazard=hazard, rectified_on=rectified_on, note="已整改")
        if hazard_spec.confirmed:
            hazard_confirm(actor=inspector, hazard=hazard)
    return True


def _report(spec: IncidentSpec, *, today: date) -> bool:
    enterprise, admin = _enterprise(spec.enterprise)
    occurred_at = datetime.combine(
        today - timedelta(days=spec.days_ago), time(9, 30), tzinfo=timezone.get_current_timezone()
    )
    if Incident.objects.filter(enterprise=enterprise, occurred_at=occurred_at).exists():
        return False
    incident_report(
        actor=admin,
        enterprise=enterprise,
        occurred_at=occurred_at,
        description=spec.description,
        deaths=spec.deaths,
        serious_injuries=spec.serious_injuries,
        direct_loss_yuan=Decimal(spec.loss_yuan),
    )
    return True
