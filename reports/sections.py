"""The reports as declarations: a page is a list of sections, a section says what it shows
(a title, its columns, the selector that computes its rows, a chart), and the dashboard,
the monthly report, the API and the CSV/XLSX exports render any section the same way.

Adding a report is declaring it, in ``reports/pages.py``::

    ENERGY = Page(
        key="energy",
        title=_("Energy"),
        sections=(
            Section(
                key="energy-trend",
                title=_("Energy use by carrier"),
                columns=(Column("month", _("month"), MONTH), Column("carrier", _("carrier")),
                         Column("tce", _("tce"), DECIMAL)),
                rows=selectors.energy_trend_rows,   # calls energy.selectors
                chart=Chart(LINE, x="month", values=("tce",), group="carrier"),
            ),
        ),
    )

and listing the page in ``PARK_PAGES``: it gets its tab on every park, its place in the
monthly report (``in_monthly``), its section in ``/api/v1/reports/parks/{id}/`` (and
``?section=energy-trend``), in CSV and XLSX, with nothing else written.

A section's ``rows`` is a function of a :class:`ParkQuery` (or, on the comparison page, a
:class:`ComparisonQuery`) returning plain dicts keyed by the columns' keys; it reads
through selectors that take the caller's Scope (``reports/selectors.py``), and runs a
constant number of queries whatever the size of the park.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise

from access.scope import Scope
from parks.models import Park
from reports.periods import Period

# The kinds of a column's values: how the page formats them and the chart reads them.
TEXT, INT, DECIMAL, PERCENT, MONTH = "text", "int", "decimal", "percent", "month"
# The kinds of chart charts.js draws.
BAR, LINE, PIE = "bar", "line", "pie"


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    kind: str = TEXT
    #: Decimal places the page shows (rounded half up); the exports and the JSON keep the
    #: exact value. None: 2 for a decimal, 1 for a percentage.
    places: int | None = None

    @property
    def shown_places(self) -> int | None:
        if self.places is not None:
            return self.places
        return {DECIMAL: 2, PERCENT: 1}.get(self.kind)


@dataclass(frozen=True)
class Chart:
    """How a section's rows are drawn: ``x`` is the column of the categories (months,
    classes, parks), ``values`` the columns drawn as series (one series each), or, with
    ``group``, one series per distinct value of the ``group`` column, of ``values[0]``
    (rows in long form: month, carrier, tce)."""

    kind: str
    x: str
    values: tuple[str, ...]
    group: str | None = None
    stacked: bool = False
    #: Columns drawn as lines on a second axis, on the right (a figure of another scale).
    secondary: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParkQuery:
    """What a park section is asked: by whom, of which park, over which period."""

    scope: Scope
    park: Park
    period: Period
    #: The electricity convention of the energy figures (``reports.periods.CONVENTIONS``).
    convention: str = "equivalent"
    #: The steps of the energy trend: ``month`` or ``day`` (a period of at most
    #: ``reports.periods.MAX_DAYS`` days).
    granularity: str = "month"
    #: What several sections of one page read alike (the energy series, the safety
    #: summary), read once per query.
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ComparisonQuery:
    """What a comparison section is asked: by whom, of which parks, over which period."""

    scope: Scope
    parks: Sequence[Park]
    period: Period
    convention: str = "equivalent"


@dataclass(frozen=True)
class Section:
    key: str
    title: str | Promise
    columns: tuple[Column, ...]
    rows: Callable[[Any], list[dict[str, Any]]]
    description: str | Promise = ""
    chart: Chart | None = None
    #: Energy figures: the title names the electricity convention the query asked for.
    convention: bool = False


@dataclass(frozen=True)
class Page:
    key: str
    title: str | Promise
    sections: tuple[Section, ...]
    #: Whether the page's sections are part of the printable monthly report.
    in_monthly: bool = True
    #: The parameters the page offers besides the period: ``convention`` (of electricity
    #: in tce), ``granularity`` (month or day).
    options: tuple[str, ...] = ()


@dataclass
class Table:
    """A section computed for one query: its rows, in the columns' order."""

    section: Section
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: What the title adds for this query: the electricity convention of energy figures.
    note: str = ""

    @property
    def title(self) -> str:
        title = str(self.section.title)
        return f"{title} ({self.note})" if self.note else title

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the API (decimals as strings, by the renderer)."""
        return {
            "key": self.section.key,
            "title": self.title,
            "description": str(self.section.description),
            "columns": [
                {"key": c.key, "label": str(c.label), "kind": c.kind} for c in self.section.columns
            ],
            "rows": [{c.key: row.get(c.key) for c in self.section.columns} for row in self.rows],
        }

    def chart_payload(self) -> dict[str, Any] | None:
        """What charts.js draws (``json_script`` on the page): numbers as numbers."""
        chart = self.section.chart
        if chart is None:
            return None
        labels = {c.key: str(c.label) for c in self.section.columns}
        return {
            "kind": chart.kind,
            "x": chart.x,
            "values": list(chart.values),
            "group": chart.group,
            "stacked": chart.stacked,
            "secondary": list(chart.secondary),
            "labels": labels,
            "rows": [{key: _plain(row.get(key)) for key in labels} for row in self.rows],
        }


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.strftime("%Y-%m")
    if isinstance(value, Promise):
        return str(value)
    return value


def convention_label(convention: str) -> str:
    """The electricity convention as the figures say it: "electricity at equal value"."""
    from reports.periods import CONVENTION_LABELS

    return str(CONVENTION_LABELS[convention])


def compute(sections: Sequence[Section], query: Any) -> list[Table]:
    return [
        Table(
            section,
            section.rows(query),
            note=convention_label(query.convention) if section.convention else "",
        )
        for section in sections
    ]
