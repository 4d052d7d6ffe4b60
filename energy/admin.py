"""Admin of the energy app, tenant-scoped (``energy.rules`` through the selectors):

* meters and output values: an enterprise's admin writes them (``energy.services.meters``);
* readings: read-only rows, plus an upload of a CSV or XLSX file of readings (columns
  ``meter`` (id or code), ``at``, ``value``) through ``readings_ingest``, the API's code
  path, showing each refused row with its line, field and reason;
* conversion factors: read by every staff user, kept by superusers
  (``energy.services.factors``: a new row supersedes the one in force, rollups repriced);
* anomaly flags: read-only.
"""

import csv
import io
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from access.admin import READ_STAFF, TenantScopedAdmin
from access.roles import ADMIN_ROLES
from access.rules import may_change, may_write
from access.scope import Scope, request_scope
from common.admin import is_staff_user
from energy.factors import local_zone
from energy.models import (
    ConversionFactor,
    EnergyAnomaly,
    IngestSource,
    Meter,
    OutputValue,
    Reading,
)
from energy.rules import enterprises_visible_q
from energy.selectors import factor_list, meter_list, meters_writable, output_value_list
from energy.services.factors import conversion_factor_create, conversion_factor_update
from energy.services.ingest import MAX_BATCH_ROWS, IngestResult, readings_ingest
from energy.services.meters import (
    METER_CHANGEABLE,
    meter_create,
    meter_update,
    output_value_create,
    output_value_delete,
    output_value_update,
)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


