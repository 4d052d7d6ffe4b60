"""``/reports/``: the dashboard of regulators and park operators, server-rendered pages
signed in with the admin's session.

* anonymous callers are sent to the admin's login (``?next=`` back here);
* a login that reads no park's reports (enterprise staff, a login without standing) gets a
  403 page; a park outside the caller's is not found (404) (``reports.rules``, the rule
  the API asks too);
* the charts are drawn in the browser by the vendored Apache ECharts from the figures the
  page embeds as JSON (``json_script``), by ``reports/static/reports/charts.js``; the pages
  run no inline script and say so in their Content-Security-Policy.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from access.scope import Scope, request_scope
from parks.models import Park
from reports.pages import COMPARISON, PARK_PAGES, monthly_sections
from reports.periods import (
    CONVENTION_LABELS,
    Period,
    PeriodError,
    add_months,
    parse_convention,
    parse_granularity,
)
from reports.rules import may_report, reportable_parks
from reports.sections import ComparisonQuery, ParkQuery, Table, compute
from reports.selectors import park_name

#: Scripts and styles from this server only, no inline script, no frame, no plug-in.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

View = Callable[..., HttpResponse]


def dashboard_view(view: View) -> View:
    """Sign-in, the reports rule and the page's security headers around a page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        scope = request_scope(request)
        if not may_report(scope):
            response = render(request, "reports/forbidden.html", status=403)
        else:
            try:
                response = view(request, scope, *args, **kwargs)
            except PeriodError as exc:
                context = {"field": exc.field, "message": exc.message}
                response = render(request, "reports/bad_request.html", context, status=400)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response["Cache-Control"] = "private, no-store"  # figures of a regulator's parks
        return response

    return require_safe(wrapped)


def _park(scope: Scope, park_id: int) -> Park:
    park = reportable_parks(scope=scope).filter(pk=park_id).first()
    if park is None:
        raise Http404
    return park


def _charts(tables: list[Table]) -> list[dict[str, Any]]:
    """Each table with what the template shows of it: its chart's JSON and export links."""
    return [
        {
            "table": table,
            "section": table.section,
            "rows": [[(row.get(c.key), c) for c in table.section.columns] for row in table.rows],
            "chart": table.chart_payload(),
            "chart_id": f"chart-{table.section.key}",
        }
        for table in tables
    ]


def _last_month() -> str:
    today = timezone.localdate()
    return add_months(today.replace(day=1), -1).strftime("%Y-%m")


@dashboard_view
def index(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The parks the caller reads, with their key figures side by side."""
    parks = list(reportable_parks(scope=scope))
    period = Period.of(None, None)
    tables = compute(COMPARISON.sections, ComparisonQuery(scope, parks, period)) if parks else []
    context = {
        "parks": [(park, park_name(park)) for park in parks],
        "period": period,
        "last_month": _last_month(),
        "sections": _charts(tables),
        "title": "",
    }
    return render(request, "reports/index.html", context)


@dashboard_view
def park_page(
    request: HttpRequest, scope: Scope, park_id: int, page: str = "overview"
) -> HttpResponse:
    """One page of a park (its overview first), over the period asked (``?start=`` and
    ``?end=``, ``YYYY-MM``; the last twelve months by default)."""
    park = _park(scope, park_id)
    declared = PARK_PAGES.get(page)
    if declared is None:
        raise Http404
    period = Period.of(request.GET.get("start") or None, request.GET.get("end") or None)
    convention = parse_convention(request.GET.get("convention"))
    granularity = parse_granularity(request.GET.get("granularity"), period)
    tables = compute(declared.sections, ParkQuery(scope, park, period, convention, granularity))
    api = reverse("report-park-detail", kwargs={"pk": park.pk})
    query = period.as_dict()
    if "convention" in declared.options:
        query["convention"] = convention
    if "granularity" in declared.options:
        query["granularity"] = granularity
    context = {
        "park": park,
        "park_name": park_name(park),
        "page": declared,
        "pages": list(PARK_PAGES.values()),
        "period": period,
        "last_month": _last_month(),
        "sections": _charts(tables),
        "api": api,
        "query": query,
        "options": declared.options,
        "conventions": [(key, str(label)) for key, label in CONVENTION_LABELS.items()],
    }
    return render(request, "reports/park.html", context)


@dashboard_view
def comparison(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The caller's parks side by side over the period asked."""
    parks = list(reportable_parks(scope=scope))
    period = Period.of(request.GET.get("start") or None, request.GET.get("end") or None)
    convention = parse_convention(request.GET.get("convention"))
    tables = compute(COMPARISON.sections, ComparisonQuery(scope, parks, period, convention))
    context = {
        "page": COMPARISON,
        "period": period,
        "sections": _charts(tables),
        "api": reverse("report-park-comparison"),
        "query": {**period.as_dict(), "convention": convention},
        "options": ("convention",),
        "conventions": [(key, str(label)) for key, label in CONVENTION_LABELS.items()],
    }
    return render(request, "reports/comparison.html", context)


@dashboard_view
def monthly(request: HttpRequest, scope: Scope, park_id: int, month: str) -> HttpResponse:
    """The printable report of one park and one month (A4, no navigation)."""
    park = _park(scope, park_id)
    period = Period.month(month)
    convention = parse_convention(request.GET.get("convention"))
    tables = compute(monthly_sections(), ParkQuery(scope, park, period, convention))
    context = {
        "park": park,
        "park_name": park_name(park),
        "period": period,
        "sections": _charts(tables),
        "generated_at": timezone.localtime(),
        "as_of": timezone.localtime(period.as_of),
    }
    return render(request, "reports/monthly.html", context)
