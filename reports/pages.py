"""The reports, declared (``reports.sections``): the pages of a park, the comparison of
parks, and what the monthly report prints.

The energy and safety pages (issue 13) are declared here like the overview: their
sections' rows are functions of ``reports.selectors`` over ``energy.selectors`` and
``safety.selectors``. Energy figures name their electricity convention (``convention=True``
on the section: the title says it for the query's convention).
"""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from reports import selectors
from reports.sections import (
    BAR,
    DECIMAL,
    INT,
    MONTH,
    PERCENT,
    PIE,
    TEXT,
    Chart,
    Column,
    Page,
    Section,
)

TRADE = Section(
    key="trade",
    title=_("Trade by month"),
    description=_(
        "Orders placed each month with an enterprise of the park as seller or buyer "
        "(cancelled, rejected and expired orders left out)."
    ),
    columns=(
        Column("month", _("month"), MONTH),
        Column("orders", _("orders"), INT),
        Column("sold_t", _("sold (t)"), DECIMAL),
        Column("bought_t", _("bought (t)"), DECIMAL),
        Column("sales_cny", _("sales (CNY)"), DECIMAL),
    ),
    rows=selectors.park_trade_by_month,
    chart=Chart(BAR, x="month", values=("sold_t", "bought_t")),
)

HAZARDOUS_STOCK = Section(
    key="hazardous-stock",
    title=_("Hazardous stock by class"),
    description=_(
        "Dangerous goods stored in the park's warehouses, whoever owns them, by primary "
        "class: on hand now, or at the end of a past period."
    ),
    columns=(
        Column("class", _("class"), TEXT),
        Column("label", _("dangerous-goods class"), TEXT),
        Column("lots", _("lots"), INT),
        Column("on_hand_t", _("on hand (t)"), DECIMAL),
    ),
    rows=selectors.park_hazardous_stock,
    chart=Chart(PIE, x="label", values=("on_hand_t",)),
)

POOLS = Section(
    key="pools",
    title=_("Joint stockpiles"),
    description=_(
        "The park's active joint stockpiles: their target, what they hold (now, or at the "
        "end of a past period) and the share of the target held."
    ),
    columns=(
        Column("pool", _("pool"), TEXT),
        Column("name", _("name"), TEXT),
        Column("material", _("material"), TEXT),
        Column("members", _("members"), INT),
        Column("target_t", _("target (t)"), DECIMAL),
        Column("held_t", _("held (t)"), DECIMAL),
        Column("coverage_pct", _("coverage (%)"), PERCENT),
    ),
    rows=selectors.park_pool_coverage,
    chart=Chart(BAR, x="pool", values=("target_t", "held_t")),
)

ENTERPRISES = Section(
    key="enterprises",
    title=_("Enterprises"),
    description=_(
        "The enterprises of the park and the hazardous stock each holds in it: now, or at "
        "the end of a past period."
    ),
    columns=(
        Column("enterprise", _("enterprise"), TEXT),
        Column("uscc", _("unified social credit code"), TEXT),
        Column("industry", _("industry"), TEXT),
        Column("active", _("active"), TEXT),
        Column("hazardous_lots", _("hazardous lots"), INT),
        Column("hazardous_t", _("hazardous stock (t)"), DECIMAL),
    ),
    rows=selectors.park_enterprises,
)

OVERVIEW = Page(
    key="overview",
    title=_("Overview"),
    sections=(TRADE, HAZARDOUS_STOCK, POOLS, ENTERPRISES),
)

# --- Energy (energy.selectors: the rollups, never the raw readings) ----------------------------