@admin.register(Meter)
class MeterAdmin(TenantScopedAdmin):
    """An enterprise's meters: its staff read them, its admin records them; park staff read
    those of their parks. Never deleted (deactivate): their readings and rollups stay."""

    write_roles = ADMIN_ROLES
    allow_delete = False
    list_display = (
        "id",
        "enterprise",
        "code",
        "name",
        "carrier",
        "unit",
        "is_active",
        "last_reading_at",
    )
    list_filter = ("carrier", "is_active", ("enterprise", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("enterprise",)
    search_fields = ("code", "name", "enterprise__name_zh")

    def scoped_queryset(self, scope: Scope) -> QuerySet[Meter]:
        return meter_list(scope=scope)

    def may_add(self, scope: Scope) -> bool:
        return scope.is_superuser or (scope.enterprise is not None and self.may_write(scope))

    def may_write_object(self, scope: Scope, obj: Meter) -> bool:
        return may_change(scope, owner_id=obj.enterprise_id)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ("code", "name", "carrier", "unit", "is_active", "anomaly_factor")
        if obj is None:
            owner = ("enterprise",) if request_scope(request).is_superuser else ()
            return (*owner, *fields)
        return ("enterprise", *fields, "last_reading_at", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        return ("enterprise", "carrier", "unit", "last_reading_at", "created_at")

    def save_model(self, request: HttpRequest, obj: Meter, form: Any, change: bool) -> None:
        scope = request_scope(request)
        if change:
            changes = {n: form.cleaned_data[n] for n in form.changed_data if n in METER_CHANGEABLE}
            if changes:
                self.call_service(meter_update, actor=scope, meter=obj, **changes)
            return
        meter = self.call_service(
            meter_create,
            actor=scope,
            enterprise=scope.enterprise if scope.enterprise is not None else obj.enterprise,
            code=obj.code,
            name=obj.name,
            carrier=obj.carrier,
            unit=obj.unit,
            is_active=obj.is_active,
            anomaly_factor=obj.anomaly_factor,
        )
        obj.pk = meter.pk
        obj._state.adding = False
        obj.refresh_from_db()


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "CSV (UTF-8) or XLSX with the columns meter (id or code), at, value; at "
            "most 10,000 rows."
        ),
    )
    local_times = forms.BooleanField(
        label=_("Times without an offset are local time (Asia/Shanghai)"), required=False
    )


UPLOAD_TEMPLATE = engines["django"].from_string(
    """{% extends "admin/base_site.html" %}
{% load i18n admin_urls %}
{% block breadcrumbs %}<div class="breadcrumbs">
<a href="{% url 'admin:index' %}">{% translate 'Home' %}</a>
&rsaquo; <a href="{% url opts|admin_urlname:'changelist' %}">
{{ opts.verbose_name_plural|capfirst }}</a> &rsaquo; {{ title }}</div>{% endblock %}
{% block content %}<div id="content-main">
{% if result %}<div class="module"><h2>{{ summary }}</h2>
{% if refused %}<table><thead><tr><th>{% translate "line" %}</th><th>{% translate "field" %}</th>
<th>{% translate "reason" %}</th></tr></thead><tbody>
{% for line, field, reason in refused %}<tr class="refused"><td>{{ line }}</td><td>{{ field }}</td>
<td>{{ reason }}</td></tr>{% endfor %}</tbody></table>{% endif %}</div>{% endif %}
<form method="post" enctype="multipart/form-data">{% csrf_token %}
{{ form.as_div }}
<div class="submit-row"><input type="submit" class="default" value="{{ submit_label }}"></div>
</form></div>{% endblock %}
"""
)


def _rows_of(upload: Any) -> list[dict[str, Any]]:
    """The rows of a CSV or XLSX file as dicts of its header's columns."""
    name = (upload.name or "").lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        book = load_workbook(upload, read_only=True, data_only=True)
        lines = book.worksheets[0].iter_rows(values_only=True)
        header = [str(c or "").strip().lower() for c in next(lines, ())]
        return [
            dict(zip(header, row, strict=False))
            for _n, row in zip(range(MAX_BATCH_ROWS + 1), lines, strict=False)
            if any(c not in (None, "") for c in row)
        ]
    text = upload.read().decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    reader.fieldnames = [str(f or "").strip().lower() for f in reader.fieldnames or []]
    return [row for _n, row in zip(range(MAX_BATCH_ROWS + 1), reader, strict=False)]


def _reading_row(row: dict[str, Any], codes: dict[str, int], local: bool) -> dict[str, Any]:
    """A file's row as the ingest takes it: the meter's code looked up among the user's
    meters (an unknown code is an unknown meter), an Excel date and time made aware when
    the user says its times are local."""
    out = {k: v for k, v in row.items() if k and k in ("meter", "at", "value")}
    meter = out.get("meter")
    if isinstance(meter, float) and meter.is_integer():
        meter = int(meter)
    if isinstance(meter, str):
        text = meter.strip()
        meter = int(text) if text.isdigit() else codes.get(text, 0)
    out["meter"] = meter
    at = out.get("at")
    if isinstance(at, str) and local:
        try:
            parsed = datetime.fromisoformat(at.strip())
        except ValueError:
            parsed = None
        at = parsed if parsed is not None else at
    if isinstance(at, datetime) and at.tzinfo is None and local:
        at = at.replace(tzinfo=local_zone())
    if isinstance(at, datetime) and at.tzinfo is None:
        at = at.isoformat()  # refused by the ingest: no offset
    out["at"] = at
    value = out.get("value")
    if isinstance(value, float):
        out["value"] = repr(value)
    return out


@admin.register(Reading)
class ReadingAdmin(TenantScopedAdmin):
    """Readings, read-only; an enterprise's admin uploads them in a file (``upload/``)."""

    allow_add = False
    allow_change = False
    allow_delete = False
    write_roles = ADMIN_ROLES
    list_display = ("id", "meter", "at", "day", "value")
    list_select_related = ("meter",)
    show_full_result_count = False
    change_list_template = "admin/energy/reading/change_list.html"

    def scoped_queryset(self, scope: Scope) -> QuerySet[Reading]:
        return Reading.objects.filter(enterprises_visible_q(scope, "meter__enterprise"))

    def get_ordering(self, request: HttpRequest) -> Any:
        return ("-id",)

    def may_upload(self, scope: Scope) -> bool:
        return may_write(scope, roles=ADMIN_ROLES)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra = dict(extra_context or {})
        if is_staff_user(request) and self.may_upload(request_scope(request)):
            extra["upload_url"] = reverse("admin:energy_reading_upload")
        return super().changelist_view(request, extra)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "upload/",
                self.admin_site.admin_view(self.upload_view),
                name="energy_reading_upload",
            ),
            *super().get_urls(),
        ]

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """A file of readings, ingested as one batch by ``readings_ingest``."""
        scope = request_scope(request)
        if not (is_staff_user(request) and self.may_upload(scope)):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": gettext("Upload readings"),
            "opts": self.opts,
            "form": form,
            "submit_label": gettext("Upload"),
        }
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_UPLOAD_BYTES:
                form.add_error("file", gettext("At most 5 MB."))
                return TemplateResponse(request, UPLOAD_TEMPLATE, context)
            try:
                raw_rows = _rows_of(upload)
            except Exception:  # a file neither CSV nor XLSX: say so on the field
                form.add_error("file", gettext("Not a CSV (UTF-8) or XLSX file."))
                return TemplateResponse(request, UPLOAD_TEMPLATE, context)
            codes = dict(meters_writable(scope=scope).values_list("code", "id"))
            rows = [_reading_row(r, codes, form.cleaned_data["local_times"]) for r in raw_rows]
            try:
                result: IngestResult = readings_ingest(
                    actor=scope, rows=rows, source=IngestSource.ADMIN
                )
            except Exception as exc:  # the whole file refused (too many rows)
                message = getattr(exc, "message", None)
                if message is None:
                    raise
                form.add_error("file", message)
                return TemplateResponse(request, UPLOAD_TEMPLATE, context)
            context["result"] = result
            context["summary"] = gettext(
                "%(accepted)d readings stored, %(duplicates)d duplicates, %(refused)d refused."
            ) % {
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "refused": len(result.refused),
            }
            context["refused"] = [(r.index + 2, r.field, r.reason) for r in result.refused]
            self.message_user(request, context["summary"], messages.INFO)
        return TemplateResponse(request, UPLOAD_TEMPLATE, context)


