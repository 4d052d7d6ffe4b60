"""The reports, declared (``reports.sections``): the pages of a park, the comparison of
parks, and what the monthly report prints.

Here the energy and safety pages will be declared when their apps land (issue 13), as
``Page("energy", ...)`` and ``Page("safety", ...)`` added to :data:`PARK_PAGES`; their
sections' rows are functions of ``reports.selectors`` over ``energy.selectors`` and
``safety.selectors``. Until then no page stands in for them.
"""

from django.utils.translation import gettext_lazy as _

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

#: The pages of a park, in the order of their tabs; the first is the park's home.
PARK_PAGES: dict[str, Page] = {page.key: page for page in (OVERVIEW,)}

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
    ),
)


def section_keys() -> list[str]:
    """Every section of a park's pages (the API's ``?section=``)."""
    return [s.key for page in PARK_PAGES.values() for s in page.sections]


def monthly_sections() -> list[Section]:
    return [s for page in PARK_PAGES.values() if page.in_monthly for s in page.sections]