ENERGY = Page(
    key="energy",
    title=_("Energy"),
    options=("convention", "granularity"),
    sections=(
        Section(
            key="energy-trend",
            title=_("Energy use by carrier"),
            description=_(
                "Tonnes of standard coal equivalent (tce) used in the park each month (or "
                "day), by carrier, from the meters' readings."
            ),
            columns=(
                Column("period", _("period"), TEXT),
                Column("carrier", _("carrier"), TEXT),
                Column("tce", _("tce"), DECIMAL, places=3),
            ),
            rows=selectors.energy_trend,
            chart=Chart(BAR, x="period", values=("tce",), group="carrier", stacked=True),
            convention=True,
        ),
        Section(
            key="energy-share",
            title=_("Share by carrier"),
            description=_("Each carrier's tce over the period and its share of the total."),
            columns=(
                Column("carrier", _("code"), TEXT),
                Column("label", _("carrier"), TEXT),
                Column("tce", _("tce"), DECIMAL, places=3),
                Column("share_pct", _("share (%)"), PERCENT),
            ),
            rows=selectors.energy_share,
            chart=Chart(PIE, x="label", values=("tce",)),
            convention=True,
        ),
        Section(
            key="energy-intensity",
            title=_("Energy intensity by enterprise"),
            description=_(
                "Each enterprise's tce over the period, its output value, its intensity (tce "
                "per 10⁴ yuan of output value) and the change of its use against the same "
                "days a year before."
            ),
            columns=(
                Column("enterprise", _("enterprise"), TEXT),
                Column("tce", _("tce"), DECIMAL, places=3),
                Column("output_10k_cny", _("output value (10⁴ CNY)"), DECIMAL),
                Column("intensity", _("tce per 10⁴ CNY"), DECIMAL, places=4),
                Column("yoy_pct", _("year on year (%)"), PERCENT),
            ),
            rows=selectors.energy_intensity,
            chart=Chart(BAR, x="enterprise", values=("intensity",)),
            convention=True,
        ),
        Section(
            key="energy-yoy",
            title=_("Year on year"),
            description=_(
                "The park's tce each month (or day), its output value and intensity (months), "
                "and the change against the same month (or day) a year before."
            ),
            columns=(
                Column("period", _("period"), TEXT),
                Column("tce", _("tce"), DECIMAL, places=3),
                Column("output_10k_cny", _("output value (10⁴ CNY)"), DECIMAL),
                Column("intensity", _("tce per 10⁴ CNY"), DECIMAL, places=4),
                Column("yoy_pct", _("year on year (%)"), PERCENT),
            ),
            rows=selectors.energy_by_month,
            chart=Chart(BAR, x="period", values=("tce",), secondary=("yoy_pct",)),
            convention=True,
        ),
        Section(
            key="energy-anomalies",
            title=_("Anomalies"),
            description=_(
                "Meters silent now, then the readings far above their meter's recent median "
                "(jumps) and the silences flagged in the period, newest first."
            ),
            columns=(
                Column("at", _("at"), TEXT),
                Column("kind", _("kind"), TEXT),
                Column("enterprise", _("enterprise"), TEXT),
                Column("meter", _("meter"), TEXT),
                Column("carrier", _("carrier"), TEXT),
                Column("value", _("value"), DECIMAL),
                Column("median", _("median"), DECIMAL),
            ),
            rows=selectors.energy_anomaly_rows,
        ),
    ),
)

# --- Safety (safety.selectors) -----------------------------------------------------------------

SAFETY = Page(
    key="safety",
    title=_("Safety"),
    sections=(
        Section(
            key="safety-hazards",
            title=_("Hidden hazards unrectified"),
            description=_(
                "Hidden hazards not rectified now, by grade: open (before their deadline) "
                "and overdue."
            ),
            columns=(
                Column("grade", _("grade"), TEXT),
                Column("open", pgettext_lazy("hidden hazard", "open"), INT),
                Column("overdue", _("overdue"), INT),
            ),
            rows=selectors.safety_hazards,
            chart=Chart(BAR, x="grade", values=("open", "overdue"), stacked=True),
        ),
        Section(
            key="safety-closure",
            title=_("Closure of hidden hazards"),
            description=_(
                "The hidden hazards whose deadline falls in the period: rectified by its "
                "end, on time, and the closure rate (rectified / due)."
            ),
            columns=(
                Column("label", _("hazards"), TEXT),
                Column("due", _("due"), INT),
                Column("rectified", _("rectified"), INT),
                Column("on_time", _("on time"), INT),
                Column("closure_pct", _("closure rate (%)"), PERCENT),
            ),
            rows=selectors.safety_closure,
            chart=Chart(
                BAR, x="label", values=("due", "rectified", "on_time"), secondary=("closure_pct",)
            ),
        ),
        Section(
            key="safety-incidents",
            title=_("Incidents by grade"),
            description=_(
                "Incidents of the period by grade (Decree 493): how many, deaths, serious "
                "injuries and direct loss."
            ),
            columns=(
                Column("grade", _("grade"), TEXT),
                Column("incidents", _("incidents"), INT),
                Column("deaths", _("deaths"), INT),
                Column("serious_injuries", _("serious injuries"), INT),
                Column("direct_loss_cny", _("direct loss (CNY)"), DECIMAL),
            ),
            rows=selectors.safety_incidents,
            chart=Chart(
                BAR,
                x="grade",
                values=("incidents", "deaths", "serious_injuries"),
                secondary=("direct_loss_cny",),
            ),
        ),
        Section(
            key="safety-major-hazards",
            title=_("Major hazard units"),
            description=_(
                "Warehouses that are major hazard installations (GB 18218: S ≥ 1) now or at "
                "their licensed capacity, gravest first: S, R and level (1 the gravest)."
            ),
            columns=(
                Column("warehouse", _("warehouse"), TEXT),
                Column("name", _("name"), TEXT),
                Column("hazardous_t", _("hazardous stock (t)"), DECIMAL),
                Column("s", _("S"), DECIMAL),
                Column("r", _("R"), DECIMAL),
                Column("level", _("level"), INT),
                Column("s_at_capacity", _("S at capacity"), DECIMAL),
                Column("level_at_capacity", _("level at capacity"), INT),
            ),
            rows=selectors.safety_major_hazard_units,
        ),
        Section(
            key="safety-stock-capacity",
            title=_("Hazardous stock against licensed capacity"),
            description=_(
                "Dangerous goods on hand now by class against the capacity of the zones "
                "licensed for the class (a zone licensed for several classes counts for each)."
            ),
            columns=(
                Column("class", _("class"), TEXT),
                Column("label", _("dangerous-goods class"), TEXT),
                Column("on_hand_t", _("on hand (t)"), DECIMAL),
                Column("capacity_t", _("licensed capacity (t)"), DECIMAL),
                Column("zones", _("licensed zones"), INT),
                Column("utilisation_pct", _("utilisation (%)"), PERCENT),
            ),
            rows=selectors.safety_stock_capacity,
            chart=Chart(BAR, x="label", values=("on_hand_t", "capacity_t")),
        ),
        Section(
            key="safety-misplaced",
            title=_("Lots in zones that no longer admit them"),
            description=_(
                "Lots on hand now in a zone that would refuse them today: its licence, its "
                "capacity, or segregation from what else is stored near them."
            ),
            columns=(
                Column("lot", _("lot"), INT),
                Column("zone", _("zone"), TEXT),
                Column("material", _("material"), TEXT),
                Column("on_hand_t", _("on hand (t)"), DECIMAL),
                Column("check", _("check"), TEXT),
                Column("reason", _("reason"), TEXT),
            ),
            rows=selectors.safety_misplaced,
        ),
    ),
)