@admin.register(OutputValue)
class OutputValueAdmin(TenantScopedAdmin):
    """An enterprise's monthly output value: its admin records it."""

    write_roles = ADMIN_ROLES
    list_display = ("id", "enterprise", "month", "value_yuan")
    list_filter = (("enterprise", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("enterprise",)

    def scoped_queryset(self, scope: Scope) -> QuerySet[OutputValue]:
        return output_value_list(scope=scope)

    def may_add(self, scope: Scope) -> bool:
        return scope.is_superuser or (scope.enterprise is not None and self.may_write(scope))

    def may_write_object(self, scope: Scope, obj: OutputValue) -> bool:
        return may_change(scope, owner_id=obj.enterprise_id)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None and request_scope(request).is_superuser:
            return ("enterprise", "month", "value_yuan")
        return ("month", "value_yuan") if obj is None else ("enterprise", "month", "value_yuan")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else ("enterprise",)

    def save_model(self, request: HttpRequest, obj: OutputValue, form: Any, change: bool) -> None:
        scope = request_scope(request)
        if change:
            changes = {n: form.cleaned_data[n] for n in form.changed_data}
            if changes:
                self.call_service(output_value_update, actor=scope, output=obj, **changes)
            return
        output = self.call_service(
            output_value_create,
            actor=scope,
            enterprise=scope.enterprise if scope.enterprise is not None else obj.enterprise,
            month=obj.month,
            value_yuan=obj.value_yuan,
        )
        obj.pk = output.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: OutputValue) -> None:
        output_value_delete(actor=request_scope(request), output=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[OutputValue]) -> None:
        scope = request_scope(request)
        self.run_for_each(
            request,
            queryset,
            lambda output: output_value_delete(actor=scope, output=output),
            done_message=gettext("%(count)d output values deleted."),
        )


@admin.register(ConversionFactor)
class ConversionFactorAdmin(TenantScopedAdmin):
    """The conversion factors to standard coal: every staff user reads them; superusers add
    a factor from a day (it supersedes the one in force) or correct a value; the rollups
    they cover are repriced in the same transaction."""

    readable_by = READ_STAFF
    write_roles = frozenset()
    allow_delete = False
    list_display = ("carrier", "convention", "kgce_per_unit", "valid_from", "valid_until", "source")
    list_filter = ("carrier", "convention")

    def scoped_queryset(self, scope: Scope) -> QuerySet[ConversionFactor]:
        return factor_list()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("carrier", "convention", "kgce_per_unit", "valid_from", "source")
        return ("carrier", "convention", "kgce_per_unit", "valid_from", "valid_until", "source")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else ("carrier", "convention", "valid_from", "valid_until")

    def save_model(
        self, request: HttpRequest, obj: ConversionFactor, form: Any, change: bool
    ) -> None:
        scope = request_scope(request)
        if change:
            changes = {
                n: form.cleaned_data[n]
                for n in form.changed_data
                if n in ("kgce_per_unit", "source")
            }
            if changes:
                self.call_service(conversion_factor_update, actor=scope, factor=obj, **changes)
            return
        factor = self.call_service(
            conversion_factor_create,
            actor=scope,
            carrier=obj.carrier,
            convention=obj.convention,
            kgce_per_unit=obj.kgce_per_unit,
            valid_from=obj.valid_from,
            source=obj.source,
        )
        obj.pk = factor.pk
        obj._state.adding = False
        obj.refresh_from_db()


@admin.register(EnergyAnomaly)
class EnergyAnomalyAdmin(TenantScopedAdmin):
    """Jumps and silent meters flagged, read-only."""

    allow_add = False
    allow_change = False
    allow_delete = False
    list_display = ("at", "kind", "meter", "enterprise", "value", "median", "factor")
    list_filter = ("kind",)
    list_select_related = ("meter", "meter__enterprise")

    def scoped_queryset(self, scope: Scope) -> QuerySet[EnergyAnomaly]:
        return EnergyAnomaly.objects.filter(enterprises_visible_q(scope, "meter__enterprise"))

    @admin.display(description=_("enterprise"))
    def enterprise(self, obj: EnergyAnomaly) -> str:
        return str(obj.meter.enterprise)
