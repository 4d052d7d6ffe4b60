"""The audit trail's exports: ``?format=csv`` and ``?format=xlsx`` on ``/api/v1/audit/``."""

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

import tablib
from rest_framework.renderers import BaseRenderer

from audit.serializers import AUDIT_FIELDS
from common.exports import FORMULA_STARTS

# A text a spreadsheet would take for a formula (``=HYPERLINK(...)`` in a note) is
# prefixed with an apostrophe, as OWASP advises against CSV injection; openpyxl would
# otherwise store it in the XLSX as a formula. The starts are common.exports' (one list).


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_rows(data: Any) -> list[list[Any]]:
    rows: Sequence[Any] = data if isinstance(data, list) else [data]
    return [[_cell(row.get(name)) for name in AUDIT_FIELDS] for row in rows]


class AuditCSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(AUDIT_FIELDS)
        writer.writerows(export_rows(data))
        # A byte order mark, so that spreadsheet programs read the Chinese names as UTF-8.
        return ("\ufeff" + out.getvalue()).encode("utf-8")


class AuditXLSXRenderer(BaseRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> bytes:
        dataset = tablib.Dataset(headers=list(AUDIT_FIELDS), title="audit")
        for row in export_rows(data):
            dataset.append(row)
        content: bytes = dataset.export("xlsx")
        return content


EXPORT_RENDERERS = (AuditCSVRenderer, AuditXLSXRenderer)
EXPORT_FORMATS = frozenset(r.format for r in EXPORT_RENDERERS)