#: The pages of a park, in the order of their tabs; the first is the park's home.
PARK_PAGES: dict[str, Page] = {page.key: page for page in (OVERVIEW, ENERGY, SAFETY)}

COMPARISON = Page(
    key="comparison",
    title=_("Comparison of parks"),
    in_monthly=False,
    sections=(
        Section(
            key="parks",
            title=_("Parks side by side"),
            description=_(
                "Enterprises, joint stockpiles and hazardous stock now; orders and tonnes "
                "traded over the period."
            ),
            columns=(
                Column("park", _("park"), TEXT),
                Column("code", _("code"), TEXT),
                Column("enterprises", _("enterprises"), INT),
                Column("pools", _("joint stockpiles"), INT),
                Column("pool_coverage_pct", _("stockpile coverage (%)"), PERCENT),
                Column("orders_sold", _("orders sold"), INT),
                Column("sold_t", _("sold (t)"), DECIMAL),
                Column("orders_bought", _("orders bought"), INT),
                Column("bought_t", _("bought (t)"), DECIMAL),
                Column("hazardous_t", _("hazardous stock (t)"), DECIMAL),
            ),
            rows=selectors.park_comparison,
            chart=Chart(BAR, x="park", values=("sold_t", "bought_t"), secondary=("hazardous_t",)),
        ),
        Section(
            key="parks-energy-safety",
            title=_("Energy and safety side by side"),
            description=_(
                "Energy use (tce) over the period, output value and intensity (tce per 10⁴ "
                "yuan); hidden hazards unrectified now, open and overdue; major hazard units "
                "now by level (1 the gravest)."
            ),
            columns=(
                Column("park", _("park"), TEXT),
                Column("code", _("code"), TEXT),
                Column("tce", _("tce"), DECIMAL, places=3),
                Column("output_10k_cny", _("output value (10⁴ CNY)"), DECIMAL),
                Column("intensity", _("tce per 10⁴ CNY"), DECIMAL, places=4),
                Column("open_hazards", _("hidden hazards open"), INT),
                Column("overdue_hazards", _("hidden hazards overdue"), INT),
                Column("units_level_1", _("major hazard units, level 1"), INT),
                Column("units_level_2", _("level 2"), INT),
                Column("units_level_3", _("level 3"), INT),
                Column("units_level_4", _("level 4"), INT),
            ),
            rows=selectors.park_comparison_energy_safety,
            chart=Chart(BAR, x="park", values=("tce",), secondary=("intensity",)),
            convention=True,
        ),
    ),
)


def section_keys() -> list[str]:
    """Every section of a park's pages (the API's ``?section=``)."""
    return [s.key for page in PARK_PAGES.values() for s in page.sections]


def monthly_sections() -> list[Section]:
    return [s for page in PARK_PAGES.values() if page.in_monthly for s in page.sections]
